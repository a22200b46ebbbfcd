#!/usr/bin/env bash
# One command: set up .venv, write the bundled sample school to .demo/, seed the embedded database
# (.data/) and run the restore on it. Tracked files are never modified. Extra arguments go to the restore.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# MONGO_URL empty on purpose: the demo always uses the embedded database, never the one in .env.
export MONGO_URL= DB_NAME=demo_school PHOTO_DIR="$PWD/.demo/photos" BACKUP_DIR="$PWD/.demo/backups"
if [ ! -d .demo ]; then  # a rerun works on the repaired school; rm -rf .demo to start over
  .venv/bin/python -m student_photos.sample .demo
fi
status=0
.venv/bin/python restore_student_photos.py "$@" || status=$?
echo
echo "Demo finished with exit code $status (1 = repaired what it could; some photos need a person)."
echo "Run 'bash demo.sh' again: nothing new to fix, nothing written. 'rm -rf .demo' starts over."
exit 0
