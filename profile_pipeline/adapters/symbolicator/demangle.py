"""Function names as Symbolicator shows them: demangled, with parameters, without return types.

Symbolicator demangles C++ with the Rust `cpp_demangle` crate (bound here by `cpp-demangle`), asking
for parameters but no return type; the binding has no options, so the return type that Itanium
encodes for template functions is cut off the text here. Rust symbols (legacy `_ZN…17h<hash>E` and
v0 `_R…`) are shown without hash and disambiguators, as `rustc-demangle`'s alternate form does; LLVM's
Rust demangler (`pydemumble`) gives that form. Swift symbols go through LLVM's Swift demangler, their
result type cut off likewise.
Names that are not mangled (C, Objective-C) and symbols no demangler reads stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cpp_demangle import demangle as _cpp_demangle
from pydemumble import demangle as _llvm_demangle

_RUST_LEGACY = re.compile(r"^_?_ZN.*17h[0-9a-f]{16}E$")
# LLVM's demangler in pydemumble 0.1.1 (the Python 3.11 wheels) drops the legacy hash segment, the one in
# 0.1.2+ (3.12 and later) keeps it as `::h<hex>`; Symbolicator shows the name without it.
_RUST_LEGACY_HASH = re.compile(r"::h[0-9a-f]{16}$")
_SWIFT_PREFIXES = ("$s", "_$s", "$S", "_$S", "$e", "_$e", "_T0", "__T0")
# Names that are not functions with a signature: never a return type in front of them.
_SPECIAL_PREFIXES = (
    "non-virtual thunk to ",
    "virtual thunk to ",
    "covariant return thunk to ",
    "vtable for ",
    "VTT for ",
    "typeinfo for ",
    "typeinfo name for ",
    "construction vtable for ",
    "guard variable for ",
    "reference temporary ",
    "transaction clone for ",
    "TLS init function for ",
    "TLS wrapper function for ",
)
_OPEN = "(<[{"
_CLOSE = ")>]}"
# Operator names, longest first (`operator<<=` before `operator<<` before `operator<`).
_OPERATORS = sorted(
    [
        "<<=",
        ">>=",
        "<=>",
        "->*",
        "()",
        "[]",
        "<<",
        ">>",
        "<=",
        ">=",
        "==",
        "!=",
        "&&",
        "||",
        "++",
        "--",
        "+=",
        "-=",
        "*=",
        "/=",
        "%=",
        "&=",
        "|=",
        "^=",
        "->",
        ",",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "&",
        "|",
        "~",
        "!",
        "=",
        "<",
        ">",
    ],
    key=len,
    reverse=True,
)


@lru_cache(maxsize=65536)
def demangle_name(symbol: str) -> str:
    """The name Symbolicator gives the function of `symbol`; the symbol itself when it is not mangled."""
    if not symbol:
        return symbol
    if symbol.startswith("_R") or _RUST_LEGACY.match(symbol):
        return _RUST_LEGACY_HASH.sub("", _llvm_demangle(symbol)) or symbol
    if symbol.startswith(_SWIFT_PREFIXES):
        demangled = _llvm_demangle(symbol)
        return _without_swift_result(demangled) if demangled and demangled != symbol else symbol
    if symbol.startswith(("_Z", "__Z")):
        try:
            demangled = _cpp_demangle(symbol[1:] if symbol.startswith("__Z") else symbol)
        except ValueError:
            return symbol
        return without_return_type(demangled) or symbol
    return symbol


def without_return_type(name: str) -> str:
    """`void ns::f<int>(int)` ⇒ `ns::f<int>(int)`: drop what precedes the function's name."""
    for prefix in _SPECIAL_PREFIXES:
        if name.startswith(prefix):
            return prefix + without_return_type(name[len(prefix) :])
    spaces = _top_level_spaces(name)
    return name[spaces[-1] + 1 :] if spaces else name


def _without_swift_result(name: str) -> str:
    """`App.run(Swift.Int) -> ()` ⇒ `App.run(Swift.Int)`: cut at the last arrow outside brackets."""
    depth = 0
    cut = len(name)
    for index, char in enumerate(name):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE and not (char == ">" and name[index - 1] == "-"):
            depth = max(depth - 1, 0)
        elif depth == 0 and name.startswith(" -> ", index):
            cut = index
    return name[:cut]


def _top_level_spaces(name: str) -> list[int]:
    """Spaces outside brackets and operator names, before the parameter list."""
    depth = 0
    spaces: list[int] = []
    index = 0
    length = len(name)
    while index < length:
        char = name[index]
        if char == "o" and name.startswith("operator", index) and (index == 0 or name[index - 1] in ": "):
            index = _after_operator(name, index + len("operator"))
            continue
        if char in _OPEN:
            # The parameter list follows the name directly (`decltype (...)` is a return type).
            if char == "(" and depth == 0 and index > 0 and name[index - 1] != " ":
                return spaces
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == " " and depth == 0:
            spaces.append(index)
        index += 1
    return spaces


def _after_operator(name: str, index: int) -> int:
    """The position after an operator's name: its symbol characters, or a conversion's type."""
    if name.startswith(" new", index) or name.startswith(" delete", index):
        index += 4 if name.startswith(" new", index) else 7
        return index + 2 if name.startswith("[]", index) else index
    if index < len(name) and name[index] == " ":  # `operator unsigned int()`: a conversion
        depth = 0
        while index < len(name) and not (name[index] == "(" and depth == 0):
            if name[index] in "<[{":
                depth += 1
            elif name[index] in ">]}":
                depth -= 1
            index += 1
        return index
    if name.startswith('""', index):  # user-defined literal: `operator"" _km`
        return index + 2
    for operator in _OPERATORS:
        if name.startswith(operator, index):
            index += len(operator)
            # `operator< <int>(…)`: the space keeps `<` apart from the template arguments; it is no
            # separator between a return type and the name.
            return index + 1 if name.startswith(" <", index) else index
    return index
