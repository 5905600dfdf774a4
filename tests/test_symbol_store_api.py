"""The symbol store served as a Symbolicator `sentry` source: the lookup calls Symbolicator makes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from android_profiles import FIXTURES, SAMPLE_APP, put_mapping
from servers.symbol_profiles import RELEASE, build_store

from profile_pipeline.adapters.symbol_store import release_artifact_id
from profile_pipeline.adapters.symbol_store_api import SymbolStoreApi

TOKEN = "lookup-secret"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = build_store(tmp_path_factory.mktemp("symbols"))
    put_mapping(Path(store), SAMPLE_APP, FIXTURES / "proguard" / "sample-app.txt")
    return store


@pytest.fixture(scope="module")
def api(store: str) -> Iterator[SymbolStoreApi]:
    with SymbolStoreApi(store, TOKEN) as running:
        yield running


def get(address: str, token: str | None = TOKEN, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(address, params=params, headers=headers, timeout=10)


def test_calls_need_the_token(api: SymbolStoreApi) -> None:
    assert get(api.url, None, release=RELEASE).status_code == 401
    assert get(api.url, "wrong", release=RELEASE).status_code == 401
    assert api.source() == {"type": "sentry", "id": "sentry:project", "url": api.url, "token": TOKEN}


def test_a_release_lists_all_its_files_as_artifacts(api: SymbolStoreApi) -> None:
    listed = get(api.url, release=RELEASE, dist="7", url="app:///embedded.js").json()
    assert [(artifact["abs_path"], artifact["resolved_with"], artifact["type"]) for artifact in listed] == [
        ("~/embedded.js", "release", "file"),
        ("~/embedded.js.map", "release", "file"),
    ]
    # The id is what answers carry in `data.sourcemap_origin`; the embedded backend gives the same.
    assert listed[1]["id"] == release_artifact_id(RELEASE, "7", "embedded.js.map")
    assert get(listed[1]["url"]).content == (FIXTURES / "sourcemaps" / "embedded.js.map").read_bytes()
    assert get(api.url, release=RELEASE, dist="8").json() == []
    assert get(api.url, release="../escape").json() == []


def test_a_debug_id_lists_its_proguard_mapping(api: SymbolStoreApi) -> None:
    listed = get(api.url, debug_id=SAMPLE_APP).json()
    assert len(listed) == 1 and listed[0]["symbolType"] == "proguard" and listed[0]["uuid"] == SAMPLE_APP
    assert get(api.url, id=listed[0]["id"]).content == (FIXTURES / "proguard" / "sample-app.txt").read_bytes()
    assert get(api.url, debug_id="00000000-0000-0000-0000-000000000000").json() == []
    assert get(api.url, id="pg-00000000000000000000000000000000").status_code == 404
    assert get(api.url).status_code == 400


def test_the_command_prints_its_source_and_serves(store: str) -> None:
    command = [sys.executable, "-m", "jobs.serve_symbol_store", "--store", store, "--port", "0", "--token", TOKEN]
    with subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            source = json.loads(process.stdout.readline())
            assert source["type"] == "sentry" and source["token"] == TOKEN
            assert len(get(source["url"], debug_id=SAMPLE_APP).json()) == 1
        finally:
            process.terminate()
