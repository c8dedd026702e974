#!/usr/bin/env bash
# Installs everything urgate needs on a fresh Debian 12 machine with Node 20:
# system packages (OpenBLAS for the native kernels, Open MPI for data-parallel
# training, Slurm and munge, whose one-node cluster runs that training under
# srun in the tests (tools/slurm-cluster.sh), SentencePiece trainer, the offline Fashion-MNIST data set, the
# Python ONNX checker / PyTorch used only as references in tests and
# benchmarks, promtool from the prometheus package, which checks the server's
# /metrics in its tests, and chromium for the serve page's browser tests), then
# the npm workspaces.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev openmpi-bin libopenmpi-dev slurm-wlm munge sentencepiece dataset-fashion-mnist python3-onnx python3-torch python3-numpy prometheus chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node's install script downloads GPU provider files; skip it so
# an offline machine gets the CPU build.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci; else npm install; fi
npm run build
