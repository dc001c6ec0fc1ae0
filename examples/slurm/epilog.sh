#!/bin/bash
# SLURM Epilog (slurm.conf: Epilog=/etc/slurm/wattprint-epilog.sh): stops this job's wattprint agent.
# SIGTERM closes the run, writes the report file and, with --pushgateway, pushes the final totals.
set -uo pipefail

[ -n "${SLURM_JOB_ID:-}" ] || exit 0
STATE_DIR=${WATTPRINT_STATE_DIR:-/var/lib/wattprint}
PIDFILE="$STATE_DIR/jobs/$SLURM_JOB_ID.pid"
[ -r "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE")

# alive: the process exists and is not a zombie waiting to be reaped (the agent's parent, the prolog, is gone).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

if alive "$pid"; then
  kill -TERM "$pid"
  # Give the agent time to commit the last tick and write the report; never hang the epilog.
  for _ in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.2
  done
  alive "$pid" && kill -KILL "$pid"
fi
rm -f "$PIDFILE"
exit 0
