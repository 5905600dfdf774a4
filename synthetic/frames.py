"""Frames, debug images and call stacks of generated profiles, per platform.

Every function takes the caller's seeded `random.Random`, so a profile depends on the seed only.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from synthetic.catalog import (
    CRASH_MACOS,
    CRASH_MACOS_INLINED,
    JS_ABS_PATH,
    PROGUARD_UUID,
    NativeModule,
    js_locations,
    jvm_methods,
    native_functions,
)

Frame = dict[str, Any]


def new_id(rng: random.Random) -> str:
    """A version-4 UUID as Relay serialises ids: 32 lowercase hex digits."""
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


# --- Python -----------------------------------------------------------------------------------

_PY_PACKAGES = (
    ("django.core.handlers", "/usr/local/lib/python3.11/site-packages/django/core/handlers/{}.py", False),
    ("django.db.models", "/usr/local/lib/python3.11/site-packages/django/db/models/{}.py", False),
    ("urllib3.connectionpool", "/usr/local/lib/python3.11/site-packages/urllib3/{}.py", False),
    ("threading", "/usr/local/lib/python3.11/{}.py", False),
    ("concurrent.futures", "/usr/local/lib/python3.11/concurrent/futures/{}.py", False),
    ("app.api.endpoints", "/srv/app/src/app/api/endpoints/{}.py", True),
    ("app.services", "/srv/app/src/app/services/{}.py", True),
    ("app.models", "/srv/app/src/app/models/{}.py", True),
)
_NOUNS = ("event", "project", "query", "result", "request", "batch", "user", "cache", "session", "stats")
_VERBS = ("get", "load", "build", "run", "serialize", "fetch", "handle", "process", "apply", "resolve")
_CLASSES = ("Handler", "Manager", "Query", "Executor", "Serializer", "Endpoint", "Worker", "Connection")


def python_frames(rng: random.Random, count: int) -> list[Frame]:
    frames = []
    for _ in range(count):
        module, path, in_app = rng.choice(_PY_PACKAGES)
        leaf = rng.choice(_NOUNS)
        function = f"{rng.choice(_CLASSES)}.{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"
        abs_path = path.format(leaf)
        frame: Frame = {
            "abs_path": abs_path,
            "filename": abs_path.split("/src/", 1)[-1] if in_app else abs_path.rsplit("/", 1)[-1],
            "function": function,
            "lineno": rng.randint(1, 900),
            "module": f"{module}.{leaf}",
        }
        if in_app:
            frame["in_app"] = True
        frames.append(frame)
    return frames


# --- JavaScript (browser, node, React Native) -------------------------------------------------


def js_bundle_frame(rng: random.Random, platform: str | None = None) -> Frame:
    """A frame inside the fixture bundle that its source map resolves."""
    location = rng.choice(js_locations())
    frame: Frame = {
        "function": location.function,
        "abs_path": JS_ABS_PATH,
        "filename": "embedded.js",
        "lineno": location.lineno,
        "colno": location.colno,
        "in_app": True,
    }
    if platform is not None:
        frame["platform"] = platform
    return frame


_NODE_BUILTINS = (
    ("processTicksAndRejections", "node:internal/process/task_queues"),
    ("listOnTimeout", "node:internal/timers"),
    ("emit", "node:events"),
    ("onStreamRead", "node:internal/stream_base_commons"),
)
_NODE_MODULES = (
    ("handle", "/srv/app/node_modules/express/lib/router/layer.js"),
    ("next", "/srv/app/node_modules/express/lib/router/route.js"),
    ("query", "/srv/app/node_modules/pg/lib/client.js"),
)
_BROWSER_NATIVE = (("[native code]", "[native code]"), ("requestAnimationFrame", "[native code]"))


def node_frames(rng: random.Random, count: int) -> list[Frame]:
    """Bundle frames, Node built-ins (never sent for symbolication) and third-party modules."""
    frames = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.6:
            frames.append(js_bundle_frame(rng))
            continue
        function, abs_path = rng.choice(_NODE_BUILTINS if roll < 0.8 else _NODE_MODULES)
        frames.append(
            {
                "function": function,
                "abs_path": abs_path,
                "filename": abs_path.rsplit("/", 1)[-1],
                "lineno": rng.randint(1, 600),
                "colno": rng.randint(1, 80),
                "in_app": False,
            }
        )
    return frames


def browser_frames(rng: random.Random, count: int) -> list[Frame]:
    frames = []
    for _ in range(count):
        if rng.random() < 0.85:
            frames.append(js_bundle_frame(rng))
        else:
            function, abs_path = rng.choice(_BROWSER_NATIVE)
            frames.append({"function": function, "abs_path": abs_path, "in_app": False})
    return frames


# --- Native -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModule:
    """A native module at the address one process loaded it."""

    module: NativeModule
    image_addr: int

    def image(self) -> dict[str, Any]:
        image: dict[str, Any] = {
            "type": self.module.image_type,
            "code_file": self.module.code_file,
            "debug_id": self.module.debug_id,
            "image_addr": hex(self.image_addr),
            "image_vmaddr": hex(self.module.image_vmaddr),
            "image_size": self.module.image_size,
            "arch": self.module.arch,
        }
        if self.module.code_id:
            image["code_id"] = self.module.code_id
        return image


def load(rng: random.Random, modules: tuple[NativeModule, ...]) -> list[LoadedModule]:
    """Page-aligned load addresses that differ per process (ASLR) and never overlap."""
    base = (0x100000000 if modules[0].image_type == "macho" else 0x55D000000000) + rng.randrange(1, 0x4000) * 0x1000
    loaded = []
    for module in modules:
        loaded.append(LoadedModule(module, base))
        base += (module.image_size + 0xFFFF) // 0x1000 * 0x1000 + rng.randrange(0, 16) * 0x1000
    return loaded


def native_frames(
    rng: random.Random, count: int, loaded: list[LoadedModule], platform: str | None = None
) -> list[Frame]:
    """Raw SDK frames: only an absolute instruction address inside a real function of a loaded module."""
    frames = []
    for _ in range(count):
        target = rng.choice(loaded)
        if target.module is CRASH_MACOS and rng.random() < 0.05:
            relative = CRASH_MACOS_INLINED
        else:
            relative = rng.choice(native_functions(target.module)).address
        frame: Frame = {"instruction_addr": hex(target.image_addr + relative)}
        if platform is not None:
            frame["platform"] = platform
        frames.append(frame)
    return frames


# --- Android / JVM ----------------------------------------------------------------------------

_ANDROID_FRAMEWORK = (
    ("android.os.Looper", "loop", "()V", "Looper.java", 223),
    ("android.os.Handler", "dispatchMessage", "(Landroid/os/Message;)V", "Handler.java", 99),
    ("android.app.ActivityThread", "main", "([Ljava/lang/String;)V", "ActivityThread.java", 7839),
    ("android.app.Activity", "performCreate", "(Landroid/os/Bundle;)V", "Activity.java", 8051),
    ("android.view.Choreographer", "doFrame", "(JI)V", "Choreographer.java", 1035),
    ("java.lang.reflect.Method", "invoke", "(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;", None, 0),
    ("com.android.internal.os.ZygoteInit", "main", "([Ljava/lang/String;)V", "ZygoteInit.java", 947),
)


def android_methods(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Trace methods: obfuscated app methods of the mapping, and framework methods that are not."""
    app = jvm_methods()
    methods = []
    for index in range(count):
        method: dict[str, Any]
        if index < len(_ANDROID_FRAMEWORK) or rng.random() < 0.25:
            class_name, name, signature, source_file, line = rng.choice(_ANDROID_FRAMEWORK)
            method = {"class_name": class_name, "name": name, "signature": signature}
            if source_file:
                method["source_file"] = source_file
                method["source_line"] = line
        else:
            chosen = rng.choice(app)
            method = {
                "class_name": chosen.class_name,
                "name": chosen.name,
                "signature": chosen.signature,
                "source_file": chosen.source_file,
                "source_line": chosen.line,
            }
        method["id"] = index
        methods.append(method)
    return methods


def java_frames(rng: random.Random, count: int) -> list[Frame]:
    """Perfetto-converted Java frames (platform `java`), obfuscated where the app's mapping says so."""
    return [
        {
            "function": method["name"],
            "module": method["class_name"],
            "lineno": method.get("source_line", 0),
            "platform": "java",
        }
        for method in android_methods(rng, count)
    ]


def proguard_image() -> dict[str, Any]:
    return {"type": "proguard", "uuid": PROGUARD_UUID}


# --- Call stacks and sampling -----------------------------------------------------------------


def call_stacks(rng: random.Random, frame_count: int, stack_count: int, depth: tuple[int, int]) -> list[list[int]]:
    """Leaf-first stacks that share callers the way successive samples of one call tree do.

    Frames are drawn from a shuffled cycle so that every frame appears in some stack.
    """
    order = list(range(frame_count))
    rng.shuffle(order)
    position = 0
    stacks: list[list[int]] = []
    path: list[int] = []  # root first
    low, high = depth
    for _ in range(stack_count):
        del path[rng.randint(min(len(path), low // 2), len(path)) :]
        target = rng.randint(low, high)
        while len(path) < target:
            path.append(order[position % frame_count])
            position += 1
        stacks.append(path[::-1])
    return stacks


def assign_stacks(rng: random.Random, stack_count: int, threads: list[Any]) -> dict[Any, list[int]]:
    """Stacks per thread: the first (main or active) thread runs most of them."""
    per_thread: dict[Any, list[int]] = {thread: [] for thread in threads}
    for stack_id in range(stack_count):
        thread = threads[0] if rng.random() < 0.6 or len(threads) == 1 else rng.choice(threads[1:])
        per_thread[thread].append(stack_id)
    for stacks in per_thread.values():
        if not stacks:
            stacks.append(rng.randrange(stack_count))
    return per_thread


def timeline(rng: random.Random, ticks: int, per_thread: dict[Any, list[int]]) -> list[tuple[int, Any, int]]:
    """(tick, thread, stack id) per sample: every thread sampled each tick, stacks change in runs."""
    current = {thread: stacks[0] for thread, stacks in per_thread.items()}
    samples = []
    for tick in range(ticks):
        for thread, stacks in per_thread.items():
            if rng.random() < 0.3:
                current[thread] = rng.choice(stacks)
            samples.append((tick, thread, current[thread]))
    return samples
