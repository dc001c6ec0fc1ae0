#!/bin/bash
# SLURM Prolog (slurm.conf: Prolog=/etc/slurm/wattprint-prolog.sh, PrologFlags=Alloc): starts one wattprint
# agent per node for the job. Every node uses the same run id (the job id), so Prometheus sums the nodes
# with `sum by (run_id)`. Assumes whole-node allocations (one job per node); on shared nodes pass
# --no-listen instead of --listen and rely on --pushgateway.
set -euo pipefail

[ -n "${SLURM_JOB_ID:-}" ] || exit 0
WATTPRINT=${WATTPRINT:-/usr/bin/wattprint}
STATE_DIR=${WATTPRINT_STATE_DIR:-/var/lib/wattprint}
PORT=${WATTPRINT_PORT:-9477}
mkdir -p "$STATE_DIR/jobs"
PIDFILE="$STATE_DIR/jobs/$SLURM_JOB_ID.pid"

args=(agent
  --run-id "slurm-$SLURM_JOB_ID"
  --db "$STATE_DIR/wattprint.db"
  --label "partition=${SLURM_JOB_PARTITION:-unknown}"
  --label "user=${SLURM_JOB_USER:-unknown}"
  --listen "0.0.0.0:$PORT"
  --report-file "$STATE_DIR/jobs/$SLURM_JOB_ID-$(hostname -s).json"
  --quiet)
[ -r /etc/wattprint/token ] && args+=(--token "$(cat /etc/wattprint/token)")
[ -n "${WATTPRINT_PUSHGATEWAY:-}" ] && args+=(--pushgateway "$WATTPRINT_PUSHGATEWAY")
[ -n "${SLURM_JOB_GPUS:-}" ] && args+=(--gpus "$SLURM_JOB_GPUS")

# Detach from the prolog (SLURM waits for it) and keep the agent's output for the epilog to inspect.
setsid "$WATTPRINT" "${args[@]}" >"$STATE_DIR/jobs/$SLURM_JOB_ID.log" 2>&1 </dev/null &
echo $! >"$PIDFILE"
exit 0
