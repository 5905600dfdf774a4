#!/usr/bin/env bash
# Create the project's virtualenv and install the pinned dependencies (again only when pyproject changes).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if ! command -v java >/dev/null; then
  echo "bootstrap: Java 17 is required by Spark; install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
