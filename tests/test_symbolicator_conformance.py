"""The embedded backend against recordings of a real Symbolicator 26.8.0 (tests/data/symbolicator-26.8.0).

Every recorded request is replayed into the embedded backend over the store the recordings were made
with, and its answer compared with the recorded one frame by frame, field by field. The keys only the
real service gives (see tests/README.md) are left out of the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from servers.conformance import conformance_store, exchanges, replay

from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend, js_module


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return conformance_store(Path(tmp_path_factory.mktemp("conformance")))


@pytest.fixture(scope="module")
def backend(store: str) -> EmbeddedBackend:
    return EmbeddedBackend(store, 64, 1 << 30)


def recorded(endpoint: str) -> list[Any]:
    return [pytest.param(name, exchange, id=name) for name, exchange in exchanges(endpoint)]


@pytest.mark.parametrize(("name", "exchange"), recorded("/symbolicate"))
def test_native_answer_is_the_recorded_one(name: str, exchange: dict[str, Any], backend: Any, store: str) -> None:
    comparison = replay(backend, store, name, exchange)
    assert comparison.differences == []
    assert comparison.frames > 0 and comparison.equal == comparison.frames


@pytest.mark.parametrize(("name", "exchange"), recorded("/symbolicate-js"))
def test_js_answer_is_the_recorded_one(name: str, exchange: dict[str, Any], backend: Any, store: str) -> None:
    comparison = replay(backend, store, name, exchange)
    assert comparison.differences == []
    assert comparison.frames > 0 and comparison.equal == comparison.frames


@pytest.mark.parametrize(
    ("abs_path", "module"),
    [
        ("app:///file1.js", "file1"),
        ("https://cdn.example/static/js/app.min.js", "app"),
        ("https://cdn.example/assets/v1.2.3/vendor/lib.js?x=1", "assets/v1.2.3/vendor/lib"),
        ("/build/0123456789abcdef0123456789abcdef/src/main.js", "src/main"),
        ("app:///bundle-1a2b3c4d5e.js", "bundle"),
    ],
)
def test_js_module_from_the_path(abs_path: str, module: str) -> None:
    assert js_module(abs_path) == module


@pytest.mark.parametrize(("name", "exchange"), recorded("/symbolicate-jvm"))
def test_jvm_answer_is_the_recorded_one(name: str, exchange: dict[str, Any], backend: Any, store: str) -> None:
    comparison = replay(backend, store, name, exchange)
    assert comparison.differences == []
    assert comparison.frames > 0 and comparison.equal == comparison.frames
