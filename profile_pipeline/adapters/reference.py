"""Per-organization and per-project reference data (SPEC §I.9): retention, DSN keys, stack-trace rules.

The file is JSON:

    {"organizations": {"1": {"retention_days": 90}},
     "projects": {"2": {"retention_days": 30, "dsn_public_key": "abc", "dsn_endpoint": "https://o1.ingest.example.com",
                        "stack_trace_rules": "stack.module:foo.* -app", "has_profiles": true}}}

Every key is optional. Secrets (DSN keys) are only ever used to build the DSN handed to the profile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.adapters.storage import read_bytes
from profile_pipeline.config import ConfigError


@dataclass(frozen=True)
class ReferenceData:
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Erased by the maintenance job (its `erasures` table): their messages are dropped, never stored again.
    erased_organizations: frozenset[int] = frozenset()
    erased_projects: frozenset[int] = frozenset()

    def organization(self, organization_id: int) -> dict[str, Any]:
        return self.organizations.get(organization_id, {})

    def project(self, project_id: int) -> dict[str, Any]:
        return self.projects.get(project_id, {})

    def is_erased(self, organization_id: int | None, project_id: int | None) -> bool:
        return organization_id in self.erased_organizations or project_id in self.erased_projects

    def retention_days(self, organization_id: int, project_id: int) -> int | None:
        """The reference table's retention for a profile, project first, then organization."""
        for entry in (self.project(project_id), self.organization(organization_id)):
            value = entry.get("retention_days")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return None


def load_reference(uri: str) -> ReferenceData:
    """Load the reference file named in the configuration; no file means no reference data."""
    if not uri:
        return ReferenceData()
    try:
        document = json.loads(read_bytes(uri))
    except (OSError, ValueError) as error:
        if is_infrastructure_fault(error):
            raise  # the store's fault, not the configuration's: the run fails (exit 1) and is run again later
        raise ConfigError(f"cannot read reference data {uri}: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"reference data {uri} must be a JSON object")
    try:
        return ReferenceData(
            organizations={int(k): dict(v) for k, v in document.get("organizations", {}).items()},
            projects={int(k): dict(v) for k, v in document.get("projects", {}).items()},
        )
    except (TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"reference data {uri} is malformed: {error}") from None
