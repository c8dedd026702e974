#!/usr/bin/env bash
# Paper Figure 3b at small scale: the adding task at N=200 (paper 2000) with -, C-, U-, R-, UR-,
# OR- LSTMs, 3 seeds each, the same data for every mechanism: hidden 128, batch 32, Adam lr 1e-3,
# clip 1, 3000 steps (paper: hidden 256, 20k steps). No-memory baseline MSE 1/6.
# Resumable: run it again and finished runs are skipped, unfinished ones resume.
# Environment: OUT (default runs/repro-adding), DOCS (default packages/train/docs), JOBS
# (default 1), URGATE_REPRO_SMOKE=1 (a tiny pipeline check); extra arguments go to `urgate sweep`.
source "$(dirname "$0")/repro-common.sh"
OUT="${OUT:-runs/repro-adding$SMOKE_SUFFIX}"
if smoke; then
  scale=(--seeds 2 --length 20 --hidden-size 32 --batch-size 8 --steps 40 --eval-every 20 --eval-size 1 --checkpoint-every 20)
else
  scale=(--seeds 3 --length 200 --hidden-size 128 --batch-size 32 --steps 3000 --eval-every 200 --eval-size 4 --checkpoint-every 500)
fi
urgate sweep adding --mechanisms -,C-,U-,R-,UR-,OR- --lrs 1e-3 "${scale[@]}" \
  --jobs "${JOBS:-1}" --out "$OUT" "$@"
publish adding "$OUT"
