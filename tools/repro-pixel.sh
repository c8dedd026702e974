#!/usr/bin/env bash
# Paper Tables 2-3 at small scale: permuted (bit-reversal) Fashion-MNIST, pixel by pixel (784
# steps of 1 channel), - vs UR- LSTM, 3 seeds each: hidden 64, the paper's head (ReLU 256 ->
# softmax), batch 50, Adam lr 1e-3, clip 1, 3000 steps (2.7 epochs of the 55k training images;
# paper: hidden 512, 150 epochs); validation on 1000 images every 250 steps, test accuracy on the
# full 10k test set. Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
# Resumable: run it again and finished runs are skipped, unfinished ones resume.
# Environment: OUT (default runs/repro-pixel), DOCS (default packages/train/docs), JOBS
# (default 1), URGATE_REPRO_SMOKE=1 (a tiny pipeline check); extra arguments go to `urgate sweep`.
source "$(dirname "$0")/repro-common.sh"
OUT="${OUT:-runs/repro-pixel$SMOKE_SUFFIX}"
if smoke; then
  scale=(--seeds 2 --hidden-size 8 --batch-size 10 --steps 6 --eval-every 3 --eval-size 20 --checkpoint-every 3)
else
  scale=(--seeds 3 --hidden-size 64 --batch-size 50 --steps 3000 --eval-every 250 --eval-size 1000 --checkpoint-every 250)
fi
urgate sweep pfmnist --mechanisms -,UR- --lrs 1e-3 "${scale[@]}" \
  --jobs "${JOBS:-1}" --out "$OUT" "$@"
publish pixel "$OUT"
