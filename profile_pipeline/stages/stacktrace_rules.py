"""Stack-trace rules (+app/-app) from project grouping enhancements (SPEC Part II §4.10).

A project's rules come from the reference data (`stack_trace_rules`), in Sentry's grouping-enhancements
syntax, one rule per line: matchers then actions, e.g. `stack.module:com.example.* +app`. Profiles keep
only rules whose matchers are all frame matchers (`stack.abs_path`, `stack.module`, `stack.function`,
`stack.package` or their short aliases) and only their `+app`/`-app` actions; every matching rule sets
`in_app` in order, so the last match wins. Any error leaves the profile as it was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import ProfileWork

logger = logging.getLogger(__name__)

# Matcher names (with their short aliases) and the frame field each one reads.
_FIELDS = {
    "stack.abs_path": "path",
    "path": "path",
    "stack.module": "module",
    "module": "module",
    "stack.function": "function",
    "function": "function",
    "stack.package": "package",
    "package": "package",
}
_TOKEN = re.compile(r'\s*(?:(?P<matcher>!?[\w.]+:(?:"(?:[^"\\]|\\.)*"|\S+))|(?P<action>\S+))')
_APP_ACTIONS = {"+app": True, "-app": False}


@dataclass(frozen=True)
class Matcher:
    field: str  # path | module | function | package
    pattern: re.Pattern[str]
    negated: bool

    def matches(self, frame: dict[str, Any]) -> bool:
        value = frame.get(self.field)
        if not isinstance(value, str):
            return self.negated
        if self.field in ("path", "package"):
            return bool(_path_like_match(self.pattern, value)) != self.negated
        return bool(self.pattern.fullmatch(value)) != self.negated


@dataclass(frozen=True)
class Rule:
    matchers: tuple[Matcher, ...]
    in_app: bool

    def matches(self, frame: dict[str, Any]) -> bool:
        return all(matcher.matches(frame) for matcher in self.matchers)


def apply_stacktrace_rules_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    if not ctx.config.options.stack_trace_rules_enabled:
        return
    for work in works:
        text = ctx.reference.project(work.project_id).get("stack_trace_rules")
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            apply_rules(work.profile, parse_rules(text))
        except Exception as error:  # as in Sentry: the profile goes on without the rules
            logger.warning("stack-trace rules not applied to project %s: %r", work.project_id, error)


@lru_cache(maxsize=256)
def parse_rules(text: str) -> tuple[Rule, ...]:
    """The profiling rules of an enhancements text; lines that are not such rules are left out."""
    rules = []
    for line in text.splitlines():
        rule = _parse_line(line.split("#", 1)[0].strip())
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _parse_line(line: str) -> Rule | None:
    matchers: list[Matcher] = []
    in_app: bool | None = None
    for token in _TOKEN.finditer(line):
        if token.group("matcher"):
            matcher = _parse_matcher(token.group("matcher"))
            if matcher is None:
                return None
            matchers.append(matcher)
        elif token.group("action") in _APP_ACTIONS:
            in_app = _APP_ACTIONS[token.group("action")]
        elif any(mark in token.group("action") for mark in "[]|"):
            # Caller/callee context (`[ ... ] |`, `| [ ... ]`) has no meaning for a profile's frame list.
            return None
    if not matchers or in_app is None:
        return None
    return Rule(tuple(matchers), in_app)


def _parse_matcher(token: str) -> Matcher | None:
    negated = token.startswith("!")
    name, _, value = token.lstrip("!").partition(":")
    field = _FIELDS.get(name)
    if field is None:
        return None
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    path_like = field in ("path", "package")
    pattern = _glob_to_regex(value.lower().replace("\\", "/") if path_like else value, path_like)
    return Matcher(field, pattern, negated)


def _glob_to_regex(glob: str, path_like: bool) -> re.Pattern[str]:
    """Sentry's glob: `*` and `?` stay inside a path segment for paths (`**` crosses them), not elsewhere."""
    parts = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*" if path_like else ".*")
        elif char == "?":
            parts.append("[^/]" if path_like else ".")
        elif char == "[" and "]" in glob[index + 1 :]:
            end = glob.index("]", index + 1)
            body = glob[index + 1 : end]
            parts.append("[^" + re.escape(body[1:]) + "]" if body.startswith("!") else "[" + re.escape(body) + "]")
            index = end + 1
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _path_like_match(pattern: re.Pattern[str], value: str) -> bool:
    """Paths match case-insensitively with `\\` as `/`; a relative path also matches as if rooted."""
    normalized = value.lower().replace("\\", "/")
    if pattern.fullmatch(normalized):
        return True
    return not normalized.startswith("/") and bool(pattern.fullmatch("/" + normalized))


def apply_rules(profile: dict[str, Any], rules: tuple[Rule, ...]) -> None:
    """Set `in_app` on the frames (or android methods) that the rules match, in rule order."""
    if not rules:
        return
    for frame, view in _frames(profile):
        for rule in rules:
            if rule.matches(view):
                frame["in_app"] = rule.in_app


def _frames(profile: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each frame with the fields the matchers read; android methods are seen through their aliases."""
    body = profile.get("profile") or {}
    if profile.get("platform") == "android" and "methods" in body:
        for method in body["methods"]:
            view = {
                "function": method.get("name"),
                "path": method.get("source_file"),
                "module": method.get("class_name"),
                "package": method.get("package"),
            }
            yield method, view
        return
    for frame in body.get("frames") or ():
        view = {
            "function": frame.get("function"),
            "path": frame.get("abs_path") or frame.get("filename"),
            "module": frame.get("module"),
            "package": frame.get("package"),
        }
        yield frame, view
