#!/usr/bin/env bash
# One command: set up .venv-dev, write the bundled sample school to .demo/, seed the embedded database
# (.data/) and run the restore on it. Tracked files are never modified. Extra arguments go to the restore;
# the demo exits with the restore's own exit code.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-dev/bin/python ]; then
  python3 -m venv .venv-dev
fi
.venv-dev/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# MONGO_URL empty on purpose: the demo always uses the embedded database, never the one in .env.
demo="${DEMO_DIR:-$PWD/.demo}"  # the tests give it a folder of their own
export MONGO_URL= EMBEDDED_DB=1 DB_NAME=demo_school PHOTO_DIR="$demo/photos" BACKUP_DIR="$demo/backups" \
       EMBEDDED_DB_DIR="${EMBEDDED_DB_DIR:-$PWD/.data}"
if [ ! -d "$demo" ]; then  # a rerun works on the repaired school; rm -rf .demo to start over
  .venv-dev/bin/python -m student_photos.sample "$demo"
fi
status=0
.venv-dev/bin/python restore_student_photos.py "$@" || status=$?
echo
case $status in
  0) echo "Demo finished with exit code 0: nothing needs attention." ;;
  1) echo "Demo finished with exit code 1: it repaired what it could; some photos need a person (see above)." ;;
  *) echo "Demo finished with exit code $status: the restore could not run (see the message above)." ;;
esac
echo "Run 'bash demo.sh' again: nothing new to fix, nothing written. 'rm -rf .demo' starts over."
exit $status
