"""Serve a symbol store to a Symbolicator as a `sentry` source (JavaScript artifacts, ProGuard mappings).

python jobs/serve_symbol_store.py --store URI [--host 127.0.0.1] [--port 3030] [--token T]

Prints the source definition to put first in `symbolication.sources`; native debug files come from a
`filesystem` (or `s3`) source over the same store.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from profile_pipeline.adapters.symbol_store_api import SymbolStoreApi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="symbol store URI (path, file:// or s3a://)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=3030, help="port to listen on (0: any free port)")
    parser.add_argument("--token", help="bearer token the calls must carry")
    args = parser.parse_args(argv)
    api = SymbolStoreApi(args.store, args.token, args.host, args.port)
    print(json.dumps(api.source()), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        api.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
