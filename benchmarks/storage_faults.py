"""A day on a loopback S3 server reached through a proxy that injects storage faults: attempts, time, equal tables.

    python benchmarks/storage_faults.py --profiles 5000 --rates 5/3 10/5 20/10

The day's input, warehouse and profile blobs are all on the S3 server (moto, in this process); every client
of the job (s3a, pyarrow, boto3) reaches it through the fault-injecting proxy of the tests
(`tests/servers/faulty_proxy.py`). A fault-free run through the proxy comes first; then, for each rate
`RESET/LOST[/THROTTLE]` (percent of new connections reset, of answers lost after the server acted, of requests
answered 503 SlowDown), the job is run into a warehouse of its own until it exits 0 (at most `--max-runs`
runs). Printed per rate: the faults injected, the runs needed, the time against the fault-free run, and whether
every table and blob equals the fault-free run's. Targets: equal tables at every rate up to 20/10, one run up to
5/3, under 1.5x the fault-free time at 5/3.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from job_cli import run_job  # noqa: E402
from s3_day import s3_job_config, upload_day  # noqa: E402
from servers.faulty_proxy import FaultRates, FaultyProxy, running_faulty_proxy  # noqa: E402
from servers.s3 import S3Server, running_s3_server  # noqa: E402
from warehouse_state import s3_state  # noqa: E402

DAY = date(2026, 11, 24)


def parse_rate(text: str) -> FaultRates:
    reset, lost, *throttle = (float(part) / 100 for part in text.split("/"))
    return FaultRates(reset=reset, lost=lost, throttle=throttle[0] if throttle else 0.0)


def run(s3: S3Server, proxy: FaultyProxy, root: Path, name: str, max_runs: int) -> tuple[int, float]:
    """The job into warehouse `name` until it exits 0 (or `max_runs`); returns (runs, seconds)."""
    config = root / f"{name}.toml"
    config.write_text(s3_job_config(proxy.endpoint, name))
    started = time.monotonic()
    for attempt in range(1, max_runs + 1):
        arguments = ("--config", str(config), "--date", str(DAY), "--run-id", f"{name}-{attempt}")
        job = run_job(*arguments, extra_env=s3.environment)
        if job.returncode == 0:
            return attempt, time.monotonic() - started
        print(f"  {name} run {attempt}: exit {job.returncode}: {job.stderr.strip().splitlines()[-1:]}", flush=True)
    return max_runs + 1, time.monotonic() - started


def differing(found: dict[str, object], expected: dict[str, object]) -> list[str]:
    """The tables (and `blobs`) whose content differs from the fault-free run's."""
    return [
        name
        for name, rows in expected.items()
        if not (rows.equals(found[name]) if isinstance(rows, pd.DataFrame) else rows == found[name])
    ]


def main(args: argparse.Namespace) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the S3 server's line per request
    with tempfile.TemporaryDirectory() as temporary, running_s3_server() as s3:
        root = Path(temporary)
        size = upload_day(s3, root, DAY, args.profiles, args.objects)
        with running_faulty_proxy(s3.endpoint, args.seed) as proxy:
            print(f"{args.profiles} profiles, {size / 1e6:.1f} MB in {args.objects} objects; seed {proxy.seed}")
            runs, clean_seconds = run(s3, proxy, root, "clean", args.max_runs)
            expected = s3_state(s3, "s3://lake/clean", "blobs", "clean")
            print(f"fault-free: {runs} run(s), {clean_seconds:.1f} s, {len(expected['blobs'])} blobs", flush=True)
            print("reset% lost% throttle% | requests resets lost throttled | runs | seconds | x fault-free | equal")
            for text in args.rates:
                rates = parse_rate(text)
                name = "faults-" + text.replace("/", "-").replace(".", "_")
                counts = proxy.set_rates(rates)
                runs, seconds = run(s3, proxy, root, name, args.max_runs)
                proxy.set_rates(FaultRates())
                finished = runs <= args.max_runs
                differ = differing(s3_state(s3, f"s3://lake/{name}", "blobs", name), expected) if finished else ["all"]
                print(
                    f"{rates.reset:6.0%} {rates.lost:5.0%} {rates.throttle:9.0%} | {counts.requests:8d} "
                    f"{counts.resets:6d} {counts.lost:4d} {counts.throttled:9d} | {runs:4d} | {seconds:7.1f} | "
                    f"{seconds / clean_seconds:12.2f} | {'yes' if not differ else 'no: ' + ', '.join(differ)}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=8)
    parser.add_argument("--rates", nargs="+", default=["5/3", "10/5", "20/10"], help="RESET/LOST[/THROTTLE] in %%")
    parser.add_argument("--max-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    sys.exit(main(parser.parse_args()))
