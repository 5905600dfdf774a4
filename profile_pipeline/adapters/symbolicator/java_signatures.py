"""JVM method descriptors as readable Java signatures (SPEC Part II §4.6).

`(Ljava/lang/String;[IZ)Ljava/util/List;` reads as `(java.lang.String, int[], boolean): java.util.List`.
Class names inside a descriptor may be obfuscated; `remap_class` (a ProGuard mapper's class lookup)
turns them back into the original names when it knows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BASE_TYPES = {
    "Z": "boolean",
    "B": "byte",
    "C": "char",
    "S": "short",
    "I": "int",
    "J": "long",
    "F": "float",
    "D": "double",
    "V": "void",
}

RemapClass = Callable[[str], "str | None"]


@dataclass(frozen=True)
class JavaTypes:
    """The parameter types and the return type of a method, as Java source names."""

    parameters: tuple[str, ...]
    return_type: str


def _tokenize_parameters(text: str) -> list[str] | None:
    """Descriptor tokens of a parameter list, arrays with their `[` prefix; None when malformed."""
    tokens: list[str] = []
    arrays = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in BASE_TYPES:
            tokens.append("[" * arrays + char)
            arrays = 0
        elif char == "L":
            end = text.find(";", position)
            if end < 0:
                return None
            tokens.append("[" * arrays + text[position : end + 1])
            arrays = 0
            position = end
        elif char == "[":
            arrays += 1
        else:
            arrays = 0
        position += 1
    return tokens


def _java_type(token: str, remap_class: RemapClass | None) -> str:
    if not token:
        return ""
    head = token[0]
    if head in BASE_TYPES:
        return BASE_TYPES[head]
    if head == "L" and token.endswith(";"):
        name = token[1:-1].replace("/", ".")
        return (remap_class(name) if remap_class else None) or name
    if head == "[":
        return _java_type(token[1:], remap_class) + "[]"
    return token


def deobfuscate_signature(signature: str, remap_class: RemapClass | None = None) -> JavaTypes | None:
    """The Java types of a JVM method descriptor; None when it is not a well-formed descriptor."""
    if not isinstance(signature, str) or not signature.startswith("("):
        return None
    parameters_text, closing, return_text = signature[1:].rpartition(")")
    if not closing:
        return None
    tokens = _tokenize_parameters(parameters_text)
    if tokens is None:
        return None
    parameters = tuple(_java_type(token, remap_class) for token in tokens)
    return_type = _java_type(return_text, remap_class)
    if not parameters and not return_type:
        return None
    return JavaTypes(parameters, return_type)


def format_signature(types: JavaTypes | None) -> str:
    """`(a, b): ret`, without the return type when it is void; "" for no types."""
    if types is None:
        return ""
    text = "(" + ", ".join(types.parameters) + ")"
    if types.return_type and types.return_type != "void":
        text += ": " + types.return_type
    return text


def readable_signature(signature: str, remap_class: RemapClass | None = None) -> str:
    """`format_signature(deobfuscate_signature(...))`: the form stored on Android methods."""
    return format_signature(deobfuscate_signature(signature, remap_class))
