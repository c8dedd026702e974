# Sourced by the tools/repro-*.sh reproductions: shared setup and the copy into the docs.
# URGATE_REPRO_SMOKE=1 shrinks every reproduction to a seconds-long pipeline check (tiny model,
# few steps, 2 seeds) and writes its docs under $OUT/docs, never into packages/train/docs.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE="${URGATE_REPRO_SMOKE:-0}"
smoke() { [ "$SMOKE" = 1 ]; }
# The suffix of a smoke run's output folder; `|| true` because a failing command substitution
# in an assignment would end the script under `set -e`.
SMOKE_SUFFIX="$(smoke && echo -smoke || true)"
# One OpenBLAS thread: on 2 cores shared with other jobs, 2 threads per process ran ~6x slower.
export URGATE_NUM_THREADS="${URGATE_NUM_THREADS:-1}"
npx tsc -b packages/cli
[ -f packages/kernels/build/Release/urgate_kernels.node ] || npm run build:native -w @urgate/kernels
urgate() { nice node packages/cli/dist/bin.js "$@"; }

# publish NAME OUT: copies OUT's results.{md,json} and figures/*.png to $DOCS/repro-NAME-*
# (each under a temporary name, then renamed), then regenerates $DOCS/REPRODUCTION.md.
publish() {
  local name="$1" out="$2" docs
  docs="${DOCS:-$(smoke && echo "$out/docs" || echo packages/train/docs)}"
  mkdir -p "$docs"
  local src dst
  for src in "$out/results.md" "$out/results.json" "$out"/figures/*.png; do
    [ -f "$src" ] || continue
    dst="$docs/repro-$name-$(basename "$src")"
    cp "$src" "$dst.tmp"
    mv "$dst.tmp" "$dst"
  done
  node tools/repro-report.mjs "$docs"
}
