"""A symbol store built from the fixtures with the project's symsorter, and profiles that use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from profile_pipeline.adapters.symsorter import sort_files

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO_ID = "502fc0a5-1ec1-3e47-9998-684fa139dca7"
CRASH_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
LINUX_DEBUG_ID = "c0bcc3f1-9827-fe65-3058-404b2831d9e6"
LINUX_CODE_ID = "f1c3bcc0279865fe3058404b2831d9e64135386c"
CRASH_INLINED = 0xDC15  # crash ← start ← main, lines 21, 25, 32
RELEASE = "rn-app@1.0+7"


def build_store(directory: Path) -> str:
    """Debug files by id; the source map under `releases/<RELEASE>/7/embedded.js`."""
    store = str(directory / "store")
    placed, _ = sort_files([str(FIXTURES / "debug-files")], store)
    assert len(placed) == 3
    sort_files([str(FIXTURES / "sourcemaps")], store, release=RELEASE, dist="7", url_prefix="app:///")
    return store


def macho(debug_id: str, image_addr: int, code_file: str = "/private/var/App.app/App", size: int = 0x20000) -> dict:
    return {
        "type": "macho",
        "code_file": code_file,
        "debug_id": debug_id,
        "image_addr": hex(image_addr),
        "image_size": size,
    }


def cocoa_profile(addresses: list[int], stacks: list[list[int]], images: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "1",
        "platform": "cocoa",
        "event_id": "7621eb0005654725b30eb063406a0e16",
        "debug_meta": {"images": images},
        "profile": {
            "frames": [{"instruction_addr": hex(addr)} for addr in addresses],
            "stacks": stacks,
            "samples": [
                {"stack_id": index, "thread_id": 1, "elapsed_since_start_ns": index} for index in range(len(stacks))
            ],
        },
    }
