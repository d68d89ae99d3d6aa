#!/usr/bin/env bash
# The runtime requirements alone, in a fresh virtualenv, run a worker on Redis that answers a task:
# proves requirements.txt is complete without what the dev requirements happen to pull in.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
prefix="tgfleet-ci-runtime-$$:"
worker_pid=
cleanup() {
  [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null
  # Only this script's keys: the Redis may hold others' (never FLUSHDB a database we did not create).
  redis-cli --scan --pattern "$prefix*" | xargs -r redis-cli unlink >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
"$tmp/venv/bin/pip" install -q -r requirements.txt
export DATA_DIR="$tmp/data" REDIS_URL="redis://127.0.0.1:6379/0" REDIS_KEY_PREFIX="$prefix"
unset DATABASE_URL
"$tmp/venv/bin/celery" -A project worker --loglevel WARNING --concurrency 1 -n "runtime-only@%h" \
  >"$tmp/worker.log" 2>&1 &
worker_pid=$!
if ! "$tmp/venv/bin/python" manage.py ping_worker --timeout 60; then
  echo "--- worker log"; cat "$tmp/worker.log"; exit 1
fi
