"""Fuzzing the partition function: >= 10,000 broken real-shaped messages over every format.

Each case is a message of one generator kind (or the shipped real ingest message) with one to three values
changed anywhere (`synthetic/mutations.py`), followed by a clean message of its kind, run through
the whole partition function (embedded symbolication and vroom, every stage, the rows, their Arrow
encoding). An *escape* is a case where the function raised or a message did not land exactly once in
`profiles`, `quarantine` or the dropped count (target 0). *Unexpected* counts the cases the fence around
each profile caught (quarantined as unexpected instead of by a stage's own rules): each is a message that
would have failed its Spark task without the fence; their most frequent errors are listed.

    .venv/bin/python benchmarks/fuzz_profiles.py [--cases 10000] [--seed 1]

Exit status 1 when there is any escape.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synthetic.mutations import CASE_KINDS, Case, cases, fuzz_context, kind_format, run_case  # noqa: E402


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, spread evenly over the kinds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    per_kind = -(-args.cases // len(CASE_KINDS))
    ran, escapes, unexpected = Counter(), Counter(), Counter()
    escape_examples: dict[str, str] = {}
    unexpected_errors: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as workdir:
        ctx = fuzz_context(Path(workdir), ROOT / "conf" / "reference.json")
        started = time.perf_counter()
        for kind in CASE_KINDS:

            @seed(args.seed)
            @settings(
                max_examples=per_kind,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(cases((kind,)))
            def fuzz(case: Case) -> None:
                verdict = run_case(case, ctx)
                ran[case.kind] += 1
                if verdict.escape is not None:
                    escapes[case.kind] += 1
                    escape_examples.setdefault(case.kind, f"{case.mutations}: {verdict.escape}")
                if verdict.unexpected:
                    unexpected[case.kind] += 1
                    unexpected_errors.update(f"{case.kind}: {error}" for error in verdict.unexpected)

            fuzz()
        seconds = time.perf_counter() - started
    print(f"{sum(ran.values())} cases in {seconds:.0f}s (seed {args.seed})")
    print(f"{'kind':<28} {'format':<14} {'cases':>6} {'escapes':>8} {'unexpected':>11}")
    for kind in CASE_KINDS:
        print(f"{kind:<28} {kind_format(kind):<14} {ran[kind]:>6} {escapes[kind]:>8} {unexpected[kind]:>11}")
    by_format: dict[str, list[int]] = {}
    for kind in CASE_KINDS:
        totals = by_format.setdefault(kind_format(kind), [0, 0, 0])
        totals[0] += ran[kind]
        totals[1] += escapes[kind]
        totals[2] += unexpected[kind]
    print("per format:")
    for fmt, (count, escaped, caught) in by_format.items():
        print(f"  {fmt:<14} cases {count:>6}  escapes {escaped:>4}  unexpected {caught:>4}")
    for kind, example in escape_examples.items():
        print(f"escape ({kind}): {example}")
    if unexpected_errors:
        print("most frequent unexpected failures (caught by the fence):")
        for error, count in unexpected_errors.most_common(8):
            print(f"  {count:>5}  {error}")
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
