"""JVM descriptor rules of SPEC Part II §4.6, with and without a ProGuard mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from symbolic import ProguardMapper

from profile_pipeline.adapters.symbolicator.java_signatures import (
    JavaTypes,
    deobfuscate_signature,
    format_signature,
    readable_signature,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "proguard"


@pytest.mark.parametrize(
    ("descriptor", "readable"),
    [
        # The examples of §4.6.
        ("(Ljava/lang/String;[IZ)Ljava/util/List;", "(java.lang.String, int[], boolean): java.util.List"),
        ("([[Ljava/lang/Object;)V", "(java.lang.Object[][])"),
        ("()V", "()"),
        ("foo", ""),
        # Every base type, void dropped only as a return type.
        ("(ZBCSIJFD)V", "(boolean, byte, char, short, int, long, float, double)"),
        ("(I)I", "(int): int"),
        ("()[J", "(): long[]"),
        ("(Landroid/os/Bundle;)V", "(android.os.Bundle)"),
        ("([[J)V", "(long[][])"),
        # Split at the last `)`.
        ("(I)V)Z", "(int, void): boolean"),
        # Unknown characters reset pending arrays and are skipped.
        ("([XI)V", "(int)"),
        ("(Q)V", "()"),
        # Return type without parameters, parameters without a return type.
        ("(I)", "(int)"),
        ("()Ljava/lang/String;", "(): java.lang.String"),
        # A return type that is not a descriptor is kept as it is; `L` without `;` too.
        ("()Q", "(): Q"),
        ("()Lfoo", "(): Lfoo"),
        # Malformed: no `(`, no `)`, an `L` parameter without `;`, nothing at all.
        ("", ""),
        ("I)V", ""),
        ("(Ljava/lang/String", ""),
        ("(Ljava/lang/String)V", ""),
        ("()", ""),
    ],
)
def test_readable_signature_without_mapping(descriptor: str, readable: str) -> None:
    assert format_signature(deobfuscate_signature(descriptor)) == readable
    assert readable_signature(descriptor) == readable


def test_types_are_split_into_parameters_and_return_type() -> None:
    assert deobfuscate_signature("([ILjava/lang/String;)J") == JavaTypes(("int[]", "java.lang.String"), "long")
    assert deobfuscate_signature("()") is None
    assert format_signature(None) == ""


def test_non_string_signature_is_malformed() -> None:
    assert deobfuscate_signature(42) is None  # type: ignore[arg-type]


def test_classes_are_remapped_through_a_mapping() -> None:
    mapper = ProguardMapper.open(str(FIXTURES / "remap-exception.txt"))
    remapped = readable_signature("(Lorg/a/b/g$a;[Lorg/a/b/g$b;)Lorg/a/b/g$a;", mapper.remap_class)
    assert remapped == (
        "(org.slf4j.helpers.Util$ClassContextSecurityManager, org.slf4j.helpers.Util$ClassContext[])"
        ": org.slf4j.helpers.Util$ClassContextSecurityManager"
    )
    # Classes the mapping does not know keep their names.
    assert readable_signature("(Ljava/lang/String;)V", mapper.remap_class) == "(java.lang.String)"
