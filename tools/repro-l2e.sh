#!/usr/bin/env bash
# Reduced-scale reproduction of program evaluation (paper appendix E.3 after Santoro et al. 2018):
# DeepMind (Sonnet) grammar, program task ("all": + - * if for), length 4, nesting 2, mix
# curriculum, batch 128, Adam lr 1e-3, clip 1; the plain (-) and UR- gates on an LSTM (hidden 128)
# and an RMC (2 slots x 2 heads x 32), 3 seeds each, the same programs for every model; held-out
# per-character and per-program accuracy on test-split programs at length 4, nesting 2.
# Paper scale is length 9, nesting 4, LSTM 1024-2048 units for 5e5 iterations and RMC slots of 512
# for 2e5 (see packages/train/README.md for its cost here); this runs 2000 steps per run: about an
# hour on 2 cores (measured with one thread: ~85 ms/step LSTM, ~125-175 ms/step RMC: ~50 minutes).
# One OpenBLAS thread (URGATE_NUM_THREADS=1), as the other reproductions on shared cores.
# Resumable: run it again after an interruption and finished runs are kept, unfinished ones resume.
# The table and the learning-curve figure are copied into $DOCS.
# Environment: OUT (default runs/repro-l2e), DOCS (default packages/train/docs), JOBS (default 1),
# SEEDS (default 3), STEPS (default 2000); extra arguments go to `urgate sweep`.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b packages/cli
[ -f packages/kernels/build/Release/urgate_kernels.node ] || npm run build:native -w @urgate/kernels
OUT="${OUT:-runs/repro-l2e}"
URGATE_NUM_THREADS="${URGATE_NUM_THREADS:-1}" nice node packages/cli/dist/bin.js sweep l2e \
  --grammar deepmind --program-task all --length 4 --nesting 2 --curriculum mix \
  --cores lstm,rmc --mechanisms -,UR- --seeds "${SEEDS:-3}" --lrs 1e-3 \
  --hidden-size 128 --mem-slots 2 --num-heads 2 --head-size 32 \
  --batch-size 128 --steps "${STEPS:-2000}" --eval-every 100 --eval-size 4 --checkpoint-every 500 \
  --jobs "${JOBS:-1}" --out "$OUT" "$@"
DOCS="${DOCS:-packages/train/docs}"
mkdir -p "$DOCS"
# Copied under a temporary name and renamed: a failed copy leaves the previous file.
cp "$OUT/results.md" "$DOCS/repro-l2e-results.md.tmp"
mv "$DOCS/repro-l2e-results.md.tmp" "$DOCS/repro-l2e-results.md"
cp "$OUT/figures/learning-curves.png" "$DOCS/repro-l2e-learning-curves.png.tmp"
mv "$DOCS/repro-l2e-learning-curves.png.tmp" "$DOCS/repro-l2e-learning-curves.png"
echo "table and figure: $DOCS/repro-l2e-results.md, $DOCS/repro-l2e-learning-curves.png"
