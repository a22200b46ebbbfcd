#!/usr/bin/env bash
# Set up .venv (runtime + dev requirements) and run the test suite. Extra arguments go to pytest.
# The suite starts its own SecantusDB server on a free loopback port (or uses TEST_MONGO_URL).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
