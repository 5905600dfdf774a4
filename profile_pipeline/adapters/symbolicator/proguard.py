"""ProGuard/R8 mappings read and applied as Symbolicator 26.8.0 applies them (its `proguard` crate 5.10).

`symbolic` on PyPI (13.9) bundles `proguard` 5.9, whose `ProguardMapper` answers differently from the
`ProguardCache` of 5.10 that Symbolicator 26.8.0 remaps with: it keeps the request's file name where 5.10
synthesizes one from the class, it expands a frame without line to every candidate where 5.10 picks
like R8's `retrace`, and it knows neither `rewriteFrame` rules nor mappings without line ranges. This
module parses the mapping itself and follows 5.10's rules:

* a member line is `[start:end:]type [class.]name(arguments)[:original_start[:original_end]] -> obfuscated`,
  followed by R8's JSON headers (`sourceFile`, `synthesized`, `outline`, `outlineCallsite`, `rewriteFrame`);
* a frame with a line picks the members whose range holds it (an inline chain, innermost first); a frame
  without line prefers the members without range, else the first range group, else one frame at line 0;
* a remapped frame's file is the mapping's `sourceFile` of its class, else synthesized from the class
  (`Outer$Inner` ⇒ `Outer.java`, `…Kt` ⇒ `….kt`, the extension of the outer class's file otherwise);
* outline frames are dropped and their position carried to the caller; `rewriteFrame` rules whose
  `throws(...)` matches the stack trace's exception remove inner frames of the first frame after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import takewhile

# R8's catch-all range is 0:65535; a longer original range is malformed and not expanded line by line.
_MAX_SPAN_EXPANSION = 65_535
_SYNTHESIZED = "com.android.tools.r8.synthesized"
_OUTLINE = "com.android.tools.r8.outline"
_OUTLINE_CALLSITE = "com.android.tools.r8.outlineCallsite"
_REWRITE_FRAME = "com.android.tools.r8.rewriteFrame"
_R8_SYNTHETIC_FILE = "R8$$SyntheticClass"


@dataclass(frozen=True)
class RewriteRule:
    """A `rewriteFrame` rule: `throws(descriptor)` conditions (None = one R8 names but no tool knows)."""

    throws: tuple[str | None, ...]
    remove_inner_frames: int


@dataclass(frozen=True)
class Member:
    """One member line of a class, with what its headers and its receiver class say about it."""

    name: str
    arguments: str
    receiver: str | None  # the original class when it is not the member's own class (an inlined method)
    startline: int | None
    endline: int | None
    original_startline: int | None
    original_endline: int | None
    original_file: str | None = None
    synthesized: bool = False
    outline: bool = False
    outline_positions: tuple[tuple[int, int], ...] = ()
    rewrite_rules: tuple[RewriteRule, ...] = ()

    @property
    def base(self) -> bool:
        """A member without minified line range (or with `0:0`)."""
        return not self.endline


@dataclass
class ClassMapping:
    original: str
    source_file: str | None = None
    synthesized: bool = False
    members: dict[str, list[Member]] = field(default_factory=dict)
    by_params: dict[tuple[str, str], list[Member]] = field(default_factory=dict)


@dataclass(frozen=True)
class Frame:
    """A frame to remap: obfuscated class and method, with a line or the deobfuscated parameter list."""

    class_name: str
    method: str
    line: int | None = None
    parameters: str | None = None


@dataclass(frozen=True)
class Remapped:
    class_name: str
    method: str
    file: str | None
    line: int | None
    synthesized: bool = False


@dataclass(frozen=True)
class Remap:
    """The answer of one mapping for one frame: its frames (innermost first), or why there are none.

    `outline`: the frame is an outline, to be dropped; `cleared`: it had mappings that rewrite rules
    removed entirely, so it is dropped too.
    """

    frames: tuple[Remapped, ...] = ()
    outline: bool = False
    cleared: bool = False


def synthesize_source_file(class_name: str, reference_file: str | None) -> str:
    """The source file a class most likely comes from: a `…Kt` segment names a Kotlin file, else the outer class."""
    segments = class_name.rsplit(".", 1)[-1].split("$")
    for segment in segments:
        if segment.endswith("Kt") and len(segment) > 2:
            return segment[:-2] + ".kt"
    extension = reference_file[reference_file.rfind(".") :] if reference_file and "." in reference_file else ".java"
    return segments[0] + extension


def class_descriptor(class_name: str) -> str:
    """`java.lang.Error` ⇒ `Ljava/lang/Error;`, the form `rewriteFrame` conditions name classes in."""
    return "L" + class_name.replace(".", "/") + ";"


@dataclass
class _MemberRecord:
    """A member line while the file is read; headers after it still add to it."""

    obfuscated_class: str
    obfuscated: str
    member: Member
    synthesized: bool = False
    outline: bool = False
    outline_positions: dict[int, int] = field(default_factory=dict)
    rewrite_rules: list[RewriteRule] = field(default_factory=list)
    by_params: bool = False


# A method as R8's headers name it: (receiver named on the line?, receiver, name, arguments).
_MethodKey = tuple[bool, str, str, str]


def _method_key(current: ClassMapping, member: Member) -> _MethodKey:
    return (member.receiver is not None, member.receiver or current.original, member.name, member.arguments)


def _has_lines(member: Member) -> bool:
    return member.startline is not None or member.original_startline is not None


def _parse_int(text: str) -> tuple[int | None, str]:
    digits = len(text) - len(text.lstrip("0123456789"))
    return (int(text[:digits]), text[digits:]) if digits else (None, text)


def parse_member(line: str) -> tuple[str, Member] | None:
    """(obfuscated name, member) of a method line; None for a field line or a line that is not one."""
    text = line.strip()
    startline, rest = _parse_int(text)
    endline = None
    if startline is not None:
        if not rest.startswith(":"):
            return None
        endline, rest = _parse_int(rest[1:])
        if endline is None or not rest.startswith(":"):
            return None
        rest = rest[1:]
    kind, space, rest = rest.partition(" ")
    if not space or not kind or "(" not in rest.split(" ", 1)[0]:
        return None
    qualified, _, rest = rest.partition("(")
    arguments, closed, rest = rest.partition(")")
    if not closed:
        return None
    original_startline = original_endline = None
    if rest.startswith(":"):
        original_startline, rest = _parse_int(rest[1:])
        if original_startline is None:
            return None
        if rest.startswith(":"):
            original_endline, rest = _parse_int(rest[1:])
            if original_endline is None:
                return None
    if not rest.startswith(" -> "):
        return None
    obfuscated = rest[4:]
    receiver, _, name = qualified.rpartition(".")
    if startline is None and original_startline is None:
        return obfuscated, Member(name, arguments, receiver or None, None, None, None, None)
    if original_startline is None:  # no original lines: the minified ones are the original ones
        original_startline, original_endline = startline, endline
    if startline is not None and endline is not None and startline > endline:
        startline, endline = endline, startline
    if original_startline is not None and original_endline is not None and original_startline > original_endline:
        original_startline, original_endline = original_endline, original_startline
    return obfuscated, Member(
        name, arguments, receiver or None, startline, endline, original_startline, original_endline
    )


def _rewrite_rule(header: dict[str, object]) -> RewriteRule | None:
    conditions, actions = header.get("conditions"), header.get("actions")
    if not isinstance(conditions, list) or not isinstance(actions, list) or not conditions or not actions:
        return None
    throws: list[str | None] = []
    for condition in conditions:
        condition = str(condition).strip()
        if not condition:
            return None
        if condition.startswith("throws("):
            if not condition.endswith(")") or condition == "throws()":
                return None
            throws.append(condition[len("throws(") : -1])
        else:
            throws.append(None)
    removed = 0
    for action in actions:
        action = str(action).strip()
        if not action:
            return None
        if action.startswith("removeInnerFrames("):
            count = action[len("removeInnerFrames(") :]
            if not count.endswith(")") or not count[:-1].isdigit():
                return None
            removed += int(count[:-1])
    return RewriteRule(tuple(throws), removed)


def _r8_header(line: str) -> dict[str, object] | None:
    text = line.strip()
    if not text.startswith("#"):
        return None
    text = text[1:].strip()
    if not text.startswith("{"):
        return None
    try:
        header = json.loads(text)
    except ValueError:
        return None
    return header if isinstance(header, dict) and isinstance(header.get("id"), str) else None


def _records(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """("class" | "member" | "header" | "comment", line) per record; unreadable lines are left out."""
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            yield ("header" if _r8_header(line) is not None else "comment"), line
        elif line[0] in " \t":
            yield "member", line
        elif " -> " in line and ":" in line.partition(" -> ")[2]:
            original, _, rest = line.partition(" -> ")
            obfuscated, _, trailer = rest.partition(":")
            if " " not in original and obfuscated:
                yield "class", f"{original} -> {obfuscated}"
                if trailer.strip():
                    yield from _records([trailer])


class ProguardMapping:
    """A parsed mapping: its classes by obfuscated name."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.classes: dict[str, ClassMapping] = {}
        records: list[_MemberRecord] = []
        by_original: dict[str, ClassMapping] = {}
        method_flags: dict[_MethodKey, list[bool]] = {}  # [synthesized, outline]
        current: ClassMapping | None = None
        obfuscated_class = ""
        # What the next R8 headers describe: the class just read, a member, or nothing (after a comment).
        target: ClassMapping | _MemberRecord | None = None
        previous: _MemberRecord | None = None  # the member line just before, headers aside
        unique: set[tuple[str, str, str]] = set()
        for kind, line in _records(lines):
            parsed = parse_member(line) if kind == "member" else None
            if previous is not None and kind != "header":
                self._finalize(previous, parsed[1] if parsed else None, unique)
                previous = None
            if kind == "class":
                original, _, obfuscated_class = line.partition(" -> ")
                current = target = ClassMapping(original)
                self.classes[obfuscated_class] = current
                by_original[original] = current
                unique = set()
            elif kind == "header":
                if target is not None:
                    self._apply_header(_r8_header(line) or {}, target, current, method_flags)
            elif current is None:
                continue
            elif parsed is None:
                target = None  # a comment or a field line ends the headers of the member before it
            else:
                obfuscated, member = parsed
                previous = target = _MemberRecord(obfuscated_class, obfuscated, member)
                method_flags.setdefault(_method_key(current, member), [False, False])
                records.append(previous)
        if previous is not None:
            self._finalize(previous, None, unique)
        for record in records:
            self._add(record, by_original, method_flags)

    @staticmethod
    def _finalize(record: _MemberRecord, following: Member | None, unique: set[tuple[str, str, str]]) -> None:
        """Whether a member is looked up by its parameters: not when the member line after it has the
        same minified range (it was inlined into that one), and only once per name and arguments."""
        member = record.member
        inlined = following is not None and _has_lines(member) and _has_lines(following)
        if inlined and (member.startline, member.endline) == (following.startline, following.endline):  # type: ignore[union-attr]
            return
        key = (record.obfuscated, member.arguments, member.name)
        if key not in unique:
            unique.add(key)
            record.by_params = True

    @staticmethod
    def _apply_header(
        header: dict[str, object],
        target: ClassMapping | _MemberRecord,
        current: ClassMapping | None,
        method_flags: dict[_MethodKey, list[bool]],
    ) -> None:
        kind = header["id"]
        if isinstance(target, ClassMapping):
            if kind == "sourceFile" and isinstance(header.get("fileName"), str):
                target.source_file = str(header["fileName"])
            elif kind == _SYNTHESIZED:
                target.synthesized = True
            return
        assert current is not None  # a member is always read inside a class
        flags = method_flags[_method_key(current, target.member)]
        if kind == _SYNTHESIZED:
            flags[0] = True
        elif kind == _OUTLINE:
            flags[1] = True
        elif kind == _OUTLINE_CALLSITE and isinstance(header.get("positions"), dict):
            positions: dict[object, object] = header["positions"]  # type: ignore[assignment]
            for position, line in positions.items():
                if str(position).isdigit() and isinstance(line, int):
                    target.outline_positions[int(str(position))] = line
        elif kind == _REWRITE_FRAME:
            rule = _rewrite_rule(header)
            if rule is not None:
                target.rewrite_rules.append(rule)

    def _add(
        self,
        record: _MemberRecord,
        by_original: dict[str, ClassMapping],
        method_flags: dict[_MethodKey, list[bool]],
    ) -> None:
        mapping = self.classes[record.obfuscated_class]
        member = record.member
        receiver = by_original.get(member.receiver or mapping.original)
        synthesized, outline = method_flags[_method_key(mapping, member)]
        resolved = Member(
            member.name,
            member.arguments,
            member.receiver if member.receiver != mapping.original else None,
            member.startline,
            member.endline,
            member.original_startline,
            member.original_endline,
            original_file=receiver.source_file if receiver else None,
            synthesized=synthesized or bool(receiver and receiver.synthesized),
            outline=outline,
            outline_positions=tuple(record.outline_positions.items()),
            rewrite_rules=tuple(record.rewrite_rules),
        )
        mapping.members.setdefault(record.obfuscated, []).append(resolved)
        if record.by_params:
            mapping.by_params.setdefault((record.obfuscated, member.arguments), []).append(resolved)

    def remap_class(self, name: str) -> str | None:
        mapping = self.classes.get(name)
        return mapping.original if mapping else None

    def remap_method(self, class_name: str, method: str) -> tuple[str, str] | None:
        """The original class and method when every member of the obfuscated name has the same name."""
        mapping = self.classes.get(class_name)
        members = mapping.members.get(method) if mapping else None
        if not mapping or not members or any(member.name != members[0].name for member in members):
            return None
        return mapping.original, members[0].name

    def _members(self, mapping: ClassMapping, method: str, parameters: str | None) -> list[Member]:
        if parameters is not None:
            return mapping.by_params.get((method, parameters), [])
        return mapping.members.get(method, [])

    def is_outline(self, class_name: str, method: str) -> bool:
        mapping = self.classes.get(class_name)
        members = mapping.members.get(method) if mapping else None
        return bool(members and members[0].outline)

    def _outline_callsite(self, frame: Frame, position: int) -> int | None:
        mapping = self.classes.get(frame.class_name)
        if mapping is None:
            return None
        line = frame.line or 0
        for member in self._members(mapping, frame.method, frame.parameters):
            if member.base or member.startline <= line <= member.endline:  # type: ignore[operator]
                for outline_position, callsite in member.outline_positions:
                    if outline_position == position:
                        return callsite
        return None

    def remap_frame(
        self, frame: Frame, exception: str | None = None, rewrite: bool = False, outline: list[int | None] | None = None
    ) -> Remap:
        """The frames of `frame`, innermost first; `outline` carries an outline's position to the next frame.

        `exception` is the stack trace's exception as a descriptor, `rewrite` whether its rules apply
        (only to the first frame after the exception).
        """
        carried = outline if outline is not None else [None]
        if self.is_outline(frame.class_name, frame.method):
            carried[0] = frame.line or 0
            return Remap(outline=True)
        if carried[0] is not None:
            position, carried[0] = carried[0], None
            callsite = self._outline_callsite(frame, position)
            if callsite is not None:
                frame = Frame(frame.class_name, frame.method, callsite, frame.parameters)
        mapping = self.classes.get(frame.class_name)
        if mapping is None:
            return Remap()
        prepared = Frame(mapping.original, frame.method, frame.line, frame.parameters)
        members = self._members(mapping, frame.method, frame.parameters)
        if not members:
            return Remap((_class_only(prepared, mapping.source_file),))
        line = frame.line or 0
        if frame.parameters is None:
            matching = [member for member in members if member.base or member.startline <= line <= member.endline]  # type: ignore[operator]
        else:
            matching = members
        skip = _skip_count([rule for member in matching for rule in member.rewrite_rules], exception) if rewrite else 0
        frames = _resolve(prepared, members, mapping.source_file)[skip:]
        return Remap(tuple(frames), cleared=bool(matching) and not frames)


def _class_only(frame: Frame, reference_file: str | None) -> Remapped:
    return Remapped(
        frame.class_name, frame.method, synthesize_source_file(frame.class_name, reference_file), frame.line or 0
    )


def _without_lines(frame: Frame, member: Member, outer_file: str | None, line: int | None) -> Remapped:
    class_name = member.receiver or frame.class_name
    return Remapped(class_name, member.name, synthesize_source_file(class_name, outer_file), line, member.synthesized)


def _output_line(member: Member) -> int | None:
    return member.original_startline if member.original_startline else None


def _resolve(frame: Frame, members: list[Member], outer_file: str | None) -> list[Remapped]:
    if frame.parameters is not None:
        return [_without_lines(frame, member, outer_file, _output_line(member)) for member in members]
    if not frame.line:
        return _resolve_without_line(frame, members, outer_file)
    has_line_info = any(not member.base for member in members)
    frames = list(_with_line(frame, members, outer_file, has_line_info))
    if not frames and has_line_info:  # outside every range: the class alone, with the frame's line
        return [_class_only(frame, outer_file)]
    return frames


def _with_line(frame: Frame, members: list[Member], outer_file: str | None, has_line_info: bool) -> Iterator[Remapped]:
    line = frame.line or 0
    for member in members:
        if member.base:
            if has_line_info:
                continue
            start, end = member.original_startline, member.original_endline
            if start is None:  # a bare method: the frame's line passes through
                yield _without_lines(frame, member, outer_file, frame.line)
            elif end is not None and start < end and end - start <= _MAX_SPAN_EXPANSION:
                for original in range(start, end + 1):
                    yield _without_lines(frame, member, outer_file, original)
            else:
                yield _without_lines(frame, member, outer_file, _output_line(member))
            continue
        if not member.startline <= line <= member.endline:  # type: ignore[operator]
            continue
        start = member.original_startline or 0
        if member.original_endline is None or member.original_endline == start:
            original_line = start
        else:
            original_line = start + line - (member.startline or 0)
        class_name = member.receiver or frame.class_name
        if member.original_file == _R8_SYNTHETIC_FILE:
            file = class_name.rsplit(".", 1)[-1].split("$")[0]
        elif member.original_file is not None:
            file = member.original_file
        else:
            file = synthesize_source_file(class_name, outer_file)
        yield Remapped(class_name, member.name, file, original_line, member.synthesized)


def _resolve_without_line(frame: Frame, members: list[Member], outer_file: str | None) -> list[Remapped]:
    """A frame without line, as `retrace` answers it (proguard 5.10.4).

    The members without range if there are any; else no member can be chosen by line, and only the
    outermost member of the first range group is reported, at line 0.
    """
    base = [member for member in members if member.base]
    if base:
        return _resolve_base(frame, base, outer_file)
    first = members[0]
    group = list(
        takewhile(lambda member: (member.startline, member.endline) == (first.startline, first.endline), members)
    )
    return [_without_lines(frame, group[-1], outer_file, 0)]


def _resolve_base(frame: Frame, base: list[Member], outer_file: str | None) -> list[Remapped]:
    zero_ranges = [member for member in base if member.startline is not None]
    no_ranges = [member for member in base if member.startline is None]
    any_range = any(
        member.original_endline is not None and member.original_endline != (member.original_startline or 0)
        for member in zero_ranges
    )
    same_name = all(member.name == no_ranges[0].name for member in no_ranges)
    frames: list[Remapped] = []
    emitted = False
    for member in base:
        if member.startline is not None:
            frames.append(_without_lines(frame, member, outer_file, 0 if any_range else _output_line(member)))
        elif same_name:
            if not emitted:
                emitted = True
                line = 0 if len(no_ranges) > 1 else (_output_line(member) or 0)
                frames.append(_without_lines(frame, member, outer_file, line))
        else:
            frames.append(_without_lines(frame, member, outer_file, 0))
    if not same_name and all(member.original_startline is not None for member in no_ranges):
        frames.sort(key=lambda remapped: remapped.method)
    return frames


def _skip_count(rules: list[RewriteRule], exception: str | None) -> int:
    return sum(
        rule.remove_inner_frames
        for rule in rules
        if all(throws is not None and throws == exception for throws in rule.throws)
    )
