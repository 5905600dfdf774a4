"""Symbolication of many profiles at once: one deduplicated request per pass platform (SPEC §I.6).

Every profile goes through §4.5 exactly as alone (`profile.ProfileSymbolication`); only the backend
calls are shared. Per pass round, the per-profile requests are grouped (native by platform; JS by
platform, release, dist and source-map modules), their frames deduplicated — native by (module,
module-relative address, adjust flag) and sent as `rel:N`, JS by (abs_path, lineno, colno) — sent in
requests of at most `max_frames_per_request` frames, and the answers cut back into the answer each
profile would have had for its own request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from transforms import symbol_store
from transforms.symbolication.addresses import (
    InvalidRequest,
    adjustments,
    module_ranges,
    parse_addr,
    resolve_frame,
)
from transforms.symbolication.backend import Body, SymbolicationBackend
from transforms.symbolication.profile import PassRequest, ProfileSymbolication

logger = logging.getLogger(__name__)

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
    runs: list[tuple[int, ProfileSymbolication, SymbolicationBackend]] = []
    for position, (profile, project_id) in enumerate(profiles):
        run = ProfileSymbolication(profile)
        try:
            run.start()
            if not run.done:
                runs.append((position, run, backend_for(project_id)))
        except Exception as error:
            errors[position] = error
    while runs:
        requests: list[tuple[int, ProfileSymbolication, SymbolicationBackend, PassRequest]] = []
        for position, run, backend in runs:
            try:
                requests.append((position, run, backend, run.next_request()))
            except Exception as error:
                errors[position] = error
        answers = _answer_all([(backend, request) for _, _, backend, request in requests], max_frames_per_request)
        for (position, run, _, request), answer in zip(requests, answers, strict=True):
            try:
                run.apply(request, answer)
            except Exception as error:
                errors[position] = error
        runs = [(pos, run, backend) for pos, run, backend in runs if not run.done and errors[pos] is None]
    return errors


def _answer_all(requests: list[tuple[SymbolicationBackend, PassRequest]], max_frames: int) -> list[Body | None]:
    """The per-profile answers of one round, with one set of backend calls per group."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, (backend, request) in enumerate(requests):
        groups.setdefault((id(backend), *_group_key(request)), []).append(position)
    answers: list[Body | None] = [None] * len(requests)
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


class _NativeBatch:
    """Native requests of many profiles as few module-relative requests."""

    def __init__(self, bodies: list[Body], max_frames: int) -> None:
        self.bodies = bodies
        self.max_frames = max_frames
        self.platform = bodies[0]["platform"]
        self.options = bodies[0]["options"]
        self.modules: dict[tuple[Any, ...], Body] = {}  # identity ⇒ module sent
        self.bases: dict[tuple[Any, ...], int] = {}  # identity ⇒ its image_addr in the shared requests
        self.keys: dict[tuple[Any, ...], int] = {}  # (identity, relative address, adjust) ⇒ unique frame
        # Per profile: None (invalid request) or, per stacktrace and frame, its key or why it has none.
        self.plans: list[list[list[Any]] | None] = [self._plan(body) for body in bodies]

    def _plan(self, body: Body) -> list[list[Any]] | None:
        modules = body["modules"]
        ranges = module_ranges(modules)
        identities = [_module_identity(module) for module in modules]
        plan = []
        for stacktrace in body["stacktraces"]:
            frames = stacktrace["frames"]
            row: list[Any] = []
            for frame, adjust in zip(frames, adjustments(frames), strict=True):
                try:
                    located = resolve_frame(frame, modules, ranges)
                except InvalidRequest:
                    return None
                if located is None:
                    row.append(("unknown_image", None))
                    continue
                module_index, relative = located
                identity = identities[module_index]
                if identity is None:
                    row.append(("missing", module_index))
                    continue
                if identity not in self.modules:
                    self.modules[identity] = _module_to_send(modules[module_index])
                    self.bases[identity] = parse_addr(self.modules[identity]["image_addr"]) or 0
                key = (identity, relative, adjust)
                self.keys.setdefault(key, len(self.keys))
                row.append((key, module_index))
            plan.append(row)
        return plan

    def answer(self, backend: SymbolicationBackend) -> list[Body | None]:
        results: dict[tuple[Any, ...], list[Body]] = {}
        module_answers: dict[tuple[Any, ...], Body] = {}
        failures: dict[tuple[Any, ...], Body | None] = {}
        for chunk in _chunks(list(self.keys), self.max_frames):
            if not chunk:
                break
            identities = list(dict.fromkeys(key[0] for key in chunk))
            slot = {identity: index for index, identity in enumerate(identities)}
            frames = [
                {
                    "instruction_addr": hex(relative),
                    "addr_mode": f"rel:{slot[identity]}",
                    "adjust_instruction_addr": adjust,
                }
                for identity, relative, adjust in chunk
            ]
            request = {
                "platform": self.platform,
                "options": self.options,
                "stacktraces": [{"frames": frames}],
                "modules": [self.modules[identity] for identity in identities],
            }
            response = backend.native(request)
            if not response or response.get("status") != "completed":
                for key in chunk:
                    failures[key] = response
                continue
            expanded: dict[int, list[Body]] = {}
            for frame in (response.get("stacktraces") or [{}])[0].get("frames") or []:
                expanded.setdefault(frame.get("original_index", 0), []).append(frame)
            for index, key in enumerate(chunk):
                results[key] = expanded.get(index, [])
            for identity, module in zip(identities, response.get("modules") or [], strict=False):
                module_answers.setdefault(identity, module)
        return [
            self._profile_answer(body, plan, results, module_answers, failures)
            for body, plan in zip(self.bodies, self.plans, strict=True)
        ]

    def _profile_answer(
        self,
        body: Body,
        plan: list[list[Any]] | None,
        results: dict[tuple[Any, ...], list[Body]],
        module_answers: dict[tuple[Any, ...], Body],
        failures: dict[tuple[Any, ...], Body | None],
    ) -> Body | None:
        if plan is None:
            return {"status": "failed", "message": "invalid addr_mode in request"}
        for row in plan:
            for key, _ in row:
                if key in failures:
                    return failures[key]
        modules = body["modules"]
        used: dict[int, str | None] = {}
        rebased: dict[tuple[Any, ...], list[Body]] = {}  # a frame's answer, moved to this profile's load address
        stacktraces = []
        for stacktrace, row in zip(body["stacktraces"], plan, strict=True):
            frames_out: list[Body] = []
            for index, (frame, (key, module_index)) in enumerate(zip(stacktrace["frames"], row, strict=True)):
                base = {k: v for k, v in frame.items() if k not in ("addr_mode", "adjust_instruction_addr")}
                base["original_index"] = index
                if module_index is None:
                    frames_out.append({**base, "status": key})
                    continue
                module = modules[module_index]
                if module.get("code_file"):
                    base["package"] = module["code_file"]
                if key == "missing":
                    used[module_index] = "missing"
                    frames_out.append({**base, "status": "missing"})
                    continue
                used.setdefault(module_index, None)
                if key not in rebased:
                    delta = (parse_addr(module.get("image_addr")) or 0) - self.bases[key[0]]
                    rebased[key] = [_rebase(result, delta) for result in results.get(key, [])]
                frames_out.extend({**base, **result} for result in rebased[key])
            stacktraces.append({"frames": frames_out})
        modules_out = []
        for index, module in enumerate(modules):
            answer = dict(module)
            if index not in used:
                answer["debug_status"] = "unused"
            elif used[index] is not None:
                answer["debug_status"] = used[index]
            else:
                known = module_answers.get(_module_identity(module) or (), {})
                answer.update({k: v for k, v in known.items() if k not in _MODULE_REQUEST_KEYS or k == "arch"})
            modules_out.append(answer)
        return {"status": "completed", "stacktraces": stacktraces, "modules": modules_out}


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


def _rebase(result: Body, delta: int) -> Body:
    """An answer frame of the shared request, moved by `delta` to where a profile loaded the module."""
    frame = {k: v for k, v in result.items() if k not in ("original_index", "package")}
    for key in ("instruction_addr", "sym_addr"):
        addr = parse_addr(result.get(key))
        if addr is not None:
            frame[key] = hex(addr + delta)
    return frame


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

    def answer(self, backend: SymbolicationBackend) -> list[Body | None]:
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
            errors.extend(response.get("errors") or [])
        return [self._profile_answer(body, results, failures, errors) for body in self.bodies]

    def _profile_answer(
        self,
        body: Body,
        results: dict[tuple[Any, ...], Body],
        failures: dict[tuple[Any, ...], Body | None],
        errors: list[Body],
    ) -> Body | None:
        stacktraces = []
        paths = set()
        for stacktrace in body["stacktraces"]:
            frames_out = []
            for frame in stacktrace["frames"]:
                key = self._key(frame)
                if key in failures:
                    return failures[key]
                paths.add(frame.get("abs_path"))
                frames_out.append({**frame, **results.get(key, {})})
            stacktraces.append({"frames": frames_out})
        return {
            "status": "completed",
            "stacktraces": stacktraces,
            "raw_stacktraces": body["stacktraces"],
            "errors": [error for error in errors if error.get("abs_path") in paths],
        }
