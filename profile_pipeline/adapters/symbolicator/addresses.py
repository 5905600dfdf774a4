"""How Symbolicator reads native frame addresses: hex values, `addr_mode`, modules, adjustment."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import Any

_REL_MODE = re.compile(r"^rel:(\d+)$")
# Keys of a request frame that Symbolicator leaves out of its answer frames (those carry `abs` addresses).
NOT_ECHOED = ("addr_mode", "adjust_instruction_addr")


class InvalidRequest(ValueError):
    """A request Symbolicator would refuse whole (for example an `addr_mode` it cannot parse)."""


def parse_addr(value: Any) -> int | None:
    """A hex string (`0x…`), a decimal string or an integer; None when it is none of them."""
    if isinstance(value, str) and value[:2] == "0x":  # the common case first
        try:
            return int(value, 16)
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    try:
        number = int(text[2:], 16) if text.startswith("0x") else int(text, 10)
    except ValueError:
        return None
    return number if number >= 0 else None


def rel_module_index(addr_mode: Any) -> int | None:
    """None for `abs` (or absent), N for `rel:N`; anything else makes the whole request invalid.

    N may name no module of the request: that frame is then in an unknown image, as Symbolicator has it.
    """
    if addr_mode is None or addr_mode == "abs":
        return None
    if not isinstance(addr_mode, str):
        raise InvalidRequest(f"invalid addr_mode {addr_mode!r}")
    return _rel_index(addr_mode)


# Kept per mode: the shared requests give each of their frames one, among the few N a worker meets.
@functools.lru_cache(maxsize=4096)
def _rel_index(addr_mode: str) -> int:
    match = _REL_MODE.match(addr_mode)
    if match is None:
        raise InvalidRequest(f"invalid addr_mode {addr_mode!r}")
    return int(match.group(1))


def adjustments(frames: list[dict[str, Any]]) -> list[bool]:
    """Whether each frame's address is a return address to step back from before the lookup.

    An explicit `adjust_instruction_addr` wins; when any frame of the stacktrace carries the flag,
    unflagged frames are adjusted; otherwise the first frame (the interrupted one) is not.
    """
    flags = [frame.get("adjust_instruction_addr") for frame in frames]
    flagged = flags.count(None) < len(flags)
    return [flagged or position > 0 if flag is None else bool(flag) for position, flag in enumerate(flags)]


@dataclass(frozen=True)
class ModuleRange:
    index: int
    start: int
    end: int | None  # None: up to the next module


class ModuleRanges:
    """Address ranges of the modules with a usable non-zero `image_addr`, sorted by start."""

    def __init__(self, modules: list[dict[str, Any]]) -> None:
        starts = []
        for index, module in enumerate(modules):
            start = parse_addr(module.get("image_addr"))
            if start:
                size = parse_addr(module.get("image_size")) or 0
                starts.append((start, index, size))
        starts.sort()
        self.ranges: list[ModuleRange] = []
        for position, (start, index, size) in enumerate(starts):
            end = start + size if size else (starts[position + 1][0] if position + 1 < len(starts) else None)
            self.ranges.append(ModuleRange(index, start, end))
        self.starts = [module_range.start for module_range in self.ranges]
        # Ranges that do not overlap hold an address in at most one range: the last starting at or below it.
        self.disjoint = all(
            current.end is not None and current.end <= following.start
            for current, following in zip(self.ranges, self.ranges[1:], strict=False)
        )

    def find(self, addr: int) -> ModuleRange | None:
        """The first range (by start) that holds `addr`."""
        if self.disjoint:
            position = bisect.bisect_right(self.starts, addr) - 1
            if position < 0:
                return None
            module_range = self.ranges[position]
            return module_range if module_range.end is None or addr < module_range.end else None
        for module_range in self.ranges:
            if module_range.start <= addr and (module_range.end is None or addr < module_range.end):
                return module_range
        return None


def resolve_frame(frame: dict[str, Any], modules: list[dict[str, Any]], ranges: ModuleRanges) -> tuple[int, int] | None:
    """(module index, module-relative address) of a frame, or None if no module holds it.

    Raises InvalidRequest for an unparsable `addr_mode`.
    """
    addr_mode = frame.get("addr_mode")
    rel_index = None if addr_mode is None else rel_module_index(addr_mode)
    addr = parse_addr(frame.get("instruction_addr"))
    if addr is None:
        return None
    if rel_index is not None:
        return (rel_index, addr) if rel_index < len(modules) else None
    module_range = ranges.find(addr)
    if module_range is None:
        return None
    return module_range.index, addr - module_range.start
