#!/usr/bin/env bash
# A department's deployment on this machine, all on 127.0.0.1: PostgreSQL, a Dask scheduler (TLS) and one
# worker, REPLICAS Streamlit servers of this checkout, and HAProxy on PORT in front of them.
#   deploy/run-local.sh PORT [REPLICAS] [--state DIR] [--keep] [--timeout S] [--database URL]
# Ctrl-C or SIGTERM stops every process it started. CVAE_TEACHER_CODE, CVAE_CLASS_CODE, CVAE_RUNS_DIR and
# the other CVAE_* settings pass through to the replicas; PYTHON picks the interpreter (default python3).
# docs/teacher/serving-a-department.md explains it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m deploy.local "$@"
