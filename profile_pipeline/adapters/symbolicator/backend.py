"""The worker's Symbolicator: in-process (`embedded`) or a Symbolicator service (`client`), chosen by the
configuration and kept once per worker and project."""

from __future__ import annotations

from profile_pipeline.adapters.symbolicator.protocol import SymbolicationBackend
from profile_pipeline.adapters.worker_cache import worker_singleton
from profile_pipeline.config import SymbolicationConfig


def get_backend(config: SymbolicationConfig, project_id: int) -> SymbolicationBackend:
    """The worker's backend for a project (Symbolicator scopes its caches per project)."""
    if config.mode == "embedded":
        from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend

        key = ("symbolication-embedded", config.symbols, config.cache_entries, config.cache_bytes)
        return worker_singleton(key, lambda: EmbeddedBackend(config.symbols, config.cache_entries, config.cache_bytes))
    if config.mode == "symbolicator":
        from profile_pipeline.adapters.symbolicator.client import SymbolicatorBackend

        # The config holds lists of dicts (sources), so its repr stands in for a hash key.
        key = ("symbolication-symbolicator", repr(config), project_id)
        return worker_singleton(key, lambda: SymbolicatorBackend(config, project_id))
    raise ValueError(f"symbolication mode {config.mode!r} has no backend")
