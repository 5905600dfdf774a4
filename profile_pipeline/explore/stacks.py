"""The stacks of one profile's thread, root first, each with the time it was sampled for (SPEC Part II §3.3).

Time is wall time in nanoseconds, as vroom's call trees count it: a sample of the sampled formats lasts until
the thread's next sample (the last sample of a thread has no duration), and a stack of an Android method
trace lasts from one of the thread's events to the next. The thread is the transaction's active thread for
transaction profiles and the main thread for chunks and legacy profiles, unless one is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any, NamedTuple

from profile_pipeline.formats import ANDROID, ANDROID_CHUNK, LEGACY, SAMPLE_V1, SAMPLE_V2


class Frame(NamedTuple):
    """A frame as the flame graph names it: the function and where it lives (module, package, image or file)."""

    function: str
    package: str = ""


Stack = tuple[Frame, ...]
MAIN_THREAD_NAMES = frozenset({"main", "MainThread", "com.apple.main-thread"})


def thread_stacks(profile: dict[str, Any], fmt: str, thread: str | None = None) -> Iterator[tuple[Stack, int]]:
    """(stack, nanoseconds) for each sampled interval of one thread; stacks repeat, the caller sums them."""
    if fmt in (SAMPLE_V1, SAMPLE_V2):
        return _sampled(profile, fmt, thread)
    if fmt in (ANDROID, ANDROID_CHUNK):
        return _android(profile, thread)
    if fmt == LEGACY:
        return _legacy(profile, thread)
    raise ValueError(f"no stacks for profile format {fmt!r}")


def sample_frame(frame: dict[str, Any]) -> Frame:
    """A frame of the sampled formats, symbolicated or not (then its address is its name)."""
    name = frame.get("function") or frame.get("instruction_addr") or "<unknown>"
    package = frame.get("module") or frame.get("package") or frame.get("filename") or frame.get("abs_path") or ""
    return Frame(str(name), str(package))


def _main_thread(metadata: dict[str, Any], counts: dict[str, int]) -> str | None:
    """The thread the metadata marks or names as main, else the thread with the most samples."""
    for thread_id, info in metadata.items():
        if isinstance(info, dict) and (info.get("is_main_thread") or info.get("name") in MAIN_THREAD_NAMES):
            return str(thread_id)
    return max(counts, key=lambda key: counts[key]) if counts else None


def _sampled_intervals(profile: dict[str, Any], fmt: str, thread: str | None) -> Iterator[tuple[int, int]]:
    """(stack id, nanoseconds) of each sampled interval of the thread, in time order."""
    body = profile.get("profile") or {}
    samples = [s for s in body.get("samples") or [] if isinstance(s, dict)]
    if thread is None and fmt == SAMPLE_V1:
        active = (profile.get("transaction") or {}).get("active_thread_id")
        thread = None if active is None else str(active)
    if thread is None:
        counts: dict[str, int] = {}
        for sample in samples:
            counts[str(sample.get("thread_id"))] = counts.get(str(sample.get("thread_id")), 0) + 1
        thread = _main_thread(body.get("thread_metadata") or {}, counts)

    def nanos(sample: dict[str, Any]) -> int:
        if fmt == SAMPLE_V1:
            return int(sample.get("elapsed_since_start_ns") or 0)
        # Unix seconds as a float hold about a quarter of a microsecond; the SDKs send milliseconds.
        return round(float(sample.get("timestamp") or 0.0) * 1e6) * 1000

    timed = sorted((nanos(s), s["stack_id"]) for s in samples if str(s.get("thread_id")) == thread)
    for (start, stack_id), (end, _) in pairwise(timed):
        if end > start:
            yield stack_id, end - start


def _sampled_stack(profile: dict[str, Any]) -> Callable[[int], Stack]:
    """A stack of the sampled formats by its id, root first (each frame read once)."""
    body = profile.get("profile") or {}
    frames = [sample_frame(frame) for frame in body.get("frames") or []]
    stacks = body.get("stacks") or []
    return lambda stack_id: tuple(frames[index] for index in reversed(stacks[stack_id]))


def _sampled(profile: dict[str, Any], fmt: str, thread: str | None) -> Iterator[tuple[Stack, int]]:
    stack_of = _sampled_stack(profile)
    built: dict[int, Stack] = {}
    for stack_id, nanos in _sampled_intervals(profile, fmt, thread):
        if stack_id not in built:
            built[stack_id] = stack_of(stack_id)
        yield built[stack_id], nanos


def summed_thread_stacks(profile: dict[str, Any], fmt: str, thread: str | None = None) -> dict[Stack, int]:
    """`thread_stacks` summed per stack, what a call tree needs: the sampled formats sum by stack id first."""
    summed: dict[Stack, int] = {}
    if fmt in (SAMPLE_V1, SAMPLE_V2):
        by_id: dict[int, int] = {}
        for stack_id, nanos in _sampled_intervals(profile, fmt, thread):
            by_id[stack_id] = by_id.get(stack_id, 0) + nanos
        stack_of = _sampled_stack(profile)
        weighted = ((stack_of(stack_id), nanos) for stack_id, nanos in by_id.items())
    else:
        weighted = thread_stacks(profile, fmt, thread)
    for stack, nanos in weighted:
        summed[stack] = summed.get(stack, 0) + nanos
    return summed


def _legacy(profile: dict[str, Any], thread: str | None) -> Iterator[tuple[Stack, int]]:
    body = profile.get("sampled_profile") or {}
    samples = [s for s in body.get("samples") or [] if isinstance(s, dict)]
    if thread is None:
        metadata = dict(body.get("thread_metadata") or {})
        for sample in samples:  # legacy rust names the thread on each sample
            metadata.setdefault(str(sample.get("thread_id")), {"name": sample.get("thread_name")})
        thread = _main_thread(metadata, {})

    def nanos(sample: dict[str, Any]) -> int:
        return int(sample.get("relative_timestamp_ns", sample.get("nanos_relative_to_start")) or 0)

    timed = [
        (nanos(s), tuple(sample_frame(f) for f in reversed(s.get("frames") or [])))
        for s in samples
        if str(s.get("thread_id")) == thread
    ]
    timed.sort(key=lambda item: item[0])
    for (start, stack), (end, _) in pairwise(timed):
        if end > start:
            yield stack, end - start


def _method_frames(method: dict[str, Any]) -> list[Frame]:
    """A method's frames, caller first: a deobfuscated method that R8 inlined into others is several."""
    frames = []
    for item in method.get("inline_frames") or [method]:
        class_name = str(item.get("class_name") or "")
        name = f"{class_name}.{item.get('name')}" if class_name else str(item.get("name") or "<unknown>")
        frames.append(Frame(name, class_name.rpartition(".")[0]))
    return frames


def _event_nanos(time: dict[str, Any]) -> int:
    clock = time.get("Monotonic", {}).get("wall") if "Monotonic" in time else time.get("Global")
    clock = clock or {}
    return int(clock.get("secs") or 0) * 1_000_000_000 + int(clock.get("nanos") or 0)


def _android(profile: dict[str, Any], thread: str | None) -> Iterator[tuple[Stack, int]]:
    body = profile.get("profile") or {}
    if thread is None:
        active = (profile.get("transaction") or {}).get("active_thread_id", profile.get("active_thread_id"))
        names = {str(t.get("id")): {"name": t.get("name")} for t in body.get("threads") or []}
        thread = str(active) if active is not None else _main_thread(names, {})
    methods = {method.get("id"): _method_frames(method) for method in body.get("methods") or []}
    stack: list[tuple[Any, int]] = []  # (method id, frames it pushed)
    frames: list[Frame] = []
    last = None
    for event in body.get("events") or []:
        if str(event.get("thread_id")) != thread:
            continue
        now = _event_nanos(event.get("time") or {})
        if frames and last is not None and now > last:
            yield tuple(frames), now - last
        last = now
        method_id = event.get("method_id")
        if event.get("action") == "Enter":
            pushed = methods.get(method_id) or [Frame(f"<method {method_id}>")]
            stack.append((method_id, len(pushed)))
            frames.extend(pushed)
        elif any(entry[0] == method_id for entry in stack):
            # Exit or Unwind: leave the method and whatever it left open above it.
            while stack:
                entered, count = stack.pop()
                del frames[len(frames) - count :]
                if entered == method_id:
                    break
