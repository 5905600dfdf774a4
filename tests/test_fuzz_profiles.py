"""Property: whatever value of a real-shaped message is broken, the partition function does not raise and
the message lands exactly once in `profiles`, `quarantine` or the dropped count (the clean message after
it too). The full sweep (>= 10,000 cases) is `benchmarks/fuzz_profiles.py`; here a few cases per format.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from profile_pipeline.formats import ANDROID, ANDROID_CHUNK, LEGACY, SAMPLE_V1, SAMPLE_V2
from profile_pipeline.stages.context import StageContext
from synthetic.mutations import CASE_KINDS, Case, cases, fuzz_context, kind_format, run_case

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FORMATS = (SAMPLE_V1, SAMPLE_V2, ANDROID, ANDROID_CHUNK, LEGACY)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> StageContext:
    return fuzz_context(tmp_path_factory.mktemp("fuzz"), PROJECT_ROOT / "conf" / "reference.json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_broken_message_never_escapes_the_partition_function(ctx: StageContext, fmt: str) -> None:
    kinds = tuple(kind for kind in CASE_KINDS if kind_format(kind) == fmt)

    @settings(max_examples=12, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(cases(kinds))
    def check(case: Case) -> None:
        verdict = run_case(case, ctx)
        assert verdict.escape is None, f"{case.kind} {case.mutations}: {verdict.escape}"

    check()
