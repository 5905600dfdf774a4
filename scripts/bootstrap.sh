#!/usr/bin/env bash
# Create the project's virtualenv and install the pinned dependencies (again only when pyproject changes).
# The interpreter: $PYTHON if set, else the first of python3.11, python3.12, python3.13, python3 that runs
# and is one of the versions every dependency ships wheels for.
set -euo pipefail
cd "$(dirname "$0")/.."
SUPPORTED="Python 3.11, 3.12 or 3.13"

supported() {
  "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null
}

python=""
for candidate in ${PYTHON:-python3.11 python3.12 python3.13 python3}; do
  if supported "$candidate"; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "bootstrap: $SUPPORTED is required (set PYTHON=/path/to/python3.x); none of ${PYTHON:-python3.11 python3.12 python3.13 python3} is" >&2
  exit 1
fi
if ! command -v java >/dev/null; then
  echo "bootstrap: Java 17 or 21 is required by Spark 4; install a JDK (e.g. apt-get install openjdk-17-jdk-headless)" >&2
  exit 1
fi
if [ -x .venv/bin/python ] && ! supported .venv/bin/python; then
  echo "bootstrap: .venv runs $(.venv/bin/python -V 2>&1), but $SUPPORTED is required; remove .venv and run again" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $("$python" -V 2>&1)"
  "$python" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing the pinned dependencies into .venv (a few minutes the first time; log in .venv/install.log)"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[dev]'; } \
      >.venv/install.log 2>&1; then
    tail -n 20 .venv/install.log >&2
    echo "bootstrap: installing the dependencies failed; the whole log is .venv/install.log" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Delta Lake's jars, resolved once per machine so that no run repeats Ivy's resolution (prints one line
# when it resolves; nothing once done).
.venv/bin/python -m profile_pipeline.spark.packages
