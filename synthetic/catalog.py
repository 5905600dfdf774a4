"""What the fixtures hold, read with the real tools so that generated frames resolve.

Native modules are scanned with `symbolic` SymCaches for addresses inside real functions, JavaScript
locations come from the source map's own tokens, and Android methods from the ProGuard mapping (kept
only when `symbolic`'s mapper remaps them). Each catalogue is built once per process.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import symbolic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Symbols that cover headers or linker stubs rather than code.
_NOT_CODE = frozenset({"_mh_execute_header", "_init", "_fini"})


@dataclass(frozen=True)
class NativeModule:
    """A debug file of the fixtures, and how a process would have loaded it."""

    name: str
    path: str  # relative to the fixtures directory
    image_type: str  # debug_meta image type: macho | elf
    code_file: str
    debug_id: str
    code_id: str | None
    arch: str
    image_vmaddr: int
    image_size: int
    scan_end: int  # relative addresses below this are scanned for functions


HELLO_MACHO = NativeModule(
    name="hello",
    path="debug-files/hello-macho.dwarf",
    image_type="macho",
    code_file="/Applications/Hello.app/Contents/MacOS/hello",
    debug_id="502fc0a5-1ec1-3e47-9998-684fa139dca7",
    code_id=None,
    arch="x86_64",
    image_vmaddr=0x100000000,
    image_size=0x1000,
    scan_end=0x1000,
)
CRASH_MACOS = NativeModule(
    name="crash",
    path="debug-files/crash-macos.dwarf",
    image_type="macho",
    code_file="/Applications/Crash.app/Contents/MacOS/crash",
    debug_id="67e9247c-814e-392b-a027-dbde6748fcbf",
    code_id=None,
    arch="x86_64",
    image_vmaddr=0x100000000,
    image_size=0xE000,
    scan_end=0xE000,
)
CRASH_LINUX = NativeModule(
    name="crash",
    path="debug-files/crash-linux.debug",
    image_type="elf",
    code_file="/usr/local/bin/crash",
    debug_id="c0bcc3f1-9827-fe65-3058-404b2831d9e6",
    code_id="f1c3bcc0279865fe3058404b2831d9e64135386c",
    arch="x86_64",
    image_vmaddr=0,
    image_size=0x16000,
    scan_end=0x15000,
)
NATIVE_MODULES = (HELLO_MACHO, CRASH_MACOS, CRASH_LINUX)

# Relative address in crash-macos.dwarf that resolves to an inlined chain (crash <- start <- main).
CRASH_MACOS_INLINED = 0xDC15

PROGUARD_MAPPING = "proguard/sample-app.txt"
PROGUARD_UUID = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"

JS_BUNDLE = "sourcemaps/embedded.js"
JS_SOURCEMAP = "sourcemaps/embedded.js.map"
JS_ABS_PATH = "app:///embedded.js"
# The bundle carries no `debugId` comment; generated `sourcemap` images name it by this id, so a store
# can hold it by debug id as well as by release and path.
JS_DEBUG_ID = "8d4a3b5e-2c61-4f0a-9b7e-1f3c5d7e9a20"


@dataclass(frozen=True)
class NativeFunction:
    """A relative address inside a real function, safe to use as return address too."""

    address: int
    symbol: str


@functools.cache
def native_functions(module: NativeModule) -> tuple[NativeFunction, ...]:
    """Up to four addresses per function of the module, each with `address - 1` in the same function.

    The second condition matters for caller frames: Symbolicator looks them up one byte lower.
    """
    archive = symbolic.Archive.open(str(FIXTURES / module.path))
    symcache = next(iter(archive.iter_objects())).make_symcache()
    per_symbol: dict[str, list[int]] = {}
    previous: str | None = None
    for address in range(module.scan_end):
        found = symcache.lookup(address)
        outer = found[-1].symbol if found else None
        if outer is not None and outer not in _NOT_CODE and outer == previous:
            per_symbol.setdefault(outer, []).append(address)
        previous = outer
    functions = []
    for symbol, addresses in per_symbol.items():
        step = max(1, len(addresses) // 4)
        functions.extend(NativeFunction(address, symbol) for address in addresses[::step][:4])
    return tuple(functions)


@dataclass(frozen=True)
class JsLocation:
    """A position in the minified bundle (1-based line and column) and what it maps to."""

    lineno: int
    colno: int
    function: str
    source: str
    source_line: int


@functools.cache
def js_locations() -> tuple[JsLocation, ...]:
    """One location per distinct original position of the bundle's first line."""
    bundle = (FIXTURES / JS_BUNDLE).read_bytes()
    cache = symbolic.SourceMapCache.from_bytes(bundle, (FIXTURES / JS_SOURCEMAP).read_bytes())
    first_line = bundle.split(b"\n", 1)[0]
    locations: list[JsLocation] = []
    seen: set[tuple[str, int, int]] = set()
    for column in range(1, len(first_line) + 1):
        token = cache.lookup(1, column, 0)
        if token is None or not token.function_name:
            continue
        key = (token.src, token.line, token.col)
        if key not in seen:
            seen.add(key)
            locations.append(JsLocation(1, column, token.function_name, token.src, token.line))
    return tuple(locations)


@dataclass(frozen=True)
class JvmMethod:
    """An obfuscated method as an Android trace names it, with a line the mapping knows."""

    class_name: str
    name: str
    signature: str
    line: int
    source_file: str


_CLASS_LINE = re.compile(r"^(\S+) -> (\S+):$")
_METHOD_LINE = re.compile(r"^\s+(\d+):(\d+):(\S+) ([^\s(]+)\(([^)]*)\)(?::\d+)*(?::\d+)? -> (\S+)$")
_PRIMITIVES = {
    "boolean": "Z",
    "byte": "B",
    "char": "C",
    "short": "S",
    "int": "I",
    "long": "J",
    "float": "F",
    "double": "D",
    "void": "V",
}


def _descriptor(type_name: str, obfuscated: dict[str, str]) -> str:
    dimensions = type_name.count("[]")
    base = type_name.replace("[]", "")
    code = _PRIMITIVES.get(base) or "L" + obfuscated.get(base, base).replace(".", "/") + ";"
    return "[" * dimensions + code


@functools.cache
def jvm_methods() -> tuple[JvmMethod, ...]:
    """Obfuscated methods of the sample app's mapping that `symbolic` remaps, one per (class, method)."""
    lines = (FIXTURES / PROGUARD_MAPPING).read_text().splitlines()
    obfuscated = {match[1]: match[2] for match in map(_CLASS_LINE.match, lines) if match}
    mapper = symbolic.ProguardMapper.open(str(FIXTURES / PROGUARD_MAPPING))
    methods: list[JvmMethod] = []
    seen: set[tuple[str, str]] = set()
    current: tuple[str, str] | None = None
    for line in lines:
        class_match = _CLASS_LINE.match(line)
        if class_match:
            current = (class_match[1], class_match[2])
            continue
        method_match = _METHOD_LINE.match(line)
        if current is None or method_match is None:
            continue
        original_class, class_name = current
        name = method_match[6]
        if (class_name, name) in seen or (class_name == original_class and name == method_match[4]):
            continue
        line_no = int(method_match[1])
        if not mapper.remap_frame(class_name, name, line_no):
            continue
        seen.add((class_name, name))
        params = [p for p in method_match[5].split(",") if p]
        signature = "(" + "".join(_descriptor(p, obfuscated) for p in params) + ")"
        signature += _descriptor(method_match[3], obfuscated)
        methods.append(JvmMethod(class_name, name, signature, line_no, "SourceFile"))
    return tuple(methods)
