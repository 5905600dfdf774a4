"""Symbolication of many profiles at once: one deduplicated request per pass platform (SPEC §I.6).

Every profile goes through §4.5 exactly as alone (`profile.ProfileSymbolication`); only the backend
calls are shared. Per pass round, the per-profile requests are grouped (native by platform; JS by
platform, release, dist and source-map modules), their frames deduplicated — native by (module,
module-relative address, adjust flag) and sent as `rel:N`, JS by (abs_path, lineno, colno) — sent in
requests of at most `max_frames_per_request` frames, and the answers cut back into the answer each
profile would have had for its own request. The round's JVM passes (the `java` frames of Android
sample v2) go through `remap_java_frames`, which batches and deduplicates them the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from profile_pipeline.adapters import symbol_store
from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.adapters.symbolicator.addresses import (
    NOT_ECHOED,
    InvalidRequest,
    ModuleRanges,
    adjustments,
    parse_addr,
    resolve_frame,
)
from profile_pipeline.adapters.symbolicator.embedded import sorted_js_errors
from profile_pipeline.adapters.symbolicator.protocol import Body, SymbolicationBackend
from profile_pipeline.stages.symbolication import java_frames
from profile_pipeline.stages.symbolication.profile import IndexMap, PassRequest, ProfileSymbolication

# One profile's answer to its request, and the `frame_index_map` of its first stacktrace when known.
Answer = tuple[Body | None, IndexMap | None]

# Keys of a module that identify its debug file; the rest (code_file, image_addr, ...) is per profile.
_MODULE_IDENTITY = ("type", "debug_id", "code_id", "arch")
# Keys of Symbolicator's module answer that describe the debug file rather than echo the request.
_MODULE_REQUEST_KEYS = (
    *_MODULE_IDENTITY,
    "code_file",
    "debug_file",
    "image_addr",
    "image_vmaddr",
    "image_size",
)


def symbolicate_profiles(
    profiles: list[tuple[dict[str, Any], int]],
    backend_for: Callable[[int], SymbolicationBackend],
    max_frames_per_request: int = 50_000,
) -> list[BaseException | None]:
    """Run §4.5 on each (profile, project id) pair, in place; the exception that failed a profile, else None."""
    errors: list[BaseException | None] = [None] * len(profiles)
    runs: list[tuple[int, ProfileSymbolication, int, SymbolicationBackend]] = []
    for position, (profile, project_id) in enumerate(profiles):
        run = ProfileSymbolication(profile)
        try:
            run.start()
            if not run.done:
                runs.append((position, run, project_id, backend_for(project_id)))
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            errors[position] = error
    while runs:
        requests: list[tuple[int, ProfileSymbolication, SymbolicationBackend, PassRequest]] = []
        jvm_runs: list[tuple[int, ProfileSymbolication, int]] = []
        for position, run, project_id, backend in runs:
            try:
                if run.next_is_jvm:
                    run.start_jvm_pass()
                    jvm_runs.append((position, run, project_id))
                else:
                    requests.append((position, run, backend, run.next_request()))
            except Exception as error:
                if is_infrastructure_fault(error):
                    raise
                errors[position] = error
        answers = _answer_all([(backend, request) for _, _, backend, request in requests], max_frames_per_request)
        for (position, run, _, request), (answer, index_map) in zip(requests, answers, strict=True):
            try:
                run.apply(request, answer, index_map)
            except Exception as error:
                if is_infrastructure_fault(error):
                    raise
                errors[position] = error
        if jvm_runs:
            jvm_errors = java_frames.remap_java_frames(
                [(run.profile, project_id) for _, run, project_id in jvm_runs], backend_for, max_frames_per_request
            )
            for (position, run, _), error in zip(jvm_runs, jvm_errors, strict=True):
                if error is None:
                    run.end_pass()
                else:
                    errors[position] = error
        runs = [entry for entry in runs if not entry[1].done and errors[entry[0]] is None]
    return errors


def _answer_all(requests: list[tuple[SymbolicationBackend, PassRequest]], max_frames: int) -> list[Answer]:
    """The per-profile answers of one round, with one set of backend calls per group."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, (backend, request) in enumerate(requests):
        groups.setdefault((id(backend), *_group_key(request)), []).append(position)
    answers: list[Answer] = [(None, None)] * len(requests)
    for positions in groups.values():
        backend = requests[positions[0]][0]
        bodies = [requests[position][1].body for position in positions]
        kind = requests[positions[0]][1].kind
        resolve = _NativeBatch if kind == "native" else _JsBatch
        for position, answer in zip(positions, resolve(bodies, max_frames).answer(backend), strict=True):
            answers[position] = answer
    return answers


def _group_key(request: PassRequest) -> tuple[Any, ...]:
    if request.kind == "native":
        return ("native", request.platform)
    body = request.body
    modules = json.dumps(body["modules"], sort_keys=True, default=str)
    return ("js", request.platform, body.get("release"), body.get("dist"), modules)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    size = max(size, 1)
    return [items[start : start + size] for start in range(0, len(items), size)] or [[]]


@dataclass
class _Plan:
    """One profile's request in the shared requests."""

    # Per stacktrace and frame: (unique frame number, module index), or (status, module index or None)
    # for a frame that needs no lookup (`unknown_image`, `missing`).
    rows: list[list[tuple[Any, int | None]]]
    identities: list[int | None]  # per module: the number of its debug file in the batch, None if unusable


class _NativeBatch:
    """Native requests of many profiles as few module-relative requests.

    Debug files and unique frames are numbered as they are met, so that the per-frame work hashes
    small integers rather than tuples of ids.
    """

    def __init__(self, bodies: list[Body], max_frames: int) -> None:
        self.bodies = bodies
        self.max_frames = max_frames
        self.platform = bodies[0]["platform"]
        self.options = bodies[0]["options"]
        self.identities: dict[tuple[Any, ...], int] = {}  # identity ⇒ its number
        # Per identity number: the module sent (from the first profile with a frame in it) and its image_addr.
        self.modules: list[Body | None] = []
        self.bases: list[int] = []
        self.keys: dict[tuple[int, int, bool], int] = {}  # (identity, relative address, adjust) ⇒ its number
        # Per profile: None (invalid request) or its plan.
        self.plans: list[_Plan | None] = [self._plan(body) for body in bodies]

    def _identity_number(self, module: Body) -> int | None:
        identity = _module_identity(module)
        if identity is None:
            return None
        number = self.identities.get(identity)
        if number is None:
            number = self.identities[identity] = len(self.modules)
            self.modules.append(None)
            self.bases.append(0)
        return number

    def _plan(self, body: Body) -> _Plan | None:
        modules = body["modules"]
        ranges = ModuleRanges(modules)
        resolved: dict[str, tuple[int, int] | None] = {}  # instruction_addr without addr_mode ⇒ its location
        identities: list[int | None] = []
        keys = self.keys
        rows = []
        for stacktrace in body["stacktraces"]:
            frames = stacktrace["frames"]
            row: list[tuple[Any, int | None]] = []
            for frame, adjust in zip(frames, adjustments(frames), strict=True):
                # The leaf-frame copies repeat addresses of the frames: each address is resolved once.
                address = frame.get("instruction_addr")
                cacheable = address.__class__ is str and "addr_mode" not in frame
                located = resolved.get(address, _UNRESOLVED) if cacheable else _UNRESOLVED
                if located is _UNRESOLVED:
                    try:
                        located = resolve_frame(frame, modules, ranges)
                    except InvalidRequest:
                        return None
                    if cacheable:
                        resolved[address] = located
                if located is None:
                    row.append(("unknown_image", None))
                    continue
                module_index, relative = located
                if not identities:  # numbered once the profile has a frame in a module, in module order
                    identities = [self._identity_number(module) for module in modules]
                identity = identities[module_index]
                if identity is None:
                    row.append(("missing", module_index))
                    continue
                key = (identity, relative, adjust)
                number = keys.get(key)
                if number is None:
                    number = keys[key] = len(keys)
                    if self.modules[identity] is None:
                        sent = self.modules[identity] = _module_to_send(modules[module_index])
                        self.bases[identity] = parse_addr(sent["image_addr"]) or 0
                row.append((number, module_index))
            rows.append(row)
        return _Plan(rows, identities)

    def answer(self, backend: SymbolicationBackend) -> list[Answer]:
        keys = list(self.keys)
        results: list[list[_Located]] = [[] for _ in keys]  # per unique frame number
        module_answers: dict[int, Body] = {}
        failures: dict[int, Body | None] = {}
        for start in range(0, len(keys), max(self.max_frames, 1)):
            numbers = range(start, min(start + max(self.max_frames, 1), len(keys)))
            identities = list(dict.fromkeys(keys[number][0] for number in numbers))
            slot = {identity: index for index, identity in enumerate(identities)}
            frames = [
                {
                    "instruction_addr": hex(keys[number][1]),
                    "addr_mode": f"rel:{slot[keys[number][0]]}",
                    "adjust_instruction_addr": keys[number][2],
                }
                for number in numbers
            ]
            request = {
                "platform": self.platform,
                "options": self.options,
                "stacktraces": [{"frames": frames}],
                "modules": [self.modules[identity] for identity in identities],
            }
            response = backend.native(request)
            if not response or response.get("status") != "completed":
                for number in numbers:
                    failures[number] = response
                continue
            expanded: dict[Any, list[_Located]] = {}
            for frame in (response.get("stacktraces") or [{}])[0].get("frames") or []:
                expanded.setdefault(frame.get("original_index", 0), []).append(_Located(frame))
            for index, number in enumerate(numbers):
                results[number] = expanded.get(index, [])
            for identity, module in zip(identities, response.get("modules") or [], strict=False):
                module_answers.setdefault(identity, module)
        return [
            self._profile_answer(body, plan, results, module_answers, failures)
            for body, plan in zip(self.bodies, self.plans, strict=True)
        ]

    def _profile_answer(
        self,
        body: Body,
        plan: _Plan | None,
        results: list[list[_Located]],
        module_answers: dict[int, Body],
        failures: dict[int, Body | None],
    ) -> Answer:
        """The answer this profile's own request would have had: the shared answers at its load addresses."""
        if plan is None:
            return {"status": "failed", "message": "invalid addr_mode in request"}, None
        if failures:
            for row in plan.rows:
                for key, _ in row:
                    if key in failures:
                        return failures[key], None
        modules = body["modules"]
        loads = _ModuleLoads(modules, plan.identities, self.bases)
        stacktraces = []
        index_map = None
        # Only a profile of many stacktraces (a legacy one: a stacktrace per sample) repeats its frames.
        made: dict[tuple[Any, ...], list[Body]] | None = {} if len(body["stacktraces"]) > 1 else None
        for stacktrace, row in zip(body["stacktraces"], plan.rows, strict=True):
            frames, positions = _stacktrace_answer(stacktrace["frames"], row, results, loads, made)
            stacktraces.append({"frames": frames})
            if index_map is None:
                index_map = positions
        return {
            "status": "completed",
            "stacktraces": stacktraces,
            "modules": self._modules_answer(modules, plan, loads.used, module_answers),
        }, index_map

    @staticmethod
    def _modules_answer(
        modules: list[Body], plan: _Plan, used: dict[int, str | None], module_answers: dict[int, Body]
    ) -> list[Body]:
        modules_out = []
        for index, module in enumerate(modules):
            answer = dict(module)
            if index not in used:
                answer["debug_status"] = "unused"
            elif used[index] is not None:
                answer["debug_status"] = used[index]
            else:
                known = module_answers.get(plan.identities[index], {})
                answer.update({k: v for k, v in known.items() if k not in _MODULE_REQUEST_KEYS or k == "arch"})
            modules_out.append(answer)
        return modules_out


_UNRESOLVED = object()

# Keys of a request frame whose answer frames can be copies of the shared answer's.
_ADDRESS_ONLY = frozenset(("instruction_addr", *NOT_ECHOED))


class _ModuleLoads:
    """Per module of one profile, filled as its frames meet it: the `package` of its frames, how far
    the profile loaded it from the image_addr of the shared requests, and how it was used."""

    def __init__(self, modules: list[Body], identities: list[int | None], bases: list[int]) -> None:
        self.modules = modules
        self.identities = identities
        self.bases = bases
        self.packages: list[dict[str, Any] | None] = [None] * len(modules)
        self.deltas: list[int] = [0] * len(modules)
        self.used: dict[int, str | None] = {}  # module index ⇒ "missing", or None when looked up

    def meet(self, module_index: int, key: Any) -> dict[str, Any]:
        """The module's `package`, on its first frame (whose key tells how the module is used)."""
        module = self.modules[module_index]
        identity = self.identities[module_index]
        if key == "missing" or identity is None:
            self.used[module_index] = "missing"
        else:
            self.used[module_index] = None
            self.deltas[module_index] = (parse_addr(module.get("image_addr")) or 0) - self.bases[identity]
        package = self.packages[module_index] = {"package": module["code_file"]} if module.get("code_file") else {}
        return package


def _stacktrace_answer(
    frames: list[Body],
    row: list[tuple[Any, int | None]],
    results: list[list[_Located]],
    loads: _ModuleLoads,
    made: dict[tuple[Any, ...], list[Body]] | None,
) -> tuple[list[Body], IndexMap]:
    """One stacktrace's answer frames, and where each request frame went among them.

    As Symbolicator lays them out: `status`, `original_index`, the request frame's keys, `package`, then
    what the lookup found. A frame that was not looked up (or found nothing) echoes the request frame
    whole; a found one drops its `addr_mode` (its addresses are absolute). For a request frame of nothing
    but its address and adjust flag (the common case), the answer is a copy of the shared answer laid out
    in this order beforehand, with the profile's own values set.

    `made` holds, across the stacktraces of one profile, the answer frames of such address-only request
    frames by what they are made of: a legacy profile's samples repeat the same frame at the same depth,
    and each repeat gets the same frame objects. Later stages change a frame only by what it holds, so a
    shared frame ends as each copy would have.
    """
    frames_out: list[Body] = []
    append = frames_out.append
    positions: IndexMap = {}
    packages, deltas = loads.packages, loads.deltas
    for index, (frame, (key, module_index)) in enumerate(zip(frames, row, strict=True)):
        if module_index is None:
            positions[index] = [len(frames_out)]
            append({"status": key, "original_index": index, **frame})
            continue
        package = packages[module_index]
        if package is None:
            package = loads.meet(module_index, key)
        if key.__class__ is str:  # `missing`: no lookup
            positions[index] = [len(frames_out)]
            append({"status": key, "original_index": index, **frame, **package})
            continue
        delta = deltas[module_index]
        these = positions[index] = []
        # The layout of an answer frame for a request frame of only its address (and adjust flag).
        shape = -1
        if frame.keys() <= _ADDRESS_ONLY:
            adjust = frame.get("adjust_instruction_addr", _ABSENT)
            shape = 0 if adjust is _ABSENT else 2 if adjust is False else 4 if adjust is True else -1
            if shape >= 0 and package:
                shape += 1
        known = None
        if made is not None and shape >= 0 and frame.get("instruction_addr").__class__ is str:
            known = (key, module_index, shape, index, frame["instruction_addr"])
            answers = made.get(known)
            if answers is not None:
                these.extend(range(len(frames_out), len(frames_out) + len(answers)))
                frames_out.extend(answers)
                continue
        for located in results[key]:
            these.append(len(frames_out))
            layouts = located.layouts
            if layouts is None:  # not looked up, or nothing found: the request frame echoed
                append({"status": located.status, "original_index": index, **frame, **package})
                continue
            if shape >= 0:
                layout = layouts[shape]
                answer = (layout if layout is not None else located.lay_out(shape)).copy()
                answer["original_index"] = index
                if package:
                    answer["package"] = package["package"]
            else:
                answer = {"status": located.status, "original_index": index}
                answer.update((k, v) for k, v in frame.items() if k != "addr_mode")
                answer.update(package)
                answer.update(located.template)
            if delta:
                for field, addr in located.addresses:
                    answer[field] = hex(addr + delta)
            append(answer)
        if known is not None and made is not None:
            made[known] = frames_out[len(frames_out) - len(these) :]
    return frames_out, positions


class _Located:
    """One answer frame of the shared request, to be moved to where a profile loaded the module.

    `template` holds what the lookup found (the answer's keys but those of the request and `package`);
    `addresses` the addresses in it that move with the load address. `layouts` holds the answer frame of a
    request frame of nothing but its address and adjust flag, laid out for each flag, with and without
    `package`, each made when first needed; None when the frame was not looked up or found nothing (the
    profile's frame is echoed).
    """

    __slots__ = ("addresses", "layouts", "status", "template")

    _NOT_KEPT = frozenset(("status", "original_index", "package", *NOT_ECHOED))

    def __init__(self, result: Body) -> None:
        self.status = result.get("status")
        self.template = {k: v for k, v in result.items() if k not in self._NOT_KEPT}
        self.addresses: list[tuple[str, int]] = []
        for key in ("instruction_addr", "sym_addr"):
            addr = parse_addr(result.get(key))
            if addr is not None:
                self.addresses.append((key, addr))
        self.layouts: list[Body | None] | None = [None] * len(_SHAPES) if self.status == "symbolicated" else None

    def lay_out(self, shape: int) -> Body:
        """The layout of `shape` (an index of `_SHAPES`), made and kept."""
        adjust, packaged = _SHAPES[shape]
        layout: Body = {"status": self.status, "original_index": None, "instruction_addr": None}
        if adjust is not _ABSENT:
            layout["adjust_instruction_addr"] = adjust
        if packaged:
            layout["package"] = None
        layout.update(self.template)
        self.layouts[shape] = layout  # type: ignore[index]
        return layout


# A request frame without adjust flag; `_Located.layouts` are for no flag, false, true, each without and
# with a package.
_ABSENT = object()
_SHAPES = tuple((adjust, packaged) for adjust in (_ABSENT, False, True) for packaged in (False, True))


def _module_identity(module: Body) -> tuple[Any, ...] | None:
    """What names a module's debug file; None when its ids cannot be used (then it is `missing`)."""
    ids = [module.get("debug_id"), module.get("code_id")]
    if not any(ids):
        return None
    for identifier in ids:
        if identifier:
            try:
                symbol_store.normalize_id(identifier)
            except symbol_store.UnsafeIdentifier:
                return None
    return tuple(module.get(key) for key in _MODULE_IDENTITY)


def _module_to_send(module: Body) -> Body:
    sent = {key: module[key] for key in (*_MODULE_IDENTITY, "code_file", "image_size") if module.get(key) is not None}
    # rel:N frames need a non-zero image_addr or Symbolicator skips address adjustment.
    sent["image_addr"] = hex(parse_addr(module.get("image_addr")) or 0x1000)
    return sent


class _JsBatch:
    """JS requests of many profiles of one release and dist as few requests."""

    _KEY_FIELDS = ("abs_path", "lineno", "colno")

    def __init__(self, bodies: list[Body], max_frames: int) -> None:
        self.bodies = bodies
        self.max_frames = max_frames
        self.keys: dict[tuple[Any, ...], int] = {}
        for body in bodies:
            for stacktrace in body["stacktraces"]:
                for frame in stacktrace["frames"]:
                    self.keys.setdefault(self._key(frame), len(self.keys))

    @classmethod
    def _key(cls, frame: Body) -> tuple[Any, ...]:
        return tuple(frame.get(field) for field in cls._KEY_FIELDS)

    def answer(self, backend: SymbolicationBackend) -> list[Answer]:
        template = {key: value for key, value in self.bodies[0].items() if key != "stacktraces"}
        results: dict[tuple[Any, ...], Body] = {}
        failures: dict[tuple[Any, ...], Body | None] = {}
        errors: list[Body] = []
        for chunk in _chunks(list(self.keys), self.max_frames):
            if not chunk:
                break
            frames = [{k: v for k, v in zip(self._KEY_FIELDS, key, strict=True) if v is not None} for key in chunk]
            response = backend.js({**template, "stacktraces": [{"frames": frames}]})
            if not response or response.get("status") != "completed":
                for key in chunk:
                    failures[key] = response
                continue
            answered = (response.get("stacktraces") or [{}])[0].get("frames") or []
            for key, frame in zip(chunk, answered, strict=False):
                results[key] = frame
            errors.extend(error for error in response.get("errors") or [] if error not in errors)
        return [(self._profile_answer(body, results, failures, errors), None) for body in self.bodies]

    def _profile_answer(
        self,
        body: Body,
        results: dict[tuple[Any, ...], Body],
        failures: dict[tuple[Any, ...], Body | None],
        errors: list[Body],
    ) -> Body | None:
        stacktraces = []
        raw_stacktraces = []
        keys = set()
        for stacktrace in body["stacktraces"]:
            frames_out = []
            for frame in stacktrace["frames"]:
                key = self._key(frame)
                if key in failures:
                    return failures[key]
                keys.add(key)
                frames_out.append({**frame, **results.get(key, {})})
            stacktraces.append({"frames": frames_out})
            raw_stacktraces.append(
                {"frames": [{**frame, "data": {"symbolicated": False}} for frame in stacktrace["frames"]]}
            )
        answer: Body = {"status": "completed", "stacktraces": stacktraces, "raw_stacktraces": raw_stacktraces}
        own_errors = [error for error in errors if _error_of(error, keys)]
        if own_errors:
            answer["errors"] = sorted_js_errors(own_errors)
        return answer


def _error_of(error: Body, keys: set[tuple[Any, ...]]) -> bool:
    """Whether a JS error of the shared answer concerns frames of this profile (a file, or one place in it)."""
    if "line" in error:
        return any(key[0] == error.get("abs_path") and key[1] == error["line"] for key in keys)
    return any(key[0] == error.get("abs_path") for key in keys)
