#!/usr/bin/env bash
# Build what a cluster run ships, into DIR (default dist/):
#   profile_pipeline-<version>-py3-none-any.whl   the project
#   profile-pipeline-env.tar.gz                   for spark.archives: venv-pack of a clean virtualenv that
#                                                 holds the wheel and its pinned dependencies
# The environment keeps pyspark's Python modules (Python workers import them) but not its jars: executors'
# JVMs are the cluster's Spark. Executors need this Python at the same path (docs/operations.md: The executors' Python).
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(realpath -m "${1:-dist}")
env_dir=$(mktemp -d)
trap 'rm -rf "$env_dir"' EXIT
mkdir -p "$dist"
rm -f "$dist"/profile_pipeline-*.whl
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$dist" .
.venv/bin/python -m venv "$env_dir"
"$env_dir"/bin/python -m pip install --quiet --disable-pip-version-check "$dist"/profile_pipeline-*.whl
.venv/bin/venv-pack --quiet --force --prefix "$env_dir" --output "$dist/profile-pipeline-env.tar.gz" \
  --exclude 'lib/python*/site-packages/pyspark/jars/*'
echo "package: $(ls "$dist"/profile_pipeline-*.whl) and $dist/profile-pipeline-env.tar.gz"
