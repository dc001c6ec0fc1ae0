#!/bin/bash
# SLURM Epilog (slurm.conf: Epilog=/etc/slurm/wattprint-epilog.sh): writes the finished job's report on this
# node from the node agent's database; the agent keeps running for the node's other jobs. The agent closes the
# job's run a tick or two after the job's cgroup leaves: --wait waits for that, at most 10 s (it returns at once
# when the agent never saw the job, or is not running). A multi-node job gets one report per node; Prometheus
# sums the nodes with the recording rules in examples/prometheus.
set -uo pipefail

[ -n "${SLURM_JOB_ID:-}" ] || exit 0
WATTPRINT=${WATTPRINT:-/usr/bin/wattprint}
STATE_DIR=${WATTPRINT_STATE_DIR:-/var/lib/wattprint}
mkdir -p "$STATE_DIR/jobs"
OUT="$STATE_DIR/jobs/$SLURM_JOB_ID-$(hostname -s).md"

# A job too short for the agent to see has no run, hence no report; the epilog never fails the job.
if "$WATTPRINT" report "slurm-$SLURM_JOB_ID" --db "$STATE_DIR/wattprint.db" --wait 10 --format markdown >"$OUT.tmp" 2>"$OUT.err"; then
  mv "$OUT.tmp" "$OUT"
  rm -f "$OUT.err"
else
  rm -f "$OUT.tmp"
fi
exit 0
