"""Sort debug files, ProGuard mappings and source maps into a symbol store.

python jobs/build_symbol_store.py SRC... --store URI [--release R] [--dist D] [--url-prefix app:///]
"""

from __future__ import annotations

import argparse
import sys

from profile_pipeline.adapters.symsorter import sort_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="files or directories to sort")
    parser.add_argument("--store", required=True, help="symbol store URI (path, file:// or s3a://)")
    parser.add_argument("--release", help="release of source maps that carry no debug id")
    parser.add_argument("--dist", help="distribution of those source maps")
    parser.add_argument("--url-prefix", default="~/", help="URL prefix of those bundles (e.g. app:///)")
    args = parser.parse_args(argv)
    placed, skipped = sort_files(args.sources, args.store, args.release, args.dist, args.url_prefix)
    for entry in placed:
        print(f"{entry.source} -> {entry.uri}")
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    return 0 if placed else 1


if __name__ == "__main__":
    sys.exit(main())
