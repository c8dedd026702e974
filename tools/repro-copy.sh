#!/usr/bin/env bash
# Reduced-scale reproduction of the copy-task separation (paper section 3.1, Figure 3, copy panel):
# UR-LSTM vs the plain LSTM (-) on the copy task, 3 seeds each, the same data for both.
# Paper scale is N=500, hidden 256, 100k steps (see packages/train/README.md for its cost here);
# this runs N=100, hidden 128, batch 32, lr 2e-3, 3000 steps: about 15-20 minutes on 2 shared cores.
# One OpenBLAS thread (URGATE_NUM_THREADS=1): on 2 cores shared with other jobs, the default 2
# threads per process ran ~6x slower (4.6 vs 30 steps/s measured).
# Resumable: run it again after an interruption and finished runs are kept, unfinished ones resume.
# Environment: OUT (default runs/repro-copy), JOBS (default 1), SEEDS (default 3); extra arguments
# go to `urgate sweep`.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b packages/cli
[ -f packages/kernels/build/Release/urgate_kernels.node ] || npm run build:native -w @urgate/kernels
URGATE_NUM_THREADS="${URGATE_NUM_THREADS:-1}" exec nice node packages/cli/dist/bin.js sweep copy \
  --mechanisms -,UR- --seeds "${SEEDS:-3}" --lrs 2e-3 \
  --length 100 --hidden-size 128 --batch-size 32 --steps 3000 \
  --eval-every 200 --eval-size 4 --checkpoint-every 500 \
  --jobs "${JOBS:-1}" --out "${OUT:-runs/repro-copy}" "$@"
