"""C++ operator names, as Symbolicator shows them, over programs generated here and compiled by g++ and clang.

A property test: hypothesis draws a set of operators (binary ones such as `operator<` and `operator<<`,
`operator()`, `operator[]`, conversion operators, literal operators `operator""_x`), each a template or
not and with a return type; they are written into one C++ file, compiled by each compiler, and the name
`demangle_name` gives every operator symbol is checked against c++filt's full name with the rule
Symbolicator follows: parameters kept, the return type (which Itanium encodes for templates) cut.

Literal operators are the one spelling where `cpp_demangle` (Symbolicator's demangler) and GNU differ
(`_x::operator ""` against `operator"" _x`); for them the name is `cpp_demangle`'s whole text less the
return type.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cpp_demangle import demangle as cpp_demangle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profile_pipeline.adapters.symbolicator.demangle import demangle_name

# (C++ spelling, c++filt's spelling) of the return types drawn.
RETURN_TYPES = [
    ("int", "int"),
    ("bool", "bool"),
    ("double", "double"),
    ("unsigned long", "unsigned long"),
    ("Box<int>", "n::Box<int>"),
]
BINARY = ["<", "<<", ">>", "==", "<=", "+", "*", "&&", ","]
KINDS = ["binary", "call", "subscript", "conversion", "literal"]


@dataclass(frozen=True)
class Operator:
    kind: str
    symbol: str
    template: bool
    returns: tuple[str, str]

    def source(self, tag: str) -> str:
        ret = self.returns[0]
        body = "{ return {}; }"
        attributes = "__attribute__((noinline, used))"
        if self.kind == "literal":
            if self.template:
                # A literal operator template cannot be instantiated explicitly (clang refuses it): a use does.
                return (
                    f'template <char...> {attributes} {ret} operator""_{tag}() {body}\n'
                    f"{attributes} {ret} use_{tag}() {{ return 12_{tag}; }}\n"
                )
            return f'{attributes} {ret} operator""_{tag}(unsigned long long) {body}\n'
        if self.kind == "binary":
            if self.template:
                return (
                    f"template <typename X> struct {tag} {{ X v; }};\n"
                    f"template <typename X> {attributes} {ret} operator{self.symbol}(const {tag}<X>&, int) {body}\n"
                    f"template {ret} operator{self.symbol} <long>(const {tag}<long>&, int);\n"
                )
            return f"struct {tag} {{ int v; }};\n{attributes} {ret} operator{self.symbol}(const {tag}&, int) {body}\n"
        if self.kind == "conversion":
            if self.template:
                return (
                    f"struct {tag} {{ template <typename U> {attributes} operator U() const {{ return U{{}}; }} }};\n"
                    f"template {tag}::operator {ret}() const;\n"
                )
            return f"struct {tag} {{ {attributes} operator {ret}() const {body} }};\n"
        brackets = "()" if self.kind == "call" else "[]"
        if self.template:
            return (
                f"struct {tag} {{ template <typename U> {attributes} {ret} operator{brackets}(U) const {body} }};\n"
                f"template {ret} {tag}::operator{brackets}<short>(short) const;\n"
            )
        return f"struct {tag} {{ {attributes} {ret} operator{brackets}(int) const {body} }};\n"


operators = st.builds(
    Operator,
    kind=st.sampled_from(KINDS),
    symbol=st.sampled_from(BINARY),
    template=st.booleans(),
    returns=st.sampled_from(RETURN_TYPES),
)


def program(drawn: list[Operator]) -> str:
    parts = ["namespace n {", "template <typename T> struct Box { T v; };"]
    parts += [operator.source(f"T{index}") for index, operator in enumerate(drawn)]
    return "\n".join([*parts, "}  // namespace n", ""])


def _compiler(name: str) -> str:
    """The compiler's path; clang is installed with apt-get where it is missing (CI starts bare)."""
    if shutil.which(name) is None and name == "clang++" and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "clang"],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    path = shutil.which(name)
    assert path, f"{name} is needed to compile the generated programs"
    return path


@pytest.fixture(scope="module", params=["g++", "clang++"])
def compiler(request: pytest.FixtureRequest) -> str:
    for tool in ("nm", "c++filt"):
        assert shutil.which(tool), f"{tool} is needed to read the compiled programs"
    return _compiler(request.param)


def operator_symbols(compiler: str, source: str, directory: Path) -> list[tuple[str, str]]:
    """(mangled, c++filt's name) of every C++ function the program defines."""
    (directory / "ops.cpp").write_text(source)
    subprocess.run(
        [compiler, "-std=c++17", "-O2", "-c", "ops.cpp", "-o", "ops.o"], cwd=directory, check=True, capture_output=True
    )
    listing = subprocess.run(
        ["nm", "--defined-only", "ops.o"], cwd=directory, check=True, capture_output=True, text=True
    )
    mangled = [line.split()[-1] for line in listing.stdout.splitlines() if line.split()[-1].startswith("_Z")]
    gnu = subprocess.run(["c++filt"], input="\n".join(mangled), capture_output=True, text=True, check=True)
    return list(zip(mangled, gnu.stdout.splitlines(), strict=True))


def expected_name(operator: Operator, mangled: str, gnu_name: str) -> str:
    full = cpp_demangle(mangled) if operator.kind == "literal" else gnu_name
    returned = operator.returns[1] + " "
    # Itanium encodes the return type of template functions only (conversions have none to show).
    if operator.template and operator.kind != "conversion":
        assert full.startswith(returned), (full, returned)
        return full[len(returned) :]
    return full


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(operators, min_size=1, max_size=8))
def test_operator_names_keep_parameters_and_lose_the_return_type(
    compiler: str, tmp_path_factory: pytest.TempPathFactory, drawn: list[Operator]
) -> None:
    symbols = operator_symbols(compiler, program(drawn), tmp_path_factory.mktemp("ops"))
    for index, operator in enumerate(drawn):
        tag = re.compile(rf"\bT{index}\b|_T{index}\b")
        found = [(mangled, gnu) for mangled, gnu in symbols if tag.search(gnu) and "operator" in gnu]
        assert found, (operator, symbols)
        for mangled, gnu_name in found:
            name = demangle_name(mangled)
            assert name == expected_name(operator, mangled, gnu_name), (operator, gnu_name)
            assert "operator" in name and "(" in name
