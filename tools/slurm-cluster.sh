#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, all of it in one folder: munged (its own key and
# socket), slurmctld and slurmd on 127.0.0.1 (free ports), a minimal slurm.conf with PMIx.
# Nothing in /etc or /run is touched, so it runs beside a system Slurm or none. Needs root
# (slurmd starts the tasks as the submitting user) and Debian's slurm-wlm and munge.
#   bash tools/slurm-cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   bash tools/slurm-cluster.sh stop DIR    # stops the three daemons, removes DIR
set -euo pipefail
usage() { echo "slurm-cluster: usage: slurm-cluster.sh start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
ACTION=$1 DIR=$2

stop() {
  # Each daemon by the pid it wrote; never by name (other clusters may run here).
  for daemon in slurmd slurmctld munged; do
    local pidfile=$DIR/$daemon.pid
    [ -s "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$DIR"
}

# (written as a string: under FORCE_COLOR, as in nx-run tests, console.log colours a number)
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(s.address().port+'\n');s.close()})"; }

start() {
  for tool in munged slurmctld slurmd srun; do
    command -v "$tool" >/dev/null || { echo "slurm-cluster: $tool not found: apt-get install -y slurm-wlm munge (tools/setup.sh)" >&2; exit 1; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "slurm-cluster: needs root (slurmd runs tasks as their user)" >&2; exit 1; }
  mkdir -p "$DIR"/{state,spool,munge}
  DIR=$(cd "$DIR" && pwd)
  chmod 700 "$DIR/munge"
  # munged wants a key only its user can read, and a socket folder nobody else can write.
  dd if=/dev/urandom of="$DIR/munge/key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/key"
  munged --force --key-file="$DIR/munge/key" --socket="$DIR/munge/socket" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed"

  local node cpus ctld_port slurmd_port
  node=$(hostname -s)
  cpus=$(nproc)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
  # proctrack/pgid and task/none: no cgroups (containers); MpiDefault=none so each job names
  # its PMI (--mpi=pmix); OverSubscribe lets jobs share the node's CPUs, and srun's
  # --overcommit puts more tasks than CPUs on it.
  cat > "$DIR/slurm.conf" <<CONF
ClusterName=urgate
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF=$DIR/slurm.conf
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF" -N "$node"
  # Ready once the node takes jobs.
  for _ in $(seq 100); do
    if sinfo -h -N -o %t 2>/dev/null | grep -q -E '^(idle|mix|alloc)'; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm-cluster: the node did not come up in 20 s; logs in $DIR:" >&2
  tail -n 5 "$DIR"/*.log >&2 || true
  stop
  exit 1
}

case $ACTION in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
