"""The symbol store tool: fixtures sorted into the unified layout, read back by the embedded backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from servers.symbol_profiles import CRASH_ID, FIXTURES, HELLO_ID, LINUX_CODE_ID

from profile_pipeline.adapters import symbol_store
from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.adapters.symsorter import sort_files

ROOT = Path(__file__).resolve().parent.parent


def test_command_sorts_debug_files_mappings_and_source_maps(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    result = subprocess.run(
        [
            sys.executable,
            "jobs/build_symbol_store.py",
            str(FIXTURES / "debug-files"),
            str(FIXTURES / "proguard"),
            "--store",
            store,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.count(" -> ") == 6
    expected = [
        symbol_store.object_uri(store, HELLO_ID, "debuginfo"),
        symbol_store.object_uri(store, CRASH_ID, "debuginfo"),
        symbol_store.object_uri(store, LINUX_CODE_ID, "debuginfo"),
        symbol_store.object_uri(store, "a48ca62b-df26-544e-a8b9-2a5ce210d1d5", "proguard"),
        symbol_store.object_uri(store, "d748e578-b3d1-5be5-b0e5-a42e8c9bf8e0", "proguard"),
        symbol_store.object_uri(store, "df272ecb-c8b6-53f3-9803-fdd0d9342ebd", "proguard"),
    ]
    assert all(Path(uri).is_file() for uri in expected)


def test_source_map_with_debug_id_goes_under_its_id(tmp_path: Path) -> None:
    bundle = tmp_path / "in" / "bundle.js"
    bundle.parent.mkdir()
    debug_id = "6c9e6a3c-1f5d-4f8e-9d6e-2b9b2a8c1e10"
    source = (
        (FIXTURES / "sourcemaps" / "embedded.js")
        .read_bytes()
        .replace(b"//# sourceMappingURL", f"//# debugId={debug_id}\n//# sourceMappingURL".encode())
    )
    bundle.write_bytes(source)
    (tmp_path / "in" / "bundle.js.map").write_bytes((FIXTURES / "sourcemaps" / "embedded.js.map").read_bytes())
    store = str(tmp_path / "store")
    placed, skipped = sort_files([str(bundle.parent)], store)
    assert skipped == [] and {p.uri for p in placed} == {
        symbol_store.object_uri(store, debug_id, "minified_source"),
        symbol_store.object_uri(store, debug_id, "sourcemap"),
    }
    backend = EmbeddedBackend(store, 4, 1 << 20)
    answer = backend.js(
        {
            "modules": [{"type": "sourcemap", "code_file": "app:///bundle.js", "debug_id": debug_id}],
            "stacktraces": [{"frames": [{"abs_path": "app:///bundle.js", "lineno": 1, "colno": 39}]}],
        }
    )
    frame = answer["stacktraces"][0]["frames"][0]
    assert (frame["function"], frame["lineno"], frame["data"]["resolved_with"]) == ("add", 3, "debug-id")


def test_source_map_without_debug_id_needs_a_release(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    placed, skipped = sort_files([str(FIXTURES / "sourcemaps")], store)
    assert placed == [] and "needs --release" in skipped[0]
    placed, _ = sort_files([str(FIXTURES / "sourcemaps")], store, release="r1", dist="7", url_prefix="app:///")
    assert {p.uri for p in placed} == {
        symbol_store.release_artifact_uri(store, "r1", "7", "app:///embedded.js"),
        symbol_store.release_artifact_uri(store, "r1", "7", "app:///embedded.js") + ".map",
    }


def test_files_that_are_nothing_known_are_skipped(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    placed, skipped = sort_files([str(junk)], str(tmp_path / "store"))
    assert placed == [] and "not a debug file" in skipped[0]
