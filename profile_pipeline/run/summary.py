"""The human summary printed after each day (the same figures are in `job_runs.summary` as JSON)."""

from __future__ import annotations

from profile_pipeline.run.runner import DayResult


def format_day(result: DayResult) -> str:
    if result.status == "skipped":
        return f"{result.day}: already finished (job_runs); skipped (use --force to reprocess)"
    if result.status != "finished":
        return f"{result.day}: {result.status}: {result.error}"
    counts = result.counts
    messages = counts["profiles"] + counts["quarantine"] + counts["dropped"] + counts.get("erased", 0)
    frames, resolved = counts.get("frames_total", 0), counts.get("frames_symbolicated", 0)
    coverage = f"{resolved / frames:.1%}" if frames else "n/a"
    lines = [
        f"{result.day}: finished in {result.seconds:.1f}s",
        f"  messages in {messages:>8}   profiles out {counts['profiles']:>8}   quarantined {counts['quarantine']:>6}"
        f"   dropped by sampling {counts['dropped']:>6}",
        f"  unexpected failures {counts.get('unexpected_failures', 0)} (faults of the job, quarantined apart from"
        " bad input)",
        f"  rows: outcomes {counts['outcomes']}, functions {counts['functions']}, occurrences {counts['occurrences']},"
        f" chunks {counts['chunks']}",
        f"  symbolication: {resolved} of {frames} frames ({coverage})",
        "  outcomes:",
    ]
    if counts.get("erased"):
        lines.insert(2, f"  dropped as erased (maintenance job's erasures) {counts['erased']}")
    for row in counts["outcomes_by_reason"]:
        reason = row["reason"] or "-"
        lines.append(
            f"    {row['outcome_name']:<9} {row['category_name']:<17} {reason:<36} rows {row['rows']:>7}"
            f"  quantity {row['quantity']:>10}"
        )
    if counts["quarantine_by_kind"]:
        lines.append("  quarantine:")
        lines.extend(f"    {kind:<40} {rows:>7}" for kind, rows in counts["quarantine_by_kind"].items())
    return "\n".join(lines)
