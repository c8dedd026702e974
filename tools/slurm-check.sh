#!/usr/bin/env bash
# Data-parallel LM training under Slurm's srun, for real: starts a one-node Slurm cluster on this
# machine (tools/slurm-cluster.sh: munged, slurmctld, slurmd on 127.0.0.1), runs 50 steps of
# `urgate train lm` in 1 process and as a 2- and a 3-task srun step with PMIx (more tasks than
# cores: --overcommit), prints the worst relative difference of their metrics and the tokens/s,
# and stops the cluster, however the script ends. Needs root, slurm-wlm and munge (tools/setup.sh)
# and a built repository (npm run build). Usage: sudo bash tools/slurm-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f packages/mpi/build/Release/urgate_mpi.node ] || { echo "slurm-check: build first: npm run build" >&2; exit 1; }

WORK=$(mktemp -d /tmp/urgate-slurm-check-XXXXXX)
cleanup() {
  bash tools/slurm-cluster.sh stop "$WORK/slurm"
  rm -rf "$WORK"
}
trap cleanup EXIT
eval "$(bash tools/slurm-cluster.sh start "$WORK/slurm")"
echo "== a one-node Slurm cluster: $(sinfo -h -o '%P %D node(s) %c CPUs %t') ($(srun --version))"
echo "   srun --mpi=list: $(srun --mpi=list 2>&1 | tail -n +2 | tr -s '\n\t ' ' ')"

URGATE=(node packages/cli/dist/bin.js)
# An assignment, so that set -e stops the script if preparing fails (read <<< "$(…)" would not).
TRAIN_ARGS=$(node tools/lm-equivalence.mjs prepare "$WORK")
read -ra TRAIN <<< "$TRAIN_ARGS"
export URGATE_NUM_THREADS=1
# A run's progress goes to its log, shown when it fails; its first summary line is printed.
run() {
  local log=$WORK/$1.log
  shift
  if ! "$@" > "$log.out" 2> "$log"; then
    tail -n 20 "$log" >&2
    exit 1
  fi
  head -n 1 "$log.out"
}
echo "== 1 process x 1 thread"
run one "${URGATE[@]}" "${TRAIN[@]}" --out "$WORK/one"
for n in 2 3; do
  echo "== srun --mpi=pmix -n $n x 1 thread"
  run "srun-$n" timeout 600 srun --mpi=pmix --overcommit -n "$n" "${URGATE[@]}" "${TRAIN[@]}" --out "$WORK/srun-$n"
  node tools/lm-equivalence.mjs compare "$WORK/one" "$WORK/srun-$n"
done
