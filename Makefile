# The two commands of the README: `make sample` runs the job on the bundled sample day, `make test` the tests.
DAY ?= 2026-11-24
PY := .venv/bin/python

.PHONY: setup sample test lint benchmarks package clean

setup:
	@scripts/bootstrap.sh

sample: setup
	@$(PY) jobs/make_sample_day.py --root sample-data --date $(DAY)
	@$(PY) jobs/process_profiles.py --config conf/local.toml --date $(DAY) --run-id sample-$(DAY) --force

test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/pytest -q

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# The project wheel and the packed environment for spark.archives, in dist/ (docs/operations.md: Running on a cluster).
package: setup
	scripts/package.sh dist

benchmarks: setup
	$(PY) benchmarks/throughput.py

clean:
	rm -rf warehouse sample-data profiles-bucket spark-warehouse dist
