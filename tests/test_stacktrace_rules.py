"""Stack-trace rules (+app/-app) from a project's grouping enhancements, on sample frames and android methods."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from vroom_profiles import android_legacy, make_work, python_v1, sample_v2_chunk

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SentryOptions, VroomConfig
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.stacktrace_rules import apply_rules, apply_stacktrace_rules_batch, parse_rules
from profile_pipeline.stages.vroom import run_vroom_stage


def context(rules: str | None, *, enabled: bool = True, bucket: Path | None = None) -> StageContext:
    projects = {2: {"stack_trace_rules": rules}} if rules is not None else {}
    vroom = VroomConfig(profiles_bucket=bucket.as_uri()) if bucket else VroomConfig()
    config = JobConfig(options=SentryOptions(stack_trace_rules_enabled=enabled), vroom=vroom)
    return StageContext(config=config, reference=ReferenceData(projects=projects), run_id="t", day=date(2025, 5, 20))


def frame_profile(*frames: dict) -> dict:
    return {"platform": "python", "profile": {"frames": list(frames)}}


def test_only_app_actions_on_frame_matchers_are_kept() -> None:
    rules = parse_rules(
        "\n".join(
            [
                "# comment line",
                "stack.module:app.* +app  # trailing comment",
                "family:native -app",
                "stack.function:foo +group",
                "error.type:ValueError +app",
                "[ stack.function:caller ] | stack.function:callee +app",
                "stack.function:bar ^-app",
                'stack.function:"quoted name" -app max-frames=3',
                "path:**/vendor/** -app",
                "",
            ]
        )
    )
    assert [(tuple(m.field for m in rule.matchers), rule.in_app) for rule in rules] == [
        (("module",), True),
        (("function",), False),
        (("path",), False),
    ]


def test_rules_set_in_app_and_the_last_match_wins() -> None:
    profile = frame_profile(
        {"module": "app.views", "function": "index", "in_app": False},
        {"module": "app.vendor.lib", "function": "helper"},
        {"module": "django.core", "function": "dispatch", "in_app": True},
        {"function": "no_module"},
    )
    apply_rules(profile, parse_rules("stack.module:app.* +app\nstack.module:app.vendor.* -app\nmodule:django.* -app"))

    assert [frame.get("in_app") for frame in profile["profile"]["frames"]] == [True, False, False, None]


def test_negated_matchers_and_several_matchers_per_rule() -> None:
    profile = frame_profile(
        {"module": "app.jobs", "function": "run"},
        {"module": "app.jobs", "function": "other"},
        {"module": "lib.jobs", "function": "run"},
    )
    apply_rules(profile, parse_rules("stack.module:app.* !stack.function:other +app"))

    assert [frame.get("in_app") for frame in profile["profile"]["frames"]] == [True, None, None]


@pytest.mark.parametrize(
    ("pattern", "abs_path", "matches"),
    [
        ("**/site-packages/**", "/usr/lib/python3.11/site-packages/requests/api.py", True),
        ("/srv/app/*.py", "/srv/app/jobs.py", True),
        ("/srv/app/*.py", "/srv/app/sub/jobs.py", False),  # `*` stays inside a path segment
        ("/srv/app/**", "/srv/app/sub/jobs.py", True),
        ("C:/Code/*.PY", "c:\\code\\main.py", True),  # case-insensitive, backslashes as slashes
        ("/app/*.js", "app/main.js", True),  # a relative path also matches as if rooted
        ("/srv/app/jobs.py", "/srv/app/jobs.pyc", False),
    ],
)
def test_path_globs(pattern: str, abs_path: str, matches: bool) -> None:
    profile = frame_profile({"abs_path": abs_path})
    apply_rules(profile, parse_rules(f"stack.abs_path:{pattern} +app"))

    assert profile["profile"]["frames"][0].get("in_app") is (True if matches else None)


def test_path_falls_back_to_filename_and_module_globs_cross_dots() -> None:
    profile = frame_profile({"filename": "jobs.py"}, {"module": "com.example.deep.inner.Thing"})
    apply_rules(profile, parse_rules("stack.abs_path:jobs.py -app\nstack.module:com.example.* +app"))

    assert [frame.get("in_app") for frame in profile["profile"]["frames"]] == [False, True]


def test_android_methods_are_matched_through_their_aliases() -> None:
    profile = make_work(android_legacy()).profile
    rules = "stack.module:com.example.* +app\nstack.function:compute -app\nstack.abs_path:MainActivity.java -app"
    apply_rules(profile, parse_rules(rules))

    in_app = {method["name"]: method.get("in_app") for method in profile["profile"]["methods"]}
    assert in_app == {"compute": False, "onCreate": False, "performCreate": None}


def test_batch_uses_the_project_rules_behind_the_option() -> None:
    rules = "stack.module:app.* -app"
    enabled, disabled, other_project = (make_work(sample_v2_chunk()) for _ in range(3))
    other_project.message["project_id"] = 3
    apply_stacktrace_rules_batch([enabled, other_project], context(rules))
    apply_stacktrace_rules_batch([disabled], context(rules, enabled=False))

    assert [frame["in_app"] for frame in enabled.profile["profile"]["frames"]] == [False, False]
    assert [frame["in_app"] for frame in disabled.profile["profile"]["frames"]] == [True, True]
    assert [frame["in_app"] for frame in other_project.profile["profile"]["frames"]] == [True, True]


def test_errors_are_swallowed_and_other_profiles_still_get_rules() -> None:
    broken, fine = make_work(sample_v2_chunk()), make_work(sample_v2_chunk())
    broken.profile["profile"]["frames"] = [None, "not a frame"]
    apply_stacktrace_rules_batch([broken, fine], context("stack.module:app.* -app"))

    assert broken.ok and broken.profile["profile"]["frames"] == [None, "not a frame"]
    assert [frame["in_app"] for frame in fine.profile["profile"]["frames"]] == [False, False]


def test_rules_reach_the_function_metrics(tmp_path: Path) -> None:
    plain, ruled = make_work(python_v1()), make_work(python_v1())
    ctx = context("stack.module:sentry.utils.* -app", bucket=tmp_path)
    apply_stacktrace_rules_batch([ruled], ctx)
    run_vroom_stage([plain, ruled], ctx)

    plain_in_app = {f["function"]: f["in_app"] for f in plain.functions}
    ruled_in_app = {f["function"]: f["in_app"] for f in ruled.functions}
    assert plain_in_app["_raw_snql_query"] is True
    assert "_raw_snql_query" not in ruled_in_app  # a system frame now: filtered out of the functions
