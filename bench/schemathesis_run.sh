#!/bin/sh
# schemathesis against the staff API (/admin/api/*), repeatable: see bench/schemathesis_admin.py.
#   bench/schemathesis_run.sh [--max-examples N]
# PYTHON: the project's interpreter (default: python3 on PATH, with the project installed);
# ST_VENV: schemathesis's own virtualenv, created on first use (default /tmp/venv-st). It is kept apart from
# the project's because schemathesis needs a newer hypothesis than the project pins.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
ST_VENV="${ST_VENV:-/tmp/venv-st}"
export ST_VENV
if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
    python3 -m venv "$ST_VENV"
    # The project first, with its pins, so pip picks a schemathesis that fits them (starlette, httpx, …).
    "$ST_VENV/bin/pip" install --quiet -e . 'schemathesis>=4.32,<5'
fi
"$ST_VENV/bin/schemathesis" --version
exec "$PYTHON" -m bench.schemathesis_admin "$@"
