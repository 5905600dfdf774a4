"""The documentation's relative links resolve, and the README stays a short guide.

Every relative Markdown link `[text](target)` in README.md, ARCHITECTURE.md and docs/*.md must name a
file that exists (relative to the linking file), and a `#fragment` must be the anchor of a heading of the
target file, by GitHub's rule. Links to http(s) and mailto, and links inside fenced code blocks or inline
code, are not checked. Pure Python: no Spark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "ARCHITECTURE.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 200

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) or [text](target "title"); the text may hold inline code but no brackets.
INLINE_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
EXTERNAL = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match[1]
                continue
            lines.append((number, line))
        elif match and match[1][0] == fence[0] and len(match[1]) >= len(fence) and not line.strip()[len(match[1]) :]:
            fence = None
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text, lowercase, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = INLINE_CODE.sub(lambda m: m[2].strip(), text)
    text = re.sub(r"(\*\*|__|\*)", "", text)  # emphasis markers
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered -1, -2, ... as GitHub does."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in prose_lines(path.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match[2])
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path: Path) -> list[tuple[int, str]]:
    """The link targets of a Markdown file with their line numbers, code left out."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(path.read_text()):
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            found.append((number, definition[1]))
            continue
        without_code = INLINE_CODE.sub("", line)
        found.extend((number, match[2]) for match in INLINE_LINK.finditer(without_code))
    return found


def broken_links(path: Path) -> list[str]:
    problems: list[str] = []
    name = path.relative_to(ROOT).as_posix()
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        where = f"{name}:{number}: ({target})"
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not target:
            problems.append(f"{where}: empty link target")
        elif not linked.exists():
            problems.append(f"{where}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif fragment and linked.suffix != ".md":
            problems.append(f"{where}: a #fragment on a file that is not Markdown")
        elif fragment and fragment not in anchors(linked):
            problems.append(f"{where}: no heading with the anchor #{fragment} in {linked.relative_to(ROOT)}")
    return problems


def test_the_documents_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in DOCS}
    assert {"README.md", "ARCHITECTURE.md"} <= names
    assert any(name.startswith("docs/") for name in names), "no docs/*.md found"


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path: Path):
    problems = broken_links(path)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_readme_is_short():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; at most {README_MAX_LINES} (move detail to docs/)"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Object storage (`s3a://`)", "object-storage-s3a"),
        ("One run per day: day locks", "one-run-per-day-day-locks"),
        ("2026-11-27: Spark 4.2 and Delta 4.4", "2026-11-27-spark-42-and-delta-44"),
        ("Figures of `benchmarks/spark_path.py`", "figures-of-benchmarksspark_pathpy"),
        ("The JVM's JIT compiler", "the-jvms-jit-compiler"),
        ("What **follows** [Sentry](https://sentry.io) where", "what-follows-sentry-where"),
        ("Backfills and re-runs", "backfills-and-re-runs"),
    ],
)
def test_slug_follows_githubs_rule(heading: str, anchor: str):
    assert slug(heading) == anchor


def test_duplicate_headings_are_numbered(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("# Notes\n\n## Notes\n\n```\n# Notes\n```\n\n### Notes\n")
    assert anchors(page) == {"notes", "notes-1", "notes-2"}


def test_links_in_code_are_ignored(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("[a](missing.md) `[b](in-code.md)`\n\n```md\n[c](in-fence.md)\n```\n[d](https://x.org/y)\n")
    assert [target for _, target in links(page)] == ["missing.md", "https://x.org/y"]
