#!/usr/bin/env bash
# Sequential Fashion-MNIST (pixel by pixel, 784 steps of 1 channel; paper section 3.2 protocol on
# the Fashion-MNIST files Debian ships) with the plain LSTM (-) and the UR-LSTM at a small, fixed
# budget: hidden 64, batch 50, lr 1e-3, clip 1.0, STEPS optimizer steps each (default 1000, ~0.9
# epoch), validation on 1000 images every 250 steps, test accuracy on the full 10k test set.
# The paper trains 150 epochs at hidden 512 (see packages/train/README.md for that cost here).
# Resumable. Environment: OUT (default runs/repro-fmnist), STEPS (default 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b packages/cli
[ -f packages/kernels/build/Release/urgate_kernels.node ] || npm run build:native -w @urgate/kernels
exec nice node packages/cli/dist/bin.js sweep sfmnist \
  --mechanisms -,UR- --seeds 1 --lrs 1e-3 \
  --hidden-size 64 --batch-size 50 --steps "${STEPS:-1000}" \
  --eval-every 250 --eval-size 1000 --checkpoint-every 250 \
  --jobs 1 --out "${OUT:-runs/repro-fmnist}" "$@"
