"""[A]'s metrics DSN (SPEC Part II §4.11), behind `options.metrics_dsn.enabled`.

A profile that qualifies gets `profile["options"] = {"dsn": ...}`: the project's public DSN, to which
vroom sends function-duration metrics. The DSN is built from the reference data's `dsn_public_key` and
`dsn_endpoint`; it is handed to vroom and to nothing else, so the key never reaches logs, error
messages or tables: the vroom stage drops it again (`drop_metrics_dsn`), and failure messages built
from a profile pass through `redact_dsn`.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlsplit

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import MetricsDsnOptions
from profile_pipeline.formats import get_event_id
from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import ProfileWork

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"


def attach_metrics_dsn_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    options = ctx.config.options.metrics_dsn
    if not options.enabled:
        return
    dsns: dict[int, str] = {}
    for work in works:
        try:
            if not qualifies(work, options):
                continue
            if work.project_id not in dsns:
                dsns[work.project_id] = project_dsn(ctx.reference, work.project_id)
            if dsns[work.project_id]:
                work.profile["options"] = {"dsn": dsns[work.project_id]}
        except Exception as error:  # Sentry swallows any error here; the profile goes on without a DSN.
            logger.warning("no metrics DSN for project %s: %s", work.project_id, type(error).__name__)


def qualifies(work: ProfileWork, options: MetricsDsnOptions) -> bool:
    """Late [A]'s condition: not a sample v2 chunk, allowed or rolled out, project not denied."""
    if work.profile.get("version") == "2":
        return False
    rolled_out = work.organization_id in options.allowed_org_ids or rollout_draw(work.profile) < options.rollout_rate
    return rolled_out and work.project_id not in options.denied_project_ids


def rollout_draw(profile: dict[str, Any]) -> float:
    """A number in [0, 1) standing in for Sentry's `random()`.

    Drawn from the profile's id so that re-running a day attaches the DSN to the same profiles.
    """
    digest = hashlib.sha256(str(get_event_id(profile)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def project_dsn(reference: ReferenceData, project_id: int) -> str:
    """The project's public DSN, or "" when the reference data lacks a key or a usable endpoint."""
    project = reference.project(project_id)
    public_key, endpoint = project.get("dsn_public_key"), project.get("dsn_endpoint")
    if not isinstance(public_key, str) or not public_key or not isinstance(endpoint, str):
        return ""
    return build_dsn(public_key, endpoint, project_id)


def build_dsn(public_key: str, endpoint: str, project_id: int) -> str:
    """`{scheme}://{public_key}@{host}{path}/{project_id}`, or "" if the endpoint has no scheme or host."""
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.hostname:
        return ""
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return f"{parts.scheme}://{public_key}@{host}{parts.path.rstrip('/')}/{project_id}"


def drop_metrics_dsn(profile: dict[str, Any]) -> bool:
    """Remove the DSN once vroom has had it (vroom never stores `options` either); whether there was one."""
    options = profile.get("options")
    if not (isinstance(options, dict) and "dsn" in options):
        return False
    del options["dsn"]
    if not options:
        del profile["options"]
    return True


def redact_dsn(text: str, profile: dict[str, Any]) -> str:
    """`text` with the public key of the profile's metrics DSN, if it has one, replaced."""
    options = profile.get("options")
    dsn = options.get("dsn") if isinstance(options, dict) else None
    if not isinstance(dsn, str) or not dsn:
        return text
    key = urlsplit(dsn).username
    return text.replace(dsn, REDACTED).replace(key, REDACTED) if key else text.replace(dsn, REDACTED)
