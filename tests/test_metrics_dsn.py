"""[A]'s metrics DSN: who gets one, what it looks like, and that the key goes to vroom and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest
from servers.vroom import VroomServer
from vroom_profiles import cocoa_v1, make_work, sample_v2_chunk

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, MetricsDsnOptions, SentryOptions, VroomConfig
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.metrics_dsn import attach_metrics_dsn_batch, build_dsn, redact_dsn, rollout_draw
from profile_pipeline.stages.vroom import run_vroom_stage
from profile_pipeline.work import ProfileWork

KEY = "5e1b1c9a0f7d4c3b8a2e6f4d1c0b9a87"
REFERENCE = ReferenceData(
    projects={
        2: {"dsn_public_key": KEY, "dsn_endpoint": "https://o1.ingest.example.com"},
        3: {"dsn_public_key": KEY, "dsn_endpoint": "https://o1.ingest.example.com"},
        4: {"dsn_endpoint": "https://o1.ingest.example.com"},
        5: {"dsn_public_key": KEY, "dsn_endpoint": "https://o1.ingest.example.com:bad-port"},
    }
)


def context(vroom: VroomConfig | None = None, **metrics: object) -> StageContext:
    options = SentryOptions(metrics_dsn=MetricsDsnOptions(**{"enabled": True, **metrics}))
    config = JobConfig(options=options, vroom=vroom or VroomConfig())
    return StageContext(config=config, reference=REFERENCE, run_id="t", day=date(2025, 5, 20))


def profile_for(project_id: int, index: int = 0) -> ProfileWork:
    return make_work(cocoa_v1(f"{index:032x}"), project_id=project_id)


@pytest.mark.parametrize(
    ("endpoint", "dsn"),
    [
        ("https://o1.ingest.example.com", f"https://{KEY}@o1.ingest.example.com/2"),
        ("https://o1.ingest.example.com/", f"https://{KEY}@o1.ingest.example.com/2"),
        ("http://relay.internal:3000/sentry", f"http://{KEY}@relay.internal:3000/sentry/2"),
        ("o1.ingest.example.com", ""),
        ("", ""),
    ],
)
def test_dsn_shape(endpoint: str, dsn: str) -> None:
    assert build_dsn(KEY, endpoint, 2) == dsn


def test_allowed_organizations_get_the_dsn_unless_the_project_is_denied() -> None:
    allowed, denied, chunk = profile_for(2), profile_for(3), make_work(sample_v2_chunk())
    attach_metrics_dsn_batch([allowed, denied, chunk], context(allowed_org_ids=(1,), denied_project_ids=(3,)))

    assert allowed.profile["options"] == {"dsn": f"https://{KEY}@o1.ingest.example.com/2"}
    assert "options" not in denied.profile
    assert "options" not in chunk.profile  # sample v2 chunks never get one


def test_disabled_or_not_rolled_out_means_no_dsn() -> None:
    works = [profile_for(2, index) for index in range(20)]
    attach_metrics_dsn_batch(works, context(enabled=False, allowed_org_ids=(1,), rollout_rate=1.0))
    attach_metrics_dsn_batch(works, context(allowed_org_ids=(7,), rollout_rate=0.0))

    assert not any("options" in work.profile for work in works)


def test_rollout_is_a_stable_fraction_of_profiles() -> None:
    works = [profile_for(2, index) for index in range(2000)]
    attach_metrics_dsn_batch(works, context(rollout_rate=0.25))
    chosen = {work.profile["event_id"] for work in works if "options" in work.profile}

    assert 400 < len(chosen) < 600
    again = [profile_for(2, index) for index in range(2000)]
    attach_metrics_dsn_batch(again, context(rollout_rate=0.25))
    assert {work.profile["event_id"] for work in again if "options" in work.profile} == chosen
    assert all(rollout_draw(work.profile) < 0.25 for work in works if work.profile["event_id"] in chosen)


def test_missing_key_or_bad_endpoint_leaves_no_dsn_and_logs_no_key(caplog: pytest.LogCaptureFixture) -> None:
    no_key, bad_endpoint = profile_for(4), profile_for(5)
    with caplog.at_level(logging.DEBUG):
        attach_metrics_dsn_batch([no_key, bad_endpoint], context(allowed_org_ids=(1,)))

    assert "options" not in no_key.profile and "options" not in bad_endpoint.profile
    assert no_key.ok and bad_endpoint.ok
    assert "no metrics DSN for project 5" in caplog.text
    assert KEY not in caplog.text


def test_redaction_hides_the_dsn_and_its_key() -> None:
    profile = {"options": {"dsn": f"https://{KEY}@o1.ingest.example.com/2"}}
    text = redact_dsn(f"bad value https://{KEY}@o1.ingest.example.com/2 near {KEY}", profile)

    assert KEY not in text and text == "bad value [redacted] near [redacted]"
    assert redact_dsn(f"nothing {KEY}", {}) == f"nothing {KEY}"


@pytest.fixture
def server() -> Iterator[VroomServer]:
    with VroomServer() as running:
        yield running


def test_vroom_gets_the_dsn_and_the_profile_keeps_none(server: VroomServer) -> None:
    sent, refused = profile_for(2, 1), profile_for(2, 2)
    ctx = context(VroomConfig(mode="http", url=server.url, max_in_flight=1, retry_budget=0), allowed_org_ids=(1,))
    attach_metrics_dsn_batch([sent, refused], ctx)
    run_vroom_stage([sent], ctx)
    server.behaviour.status = 400
    run_vroom_stage([refused], ctx)

    assert [request.body["options"]["dsn"] for request in server.requests] == [
        f"https://{KEY}@o1.ingest.example.com/2"
    ] * 2
    assert sent.ok and "options" not in sent.profile
    assert refused.failure is not None and KEY not in refused.failure.message
    assert "options" not in refused.profile
