#!/usr/bin/env bash
# Set up .venv-dev (runtime + dev requirements; never the production .venv) and run the test suite.
# Extra arguments go to pytest. The suite starts its own SecantusDB server on a free loopback port
# (TEST_MONGO_MODE=replicaset: its one-member replica set), or uses TEST_MONGO_URL.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-dev/bin/python ]; then
  python3 -m venv .venv-dev
fi
.venv-dev/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
exec .venv-dev/bin/python -m pytest "$@"
