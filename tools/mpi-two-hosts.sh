#!/usr/bin/env bash
# Two "hosts" on one machine: two network namespaces (each with its own hostname) joined by a
# veth pair, and one MPI job with a rank on each, so the gradients cross TCP as between two
# machines, not shared memory. Open MPI's rsh launcher reaches the second host through an agent
# that enters its namespace with a clean environment, as ssh would. Prints the allreduce's speed
# over the link and a 2-rank LM training run against 1 process (losses and tokens/s).
# Needs root (ip netns), a built repository (npm run build). Usage:
#   sudo bash tools/mpi-two-hosts.sh [--rate 1gbit] [--probe-only]
# --rate shapes the link with tc tbf; --probe-only stops after the allreduce probe.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RATE=""
PROBE_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --rate) RATE=$2; shift 2 ;;
    --probe-only) PROBE_ONLY=1; shift ;;
    *) echo "mpi-two-hosts: unknown option $1 (expected --rate RATE, --probe-only)" >&2; exit 2 ;;
  esac
done
[ -f packages/mpi/build/Release/urgate_mpi.node ] || { echo "mpi-two-hosts: build first: npm run build" >&2; exit 1; }

ID=$$
NS1=urgate-h1-$ID NS2=urgate-h2-$ID
IF1=ug1-$ID IF2=ug2-$ID
NET=${URGATE_NETNS_SUBNET:-10.231.0}
IP1=$NET.1 IP2=$NET.2
WORK=$(mktemp -d /tmp/urgate-two-hosts-XXXXXX)
cleanup() {
  ip netns del "$NS1" 2>/dev/null || true
  ip netns del "$NS2" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS1"
ip netns add "$NS2"
ip link add "$IF1" type veth peer name "$IF2"
ip link set "$IF1" netns "$NS1"
ip link set "$IF2" netns "$NS2"
ip -n "$NS1" addr add "$IP1/24" dev "$IF1"
ip -n "$NS2" addr add "$IP2/24" dev "$IF2"
for ns in "$NS1" "$NS2"; do ip -n "$ns" link set lo up; done
ip -n "$NS1" link set "$IF1" up
ip -n "$NS2" link set "$IF2" up
if [ -n "$RATE" ]; then
  for pair in "$NS1 $IF1" "$NS2 $IF2"; do
    set -- $pair
    ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "$RATE" burst 256kb latency 50ms
  done
fi

# The rsh agent: `AGENT HOST orted ARGS...` runs the (already shell-quoted) command on HOST.
cat > "$WORK/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case \$host in
  $IP1) ns=$NS1; name=host1 ;;
  $IP2) ns=$NS2; name=host2 ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TMPDIR=$WORK \
  sh -c "hostname \$name; cd $ROOT; \$*"
AGENT
chmod +x "$WORK/agent"

# mpirun on host1: its own address is local, host2 is reached through the agent.
on_host1() {
  ip netns exec "$NS1" unshare --uts sh -c 'hostname host1; "$@"' sh env TMPDIR="$WORK" "$@"
}
MPIRUN=(timeout 600 mpirun --allow-run-as-root --mca plm_rsh_agent "$WORK/agent" --mca pml ob1
  --mca btl tcp,self --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24"
  --bind-to none --host "$IP1:1,$IP2:1" -np 2 -x URGATE_NUM_THREADS=1)

echo "== allreduce between two namespaces over a veth pair${RATE:+ shaped to $RATE}"
on_host1 "${MPIRUN[@]}" node tools/mpi-allreduce-probe.mjs
[ "$PROBE_ONLY" = 1 ] && exit 0

echo "== LM training: 2 ranks (one a host) against 1 process"
URGATE=(node packages/cli/dist/bin.js)
# An assignment, so that set -e stops the script if preparing fails (read <<< "$(…)" would not).
TRAIN_ARGS=$(node tools/lm-equivalence.mjs prepare "$WORK")
read -ra TRAIN <<< "$TRAIN_ARGS"
URGATE_NUM_THREADS=1 "${URGATE[@]}" "${TRAIN[@]}" --out "$WORK/one" 2>/dev/null | head -1
on_host1 "${MPIRUN[@]}" "${URGATE[@]}" "${TRAIN[@]}" --out "$WORK/two" 2>/dev/null | head -1
node tools/lm-equivalence.mjs compare "$WORK/one" "$WORK/two"
