"""Function names as Symbolicator shows them: demangled, name only (no parameters, no return type).

`pydemumble` (LLVM's demanglers) reads Itanium C++, Rust (legacy and v0) and Swift symbols; its full
signature is cut down here to the qualified name. What stays as the symbol: names that are not
mangled (C, Objective-C) and symbols LLVM cannot read. Swift closures, thunks and specializations
keep LLVM's descriptive text (e.g. `closure #1 () -> () in App.run()` becomes `closure #1 () -> () in
App.run`), which is longer than Symbolicator's simplified Swift names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydemumble import demangle as _llvm_demangle

_CLONE_SUFFIX = re.compile(r"( \(\.[A-Za-z0-9_.]+\))+$")
# Rust's legacy mangling ends in a hash segment (`17h<16 hex digits>E`). LLVM's demangler in pydemumble
# 0.1.1 (the Python 3.11 wheels) drops it, the one in 0.1.2+ (3.12 and later) keeps it as `::h<hex>`.
_RUST_LEGACY_HASH_SEGMENT = re.compile(r"17h[0-9a-f]{16}E$")
_RUST_LEGACY_HASH = re.compile(r"::h[0-9a-f]{16}$")
_TRAILING_QUALIFIERS = re.compile(r"(\s*(const|volatile|&&|&|noexcept))+$")
_OPEN = "(<["
_CLOSE = ")>]"


@lru_cache(maxsize=65536)
def demangle_name(symbol: str) -> str:
    """The demangled name of `symbol` without parameters; the symbol itself when it is not mangled."""
    demangled = _llvm_demangle(symbol) if symbol else ""
    if not demangled or demangled == symbol:
        return symbol
    if _RUST_LEGACY_HASH_SEGMENT.search(symbol):
        demangled = _RUST_LEGACY_HASH.sub("", demangled)
    name = _CLONE_SUFFIX.sub("", demangled)
    name = _strip_swift_result(name)
    name = _TRAILING_QUALIFIERS.sub("", name)
    name = _strip_parameters(name)
    return _strip_return_type(name) or symbol


def _depths(text: str) -> list[int]:
    """Bracket depth before each character; `operator<`-style names are rare enough to ignore."""
    depth, out = 0, []
    for char in text:
        if char in _CLOSE:
            depth = max(depth - 1, 0)
        out.append(depth)
        if char in _OPEN:
            depth += 1
    return out


def _strip_swift_result(name: str) -> str:
    """`App.run(Swift.Int) -> ()` ⇒ `App.run(Swift.Int)`: cut at the last top-level arrow."""
    depths = _depths(name)
    for index in range(len(name) - 4, -1, -1):
        if name.startswith(" -> ", index) and depths[index] == 0:
            return name[:index]
    return name


def _strip_parameters(name: str) -> str:
    """Drop the final top-level parenthesised parameter list."""
    if not name.endswith(")"):
        return name
    depths = _depths(name)
    for index in range(len(name) - 1, -1, -1):
        if name[index] == "(" and depths[index] == 0:
            # `(anonymous namespace)` at the very start is a scope, not a parameter list.
            return name[:index] if index > 0 else name
    return name


def _strip_return_type(name: str) -> str:
    """`void foo::bar<int>` ⇒ `foo::bar<int>`: keep what follows the last top-level space."""
    depths = _depths(name)
    for index in range(len(name) - 1, -1, -1):
        if name[index] == " " and depths[index] == 0:
            return name[index + 1 :]
    return name
