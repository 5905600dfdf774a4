"""The symbol store that synthetic profiles resolve against: the shipped fixtures, sorted by the store tool."""

from __future__ import annotations

from profile_pipeline.adapters.symsorter import sort_files
from synthetic.catalog import FIXTURES, JS_ABS_PATH, JS_BUNDLE
from synthetic.profiles import JS_RELEASES


def write_symbol_store(store: str) -> int:
    """Sort the fixture debug files, mappings and source map (once per JS release) into `store`."""
    placed, skipped = sort_files([str(FIXTURES / "debug-files"), str(FIXTURES / "proguard")], store)
    url_prefix = JS_ABS_PATH.rsplit("/", 1)[0] + "/"
    for release, dist in JS_RELEASES:
        bundle_placed, bundle_skipped = sort_files([str(FIXTURES / JS_BUNDLE)], store, release, dist, url_prefix)
        placed += bundle_placed
        skipped += bundle_skipped
    if skipped:
        raise RuntimeError("fixtures the store tool could not place: " + "; ".join(skipped))
    return len(placed)
