"""One interface for the ways frames get symbolicated: in-process or by a Symbolicator service.

A backend takes Symbolicator request bodies (SPEC Part II §6.2) and answers with Symbolicator
response bodies (§6.3). `None` means no answer could be had (network faults, deadline passed); the
caller then records `symbolicator_error` and the profile continues unsymbolicated.
"""

from __future__ import annotations

from typing import Any, Protocol

from transforms.config import SymbolicationConfig
from transforms.worker_cache import worker_singleton

Body = dict[str, Any]


class SymbolicationBackend(Protocol):
    def native(self, request: Body) -> Body | None:
        """`POST /symbolicate`: native frames against Mach-O/ELF/... modules."""

    def js(self, request: Body) -> Body | None:
        """`POST /symbolicate-js`: JavaScript frames against source maps."""

    def jvm(self, request: Body) -> Body | None:
        """`POST /symbolicate-jvm`: JVM frames against ProGuard mappings."""


def get_backend(config: SymbolicationConfig, project_id: int) -> SymbolicationBackend:
    """The worker's backend for a project (Symbolicator scopes its caches per project)."""
    if config.mode == "embedded":
        from transforms.symbolication.embedded import EmbeddedBackend

        key = ("symbolication-embedded", config.symbols, config.cache_entries, config.cache_bytes)
        return worker_singleton(key, lambda: EmbeddedBackend(config.symbols, config.cache_entries, config.cache_bytes))
    if config.mode == "symbolicator":
        from transforms.symbolication.symbolicator_client import SymbolicatorBackend

        # The config holds lists of dicts (sources), so its repr stands in for a hash key.
        key = ("symbolication-symbolicator", repr(config), project_id)
        return worker_singleton(key, lambda: SymbolicatorBackend(config, project_id))
    raise ValueError(f"symbolication mode {config.mode!r} has no backend")
