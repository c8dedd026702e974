#!/usr/bin/env bash
# Paper Figure 3a at small scale: the copy task with all nine LSTM gate mechanisms, 3 seeds each,
# the same data for every mechanism, plus the forget-gate histograms (Figure 4). The scale is the
# one tools/repro-copy.sh found (packages/train/README.md, "Copy task at reduced scale"): delay
# N=100, hidden 128, batch 32, Adam lr 2e-3, clip 1, 3000 steps (paper: N=500, hidden 256, 100k).
# Resumable: run it again and finished runs are skipped, unfinished ones resume.
# Environment: OUT (default runs/repro-copy-all), DOCS (default packages/train/docs), JOBS
# (default 1), URGATE_REPRO_SMOKE=1 (a tiny pipeline check); extra arguments go to `urgate sweep`.
source "$(dirname "$0")/repro-common.sh"
OUT="${OUT:-runs/repro-copy-all$SMOKE_SUFFIX}"
if smoke; then
  scale=(--seeds 2 --length 10 --hidden-size 32 --batch-size 8 --steps 40 --eval-every 20 --eval-size 1 --checkpoint-every 20)
else
  scale=(--seeds 3 --length 100 --hidden-size 128 --batch-size 32 --steps 3000 --eval-every 200 --eval-size 4 --checkpoint-every 500)
fi
urgate sweep copy --mechanisms -,C-,U-,R-,UR-,O-,OM-,UM-,OR- --lrs 2e-3 "${scale[@]}" \
  --jobs "${JOBS:-1}" --out "$OUT" "$@"
publish copy-all "$OUT"
