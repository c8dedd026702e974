#!/usr/bin/env bash
# Builds the addon for a CPU other than this machine's default, from a copy of
# binding.gyp, csrc/ and napi/ in a temporary folder (build/ stays as it is):
#
#   arm64      cross-compiles for aarch64 Linux with Debian's cross compiler and
#              checks the result is an arm64 shared object that links OpenBLAS
#              and uses NEON vector arithmetic. Needs, once (66 MB download):
#                dpkg --add-architecture arm64 && apt-get update
#                apt-get install g++-aarch64-linux-gnu libopenblas-dev:arm64
#   baseline   builds for the x86-64 baseline alone (-DURGATE_BASELINE_ONLY: no
#              AVX2/FMA clones, what a CPU without AVX2 runs) and runs the kernel
#              tests against it, then puts the default build back.
#
# Run through npm (`npm run build:arm64 -w @urgate/kernels`, `npm run
# test:baseline -w @urgate/kernels`), which puts npm's node-gyp on PATH.
set -euo pipefail

variant=${1:?usage: portable-build.sh arm64|baseline}
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/binding.gyp" "$here/csrc" "$here/napi" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
gyp() { (cd "$work" && node-gyp rebuild --nodedir=/usr -j 2 "$@" >"$work/build.log" 2>&1) || { tail -30 "$work/build.log"; exit 1; }; }

case "$variant" in
  arm64)
    for tool in aarch64-linux-gnu-g++ aarch64-linux-gnu-readelf aarch64-linux-gnu-objdump; do
      command -v "$tool" >/dev/null || { echo "portable-build: $tool not found — apt-get install g++-aarch64-linux-gnu" >&2; exit 1; }
    done
    [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so ] || {
      echo 'portable-build: arm64 OpenBLAS not found — dpkg --add-architecture arm64 && apt-get update && apt-get install libopenblas-dev:arm64' >&2
      exit 1
    }
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ gyp --arch=arm64
    addon="$work/build/Release/urgate_kernels.node"
    machine=$(aarch64-linux-gnu-readelf -h "$addon" | sed -n 's/^ *Machine: *//p')
    blas=$(aarch64-linux-gnu-readelf -d "$addon" | grep -c 'NEEDED.*libopenblas' || true)
    neon=$(aarch64-linux-gnu-objdump -d "$addon" | grep -cE '\sfmla\s+v[0-9]+\.4s' || true)
    echo "arm64 build: $(stat -c %s "$addon") bytes, machine: $machine, links libopenblas: $blas, NEON fmla (4 x fp32): $neon"
    [ "$machine" = AArch64 ] && [ "$blas" = 1 ] && [ "$neon" -gt 0 ]
    ;;
  baseline)
    CPPFLAGS=-DURGATE_BASELINE_ONLY gyp
    addon="$here/build/Release/urgate_kernels.node"
    [ -e "$addon" ] || { echo 'portable-build: build the default addon first (npm run build:native)' >&2; exit 1; }
    cp "$addon" "$work/default.node"
    trap 'cp "$work/default.node" "$addon"; rm -rf "$work"' EXIT
    cp "$work/build/Release/urgate_kernels.node" "$addon"
    echo "x86-64 baseline build: $(objdump -d "$addon" | grep -cE '%ymm' || true) instructions on ymm registers; running the kernel tests on it"
    (cd "$here" && URGATE_BASELINE_ONLY=1 npx vitest run)
    ;;
  *)
    echo "portable-build: unknown variant '$variant' (arm64 or baseline)" >&2
    exit 1
    ;;
esac
