"""A symbol store served as a Symbolicator `sentry` source: the lookup calls Symbolicator makes of Sentry.

Symbolicator finds JavaScript artifacts and ProGuard mappings only through a `sentry` source (Sentry's
artifact-lookup and debug-file API). This server answers those calls from a symbol store, so that a
Symbolicator without a Sentry instance can symbolicate JavaScript and deobfuscate JVM frames:

* `GET <url>?debug_id=<uuid>`: the ProGuard mapping stored under that uuid, as a debug-file list (or `[]`);
* `GET <url>?release=<release>[&dist=<dist>]&url=...`: every file of the release, as individual artifacts
  with `abs_path` `~/<path>` (Symbolicator picks the ones its frames need);
* `GET <url>?id=<id>`: the bytes of a listed file.

Native debug files are not listed: Symbolicator reads them from a `filesystem` (or `s3`, `http`) source
over the same store. With a token, every call must carry `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pyarrow import fs as pafs

from profile_pipeline.adapters import storage, symbol_store
from profile_pipeline.adapters.infrastructure import is_infrastructure_fault

_PROGUARD_PREFIX = "pg-"


class SymbolStoreApi:
    """The lookup API over `store` on `host:port` (port 0: any free port); a context manager."""

    def __init__(self, store: str, token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self.token = token
        self._downloads: dict[str, str] = {}  # listed artifact id ⇒ its store URI
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def source(self, source_id: str = "sentry:project") -> dict[str, Any]:
        """The Symbolicator source definition of this server."""
        source = {"type": "sentry", "id": source_id, "url": self.url}
        if self.token:
            source["token"] = self.token
        return source

    def __enter__(self) -> SymbolStoreApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    # --- the calls ----------------------------------------------------------------------------

    def answer(self, query: dict[str, str]) -> tuple[int, bytes, str]:
        """(status, body, content type) for one call."""
        if "id" in query:
            data = self._download(query["id"])
            return (200, data, "application/octet-stream") if data is not None else (404, b"", "text/plain")
        if "release" in query:
            listing = self._release_files(query["release"], query.get("dist"))
        elif "debug_id" in query:
            listing = self._proguard(query["debug_id"])
        else:
            return 400, b'{"detail": "debug_id, release or id required"}', "application/json"
        return 200, json.dumps(listing).encode(), "application/json"

    def _proguard(self, debug_id: str) -> list[dict[str, Any]]:
        try:
            normalized = symbol_store.normalize_id(debug_id)
            uri = symbol_store.object_uri(self.store, normalized, "proguard")
        except symbol_store.UnsafeIdentifier:
            return []
        if not storage.exists(uri):
            return []
        file_id = _PROGUARD_PREFIX + normalized
        with self._lock:
            self._downloads[file_id] = uri
        return [
            {
                "id": file_id,
                "uuid": debug_id,
                "debugId": debug_id,
                "symbolType": "proguard",
                "objectName": "proguard-mapping",
                "cpuName": "any",
                "size": 0,
                "sha1": "",
                "dateCreated": datetime.now(UTC).isoformat(),
                "headers": {},
                "data": {"features": ["mapping"]},
            }
        ]

    def _release_files(self, release: str, dist: str | None) -> list[dict[str, Any]]:
        try:
            directory = symbol_store.release_uri(self.store, release, dist)
        except symbol_store.UnsafeIdentifier:
            return []
        listing = []
        for path in _files_under(directory):
            file_id = symbol_store.release_artifact_id(release, dist, path)
            with self._lock:
                self._downloads[file_id] = storage.join(directory, path)
            listing.append(
                {
                    "type": "file",
                    "id": file_id,
                    "url": f"{self.url}?id={file_id}",
                    "abs_path": path if path.startswith("~/") else f"~/{path}",
                    "resolved_with": "release",
                }
            )
        return listing

    def _download(self, file_id: str) -> bytes | None:
        with self._lock:
            uri = self._downloads.get(file_id)
        if uri is None and file_id.startswith(_PROGUARD_PREFIX):
            self._proguard(file_id[len(_PROGUARD_PREFIX) :])
            with self._lock:
                uri = self._downloads.get(file_id)
        if uri is None or not storage.exists(uri):
            return None
        return storage.read_bytes(uri)


def _files_under(directory: str) -> list[str]:
    """Paths of the files under a store directory, relative to it, sorted."""
    filesystem, path = storage.resolve(directory)
    try:
        infos = filesystem.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    except OSError as error:  # FileNotFoundError included
        if is_infrastructure_fault(error):
            raise
        return []
    prefix = path.rstrip("/") + "/"
    return sorted(info.path[len(prefix) :] for info in infos if info.type == pafs.FileType.File)


def _handler(api: SymbolStoreApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                status, body, content_type = 401, b'{"detail": "authentication required"}', "application/json"
            else:
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                status, body, content_type = api.answer(query)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
