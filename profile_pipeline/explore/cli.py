"""The command line of `jobs/export_profiles.py`: a profile, an aggregate or a comparison as a standard file.

Exit status as the processing job's: 0 written; 1 failed at run time (nothing selected among them); 2 wrong
arguments or configuration (no tables at the warehouse). Every error is one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson
from deltalake.exceptions import TableNotFoundError

from profile_pipeline.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OneLineParser, iso_day
from profile_pipeline.explore.aggregate import flame_graph
from profile_pipeline.explore.compare import compare
from profile_pipeline.explore.exports.collapsed import to_collapsed, to_collapsed_diff
from profile_pipeline.explore.exports.pprof import to_pprof, to_pprof_diff
from profile_pipeline.explore.exports.speedscope import to_speedscope, to_speedscope_comparison
from profile_pipeline.explore.selection import NothingSelected, Selection

FORMATS = ("speedscope", "pprof", "collapsed")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="export_profiles.py",
        description="Export one profile, the flame graph of a selection, or a comparison of two selections.",
    )
    parser.add_argument("--warehouse", required=True, help="where the Delta tables live (directory, s3://, s3a://)")
    which = parser.add_argument_group("selection (each flag narrows it)")
    which.add_argument("--organization", type=int, help="organization id")
    which.add_argument("--project", type=int, help="project id")
    which.add_argument("--start", type=iso_day, help="first day (inclusive), with --end")
    which.add_argument("--end", type=iso_day, help="last day (inclusive), with --start")
    which.add_argument("--platform", help="profile platform, e.g. python, cocoa, android")
    which.add_argument("--release", help="release, e.g. backend@2.20.0")
    which.add_argument("--environment", help="environment, e.g. production")
    which.add_argument("--transaction", help="transaction name (transaction profiles only)")
    which.add_argument("--thread", help="thread id whose stacks are read (default: active or main thread)")
    which.add_argument("--profile-id", help="one profile (its event id) or chunk (its chunk id)")
    other = parser.add_argument_group("comparison (the selection is before, this is after)")
    other.add_argument("--compare-release", help="after: the selection with this release")
    other.add_argument("--compare-start", type=iso_day, help="after: the selection over these days, with --compare-end")
    other.add_argument("--compare-end", type=iso_day, help="last day of the other side (inclusive)")
    out = parser.add_argument_group("output")
    out.add_argument("--format", required=True, choices=FORMATS, help="file format")
    out.add_argument("--output", required=True, help="file to write")
    return parser


def _days_pair(parser: argparse.ArgumentParser, start: object, end: object, names: str) -> None:
    if (start is None) != (end is None):
        parser.error(f"{names} go together")
    if start is not None and end is not None and start > end:
        parser.error(f"{names}: the first day is after the last")


def _selections(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Selection, Selection | None]:
    _days_pair(parser, args.start, args.end, "--start and --end")
    _days_pair(parser, args.compare_start, args.compare_end, "--compare-start and --compare-end")
    selection = Selection(
        organization_id=args.organization,
        project_id=args.project,
        start=args.start,
        end=args.end,
        platform=args.platform,
        release=args.release,
        environment=args.environment,
        transaction=args.transaction,
        thread=args.thread,
        profile_id=args.profile_id,
    )
    if args.compare_release is not None and args.compare_start is not None:
        parser.error("compare with --compare-release or with --compare-start/--compare-end, not both")
    if args.compare_release is not None:
        other = selection.but(release=args.compare_release)
    elif args.compare_start is not None:
        other = selection.but(start=args.compare_start, end=args.compare_end)
    else:
        return selection, None
    if args.profile_id is not None:
        parser.error("--profile-id selects one profile; a comparison needs two selections")
    return selection, other


def export(warehouse: str, fmt: str, selection: Selection, other: Selection | None) -> tuple[bytes, str]:
    """The file's bytes and a line that says what it holds."""
    before = flame_graph(warehouse, selection)
    name = selection.describe()
    if other is None:
        if fmt == "speedscope":
            body = orjson.dumps(to_speedscope(before, name))
        else:
            body = to_pprof(before) if fmt == "pprof" else to_collapsed(before).encode()
        return body, f"{before.profiles} profiles, {before.total_ns / 1e9:.3f} s sampled"
    after = flame_graph(warehouse, other)
    diff = compare(before, after)
    if fmt == "speedscope":
        body = orjson.dumps(to_speedscope_comparison(diff, name, other.describe()))
    else:
        body = to_pprof_diff(diff) if fmt == "pprof" else to_collapsed_diff(diff).encode()
    return body, f"{before.profiles} profiles against {after.profiles}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    selection, other = _selections(parser, args)
    try:
        body, what = export(args.warehouse, args.format, selection, other)
        Path(args.output).write_bytes(body)
    except TableNotFoundError:
        print(f"{parser.prog}: error: no profile tables at {args.warehouse}", file=sys.stderr)
        return EXIT_USAGE
    except NothingSelected as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # anything left: one line, never a traceback
        print(f"{parser.prog}: error: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {args.output}: {args.format}, {what}")
    return EXIT_OK
