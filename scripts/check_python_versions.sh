#!/usr/bin/env bash
# For each Python from 3.11 to 3.13 found here, resolve the project with its dev extras against PyPI as
# wheels only (pyspark is pure Python and published as a source archive only) without installing anything,
# and say which versions can install everything from wheels.
#   scripts/check_python_versions.sh [python ...]    default: python3.11 python3.12 python3.13
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
candidates=("$@")
[ ${#candidates[@]} -gt 0 ] || candidates=(python3.11 python3.12 python3.13)
for candidate in "${candidates[@]}"; do
  if ! version=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    echo "$candidate: not found"
    continue
  fi
  scratch=$(mktemp -d)
  "$candidate" -m venv "$scratch/venv"
  "$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  if "$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check --dry-run \
      --only-binary=:all: --no-binary=pyspark '.[dev]' 2>"$scratch/err"; then
    echo "Python $version ($candidate): every dependency installs from wheels"
  else
    echo "Python $version ($candidate): $(grep -m1 ERROR "$scratch/err")"
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
