"""What a Symbolicator answers to: request and response bodies, and the three endpoints the job calls.

A backend takes Symbolicator request bodies (SPEC Part II §6.2) and answers with Symbolicator
response bodies (§6.3). `None` means no answer could be had (network faults, deadline passed); the
caller then records `symbolicator_error` and the profile continues unsymbolicated.
"""

from __future__ import annotations

from typing import Any, Protocol

Body = dict[str, Any]


class SymbolicationBackend(Protocol):
    def native(self, request: Body) -> Body | None:
        """`POST /symbolicate`: native frames against Mach-O/ELF/... modules."""

    def js(self, request: Body) -> Body | None:
        """`POST /symbolicate-js`: JavaScript frames against source maps."""

    def jvm(self, request: Body) -> Body | None:
        """`POST /symbolicate-jvm`: JVM frames against ProGuard mappings."""
