#!/usr/bin/env bash
# Sequential Fashion-MNIST (pixel by pixel, 784 steps of 1 channel; paper section 3.2 protocol on
# the Fashion-MNIST files Debian ships) with the plain LSTM (-) and the UR-LSTM at a small, fixed
# budget: hidden 64, batch 50, lr 1e-3, clip 1.0, STEPS optimizer steps each (default 2000, 1.8
# epochs of the 55k training images), validation on 1000 images every 250 steps, test accuracy on
# the full 10k test set. One OpenBLAS thread: on 2 cores shared with other jobs, 2 threads per
# process ran ~6x slower (thread hand-off under contention).
# The paper trains 150 epochs at hidden 512 (see packages/train/README.md for that cost here).
# Resumable. Environment: OUT (default runs/repro-fmnist), STEPS (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b packages/cli
[ -f packages/kernels/build/Release/urgate_kernels.node ] || npm run build:native -w @urgate/kernels
URGATE_NUM_THREADS="${URGATE_NUM_THREADS:-1}" exec nice node packages/cli/dist/bin.js sweep sfmnist \
  --mechanisms -,UR- --seeds 1 --lrs 1e-3 \
  --hidden-size 64 --batch-size 50 --steps "${STEPS:-2000}" \
  --eval-every 250 --eval-size 1000 --checkpoint-every 250 \
  --jobs 1 --out "${OUT:-runs/repro-fmnist}" "$@"
