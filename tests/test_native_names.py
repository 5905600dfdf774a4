"""Function names of any binary, by the rules the recordings of Symbolicator show (tests/README.md).

Small C++ and Rust programs are compiled once per session (g++, rustc), sorted into a symbol store and
symbolicated by the embedded backend at their functions' addresses:

* C++: the `cpp_demangle` spelling, parameters and qualifiers kept, no return type, clone suffixes
  (`[clone .isra.0]`, `[clone .cold]`) kept, `> >` between closing template brackets;
* Rust: the path without hash (`rustc-demangle`'s alternate form), trait impls as `<T as Trait>::f`;
* inlined functions: frames without `sym_addr` before the function that holds them, which has one. An
  inlined function the debug information gives no linkage name (a `static inline` C++ function) keeps
  its plain DWARF name, as the SymCache holds it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import symbolic

from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.adapters.symsorter import sort_files

IMAGE_ADDR = 0x7F0000000000
RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")

CPP_SOURCE = r"""
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace shapes {
template <typename T>
struct Box {
    T width;
    __attribute__((noinline)) T area(T height) const { return width * height; }
};
}  // namespace shapes

namespace {
__attribute__((noinline)) int hidden(int value) { return value * 3 + std::rand() % 2; }
}  // namespace

template <typename T>
__attribute__((noinline)) T twice(T value) { return value + value + std::rand() % 2; }

__attribute__((noinline)) std::map<std::string, std::vector<int>> index_of(unsigned count) {
    std::map<std::string, std::vector<int>> out;
    for (unsigned i = 0; i < count; ++i) out[std::to_string(i)].push_back(static_cast<int>(i));
    return out;
}

struct Counter {
    int start;
    __attribute__((noinline)) int operator()(int step) const { return start + step; }
};

static inline __attribute__((always_inline)) int square(int value) { return value * value + std::rand() % 3; }

__attribute__((noinline)) int outer(int value) { return square(value) + square(value + 1); }

int main(int argc, char** argv) {
    auto scaled = [argc](int value) __attribute__((noinline)) { return value * argc + std::rand() % 5; };
    shapes::Box<int> box{argc};
    Counter counter{argc};
    int total = box.area(3) + hidden(argc) + twice<long>(argc) + counter(2) + scaled(4) + outer(argc);
    total += static_cast<int>(index_of(static_cast<unsigned>(argc)).size());
    std::printf("%d %s\n", total, argv[0]);
    return 0;
}
"""

RUST_SOURCE = r"""
mod shapes {
    pub struct Square<T>(pub T);

    impl<T: Copy + std::ops::Mul<Output = T>> Square<T> {
        #[inline(never)]
        pub fn area(&self) -> T {
            self.0 * self.0
        }
    }

    pub trait Named {
        fn name(&self) -> String;
    }

    impl Named for Square<f64> {
        #[inline(never)]
        fn name(&self) -> String {
            format!("square {}", self.0)
        }
    }
}

#[inline(never)]
fn describe<T: std::fmt::Debug>(value: T) -> String {
    format!("{:?}", value)
}

#[inline(always)]
fn double(value: u64) -> u64 {
    value.wrapping_mul(2) ^ std::env::args().count() as u64
}

#[inline(never)]
fn outer(value: u64) -> u64 {
    double(value) + double(value + 1)
}

fn main() {
    use shapes::Named;
    let count = std::env::args().count();
    let square = shapes::Square(count as f64);
    let text = describe(count) + &describe("x") + &square.name();
    println!("{} {} {} {}", text, square.area(), shapes::Square(count as u32).area(), outer(count as u64));
}
"""


@dataclass
class Program:
    """A compiled program in a symbol store, and its function symbols (address, size, mangled, GNU name)."""

    backend: EmbeddedBackend
    module: dict[str, Any]
    symbols: list[tuple[int, int, str, str]]

    def address_of(self, gnu_name: str) -> tuple[int, int]:
        """(address, size) of the function GNU's demangler names so."""
        found = [(address, size) for address, size, _, name in self.symbols if name == gnu_name]
        assert len(found) == 1, f"{gnu_name!r} is not one function of the program"
        return found[0]

    def frames(self, addresses: list[int]) -> list[list[dict[str, Any]]]:
        """The answer frames of each image-relative address, looked up as a leaf."""
        request = {
            "platform": "native",
            "modules": [self.module],
            "stacktraces": [
                {
                    "frames": [
                        {"instruction_addr": hex(address), "addr_mode": "rel:0", "adjust_instruction_addr": False}
                        for address in addresses
                    ]
                }
            ],
        }
        answer = self.backend.native(request)
        assert answer["status"] == "completed" and answer["modules"][0]["debug_status"] == "found"
        grouped: list[list[dict[str, Any]]] = [[] for _ in addresses]
        for frame in answer["stacktraces"][0]["frames"]:
            grouped[frame["original_index"]].append(frame)
        return grouped


def _symbols(binary: Path) -> list[tuple[int, int, str, str]]:
    def listing(*flags: str) -> list[list[str]]:
        output = subprocess.run(["nm", "-S", "--defined-only", *flags, str(binary)], check=True, capture_output=True)
        return [line.split(" ", 3) for line in output.stdout.decode().splitlines()]

    return [
        (int(raw[0], 16), int(raw[1], 16), raw[3], gnu[3])
        for raw, gnu in zip(listing(), listing("-C"), strict=True)
        if len(raw) == 4 and raw[2] in "tTwW"
    ]


def _program(directory: Path, command: list[str], source_name: str, source: str) -> Program:
    for tool in (command[0], "nm", "c++filt"):
        assert shutil.which(tool), f"{tool} is needed to build the test programs"
    (directory / source_name).write_text(source)
    binary = directory / "prog"
    subprocess.run([*command, "-o", str(binary), source_name], cwd=directory, check=True, capture_output=True)
    store = str(directory / "store")
    placed, _ = sort_files([str(binary)], store)
    assert placed
    (obj,) = symbolic.Archive.open(str(binary)).iter_objects()
    module = {
        "type": "elf",
        "code_id": obj.code_id,
        "debug_id": obj.debug_id,
        "code_file": "/usr/bin/prog",
        "image_addr": hex(IMAGE_ADDR),
        "image_size": binary.stat().st_size,
    }
    return Program(EmbeddedBackend(store, 8, 1 << 28), module, _symbols(binary))


@pytest.fixture(scope="session")
def cpp_program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    return _program(tmp_path_factory.mktemp("cpp"), ["g++", "-g", "-O2"], "prog.cpp", CPP_SOURCE)


@pytest.fixture(scope="session")
def rust_program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    return _program(tmp_path_factory.mktemp("rust"), ["rustc", "-g", "-C", "opt-level=1"], "prog.rs", RUST_SOURCE)


@pytest.mark.parametrize(
    ("gnu_name", "name"),
    [
        ("outer(int)", "outer(int)"),
        ("(anonymous namespace)::hidden(int)", "(anonymous namespace)::hidden(int)"),
        ("long twice<long>(long)", "twice<long>(long)"),  # the return type of a template function dropped
        ("shapes::Box<int>::area(int) const [clone .isra.0]", "shapes::Box<int>::area(int) const [clone .isra.0]"),
        ("Counter::operator()(int) const [clone .isra.0]", "Counter::operator()(int) const [clone .isra.0]"),
        (
            "main::{lambda(int)#1}::operator()(int) const [clone .constprop.0] [clone .isra.0]",
            "main::{lambda(int)#1}::operator()(int) const [clone .constprop.0] [clone .isra.0]",
        ),
        ("index_of[abi:cxx11](unsigned int) [clone .cold]", "index_of[abi:cxx11](unsigned int) [clone .cold]"),
    ],
)
def test_cpp_function_names(cpp_program: Program, gnu_name: str, name: str) -> None:
    address, _ = cpp_program.address_of(gnu_name)
    frame = cpp_program.frames([address])[0][-1]  # the function that holds the address (after inlined ones)
    assert frame["status"] == "symbolicated" and frame["lang"] == "cpp"
    assert frame["function"] == name
    assert frame["sym_addr"] == hex(IMAGE_ADDR + address)


def test_every_cpp_name_is_the_signature_without_return_type(cpp_program: Program) -> None:
    """Over every function of the program (the standard library's templates inlined in it included):
    GNU's demangling of the frame's symbol ends with its name, which has its parameter list, and closing
    template brackets are spaced."""
    addresses = [address for address, _, mangled, _ in cpp_program.symbols if mangled.startswith("_Z")]
    frames = [frame for answer in cpp_program.frames(addresses) for frame in answer if frame["symbol"].startswith("_Z")]
    assert len(frames) > 8
    gnu = subprocess.run(
        ["c++filt"], input="\n".join(frame["symbol"] for frame in frames), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for frame, gnu_name in zip(frames, gnu, strict=True):
        name = frame["function"]
        assert gnu_name.endswith(name) and "(" in name, (gnu_name, name)
        assert ">>" not in name.replace("operator>>", "")
    assert any("> >" in frame["function"] for frame in frames)


def test_cpp_inlined_frames(cpp_program: Program) -> None:
    start, size = cpp_program.address_of("outer(int)")
    chains = [frames for frames in cpp_program.frames(list(range(start, start + size))) if len(frames) > 1]
    assert chains
    for chain in chains:
        *inlined, holder = chain
        assert holder["function"] == "outer(int)" and holder["sym_addr"] == hex(IMAGE_ADDR + start)
        assert [frame["function"] for frame in inlined] == ["square"] * len(inlined)  # no linkage name in DWARF
        assert all("sym_addr" not in frame and frame["lineno"] > 0 for frame in inlined)


@pytest.mark.parametrize(
    ("mangled_part", "name"),
    [
        ("4prog4main17h", "prog::main"),
        ("4prog5outer17h", "prog::outer"),
        ("4prog8describe17h", "prog::describe"),  # two instances of a generic function, one name
        ("4prog6shapes15Square$LT$T$GT$4area17h", "prog::shapes::Square<T>::area"),
        ("$u20$as$u20$prog..shapes..Named$GT$4name17h", "<prog::shapes::Square<f64> as prog::shapes::Named>::name"),
    ],
)
def test_rust_function_names(rust_program: Program, mangled_part: str, name: str) -> None:
    addresses = [address for address, _, mangled, _ in rust_program.symbols if mangled_part in mangled]
    assert addresses
    for frames in rust_program.frames(addresses):
        assert frames[-1]["function"] == name and frames[-1]["lang"] == "rust"


def test_rust_names_carry_no_hash(rust_program: Program) -> None:
    rust = [address for address, _, mangled, _ in rust_program.symbols if mangled.startswith(("_ZN", "_R"))]
    assert len(rust) > 20
    for frames in rust_program.frames(rust):
        for frame in frames:
            assert not RUST_HASH.search(frame["function"]) and not frame["function"].startswith(("_ZN", "_R")), frame


def test_rust_inlined_frames(rust_program: Program) -> None:
    start, size = rust_program.address_of("prog::outer")
    chains = [frames for frames in rust_program.frames(list(range(start, start + size))) if len(frames) > 1]
    assert any(frames[0]["function"] == "prog::double" for frames in chains)
    for *inlined, holder in chains:
        assert holder["function"] == "prog::outer" and holder["sym_addr"] == hex(IMAGE_ADDR + start)
        assert all("sym_addr" not in frame for frame in inlined)
