#!/bin/bash
# SLURM Prolog (slurm.conf: Prolog=/etc/slurm/wattprint-prolog.sh): makes sure this node's ONE wattprint agent is
# running. The agent charges every job on the node its share of each device, measured on the job's cgroup
# (cgroup v2 system.slice/slurmstepd.scope/job_<id>, v1 cpuacct/slurm/uid_*/job_*): job <id> is the run
# slurm-<id> in the agent's database and wattprint_job_energy_joules_total{job="slurm-<id>"} on /metrics.
# No agent and no port per job: jobs sharing a node share its agent. The epilog writes each job's report.
# Where the agent runs as a service (examples/systemd/wattprint-agent.service), this prolog is not needed.
set -euo pipefail

[ -n "${SLURM_JOB_ID:-}" ] || exit 0
WATTPRINT=${WATTPRINT:-/usr/bin/wattprint}
STATE_DIR=${WATTPRINT_STATE_DIR:-/var/lib/wattprint}
PORT=${WATTPRINT_PORT:-9477}
mkdir -p "$STATE_DIR"
PIDFILE="$STATE_DIR/agent.pid"

# alive: the process exists and is not a zombie waiting to be reaped.
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# Jobs that start together run their prologs at once: the lock lets one of them start the agent.
exec 9>"$STATE_DIR/agent.lock"
flock -w 10 9 || true
if [ -r "$PIDFILE" ] && alive "$(cat "$PIDFILE")"; then exit 0; fi

# One run id per node: an agent started again (after a crash, a reboot) continues the node's run and its jobs'.
args=(agent
  --run-id "node-$(hostname -s)"
  --db "$STATE_DIR/wattprint.db"
  --attribute-jobs on
  --listen "0.0.0.0:$PORT"
  --quiet)
[ -r /etc/wattprint/token ] && args+=(--token "$(cat /etc/wattprint/token)")
[ -n "${WATTPRINT_CLUSTER:-}" ] && args+=(--label "cluster=$WATTPRINT_CLUSTER")

# Detached from the prolog (SLURM waits for it), without the lock's descriptor.
setsid "$WATTPRINT" "${args[@]}" >>"$STATE_DIR/agent.log" 2>&1 </dev/null 9>&- &
echo $! >"$PIDFILE"
exit 0
