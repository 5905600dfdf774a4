"""R8 mapping features Symbolicator 26.8.0 follows (proguard 5.10) that the recordings do not exercise.

Each mapping is written here for the one rule it checks; the answers are those the rules in
`adapters/symbolicator/proguard.py` give, through `/symbolicate-jvm` as the job calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from android_profiles import put_mapping

from profile_pipeline.adapters.symbolicator.embedded_jvm import symbolicate_jvm
from profile_pipeline.adapters.symbolicator.proguard import synthesize_source_file
from profile_pipeline.adapters.worker_cache import BoundedCache

MAPPING_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

SYNTHESIZED = b"""com.example.Main -> a:
# {"id":"sourceFile","fileName":"Main.kt"}
    1:1:void lambda$run$0():10:10 -> a
    # {"id":"com.android.tools.r8.synthesized"}
    1:1:void run():20:20 -> a
    2:2:void bridge():30:30 -> b
    # {"id":"com.android.tools.r8.synthesized"}
"""

RULE = (
    b'{"id":"com.android.tools.r8.rewriteFrame",'
    b'"conditions":["throws(Ljava/lang/NullPointerException;)"],"actions":["removeInnerFrames(1)"]}'
)
REWRITE = (
    b"com.example.Checks -> b:\n"
    b"    1:1:void requireNotNull(java.lang.Object):5:5 -> a\n"
    b"    # " + RULE + b"\n"
    b"    1:1:void caller():30:30 -> a\n"
    b"java.lang.NullPointerException -> c:\n"
)

OUTLINE = b"""com.example.Outline -> c:
    1:2:int outline():0:0 -> a
    # {"id":"com.android.tools.r8.outline"}
com.example.User -> d:
    1:1:void use():40:40 -> b
    # {"id":"com.android.tools.r8.outlineCallsite","positions":{"1":2},"outline":"Lc;a()I"}
    2:2:void use():41:41 -> b
"""

NO_LINE_RANGES = b"""com.example.Plain -> e:
    void bare() -> a
    void single():12 -> b
    void span():20:22 -> c
"""

AMBIGUOUS = b"""com.example.Ambiguous -> f:
    1:1:void first():10 -> a
    2:2:void second():20 -> a
    void one() -> b
    void other() -> b
"""

FILES = b"""com.example.Screen -> g:
# {"id":"sourceFile","fileName":"Screen.kt"}
    1:1:void com.example.Helper.help():7:7 -> a
    1:1:void show():3:3 -> a
com.example.UtilsKt -> h:
    1:1:void util():5:5 -> a
com.example.ComposableSingletons$HomeKt$lambda-1$1 -> i:
    1:1:void invoke():9:9 -> a
com.example.Generated -> j:
# {"id":"sourceFile","fileName":"R8$$SyntheticClass"}
    1:1:void run():4:4 -> a
com.example.DiagnosticError -> kj:
RootError -> k.l:
"""


def symbolicate(tmp_path: Path, mapping: bytes, frames: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    store = tmp_path / "symbols"
    put_mapping(store, MAPPING_UUID, mapping)
    stacktrace = {"frames": frames, **({"exception": extra.pop("exception")} if "exception" in extra else {})}
    body = {
        "platform": "android",
        "stacktraces": [stacktrace],
        "modules": [{"uuid": MAPPING_UUID, "type": "proguard"}],
        "options": {"apply_source_context": False, "frame_order": "callee_first"},
        **extra,
    }
    return symbolicate_jvm(body, str(store), BoundedCache(4, 1 << 30))


def functions(answer: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(frame["function"], frame.get("lineno")) for frame in answer["stacktraces"][0]["frames"]]


def test_synthesized_methods_are_dropped_from_frames_with_a_line(tmp_path: Path) -> None:
    frames = [
        {"function": "a", "module": "a", "lineno": 1, "index": 0},
        {"function": "b", "module": "a", "lineno": 2, "index": 1},
    ]
    # The synthesized lambda goes, its caller stays; a frame that is all synthesized goes entirely.
    assert functions(symbolicate(tmp_path, SYNTHESIZED, frames)) == [("run", 20)]


def test_synthesized_methods_stay_on_frames_without_line(tmp_path: Path) -> None:
    frame = {"function": "b", "module": "a", "index": 0}
    answer = symbolicate(tmp_path, SYNTHESIZED, [frame])
    assert functions(answer) == [("bridge", 0)]
    assert answer["stacktraces"][0]["frames"][0]["method_synthesized"] is True


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (
            {"type": "NullPointerException", "module": "java.lang"},
            [("caller", 30), ("requireNotNull", 5), ("caller", 30)],
        ),
        # An obfuscated exception is remapped before its rules are matched.
        ({"type": "c", "module": ""}, [("caller", 30), ("requireNotNull", 5), ("caller", 30)]),
        ({"type": "IllegalStateException", "module": "java.lang"}, [("requireNotNull", 5), ("caller", 30)] * 2),
        (None, [("requireNotNull", 5), ("caller", 30)] * 2),
    ],
)
def test_rewrite_rules_apply_to_the_first_frame_after_a_matching_exception(
    tmp_path: Path, exception: dict[str, str] | None, expected: list[tuple[str, int]]
) -> None:
    frames = [{"function": "a", "module": "b", "lineno": 1, "index": i} for i in range(2)]
    extra = {"exception": exception} if exception else {}
    # Only the first frame is rewritten: the second keeps its inlined frame.
    assert functions(symbolicate(tmp_path, REWRITE, frames, **extra)) == expected


def test_stacktrace_exception_is_answered_remapped(tmp_path: Path) -> None:
    frames = [{"function": "a", "module": "b", "lineno": 1, "index": 0}]
    answer = symbolicate(tmp_path, REWRITE, frames, exception={"type": "c", "module": ""})
    assert answer["stacktraces"][0]["exception"] == {"type": "NullPointerException", "module": "java.lang"}
    assert symbolicate(tmp_path, REWRITE, frames)["stacktraces"][0]["exception"] is None


def test_outline_frames_are_dropped_and_their_position_picks_the_callers_line(tmp_path: Path) -> None:
    frames = [
        {"function": "a", "module": "c", "lineno": 1, "index": 0},
        {"function": "b", "module": "d", "lineno": 1, "index": 1},
    ]
    assert functions(symbolicate(tmp_path, OUTLINE, frames)) == [("use", 41)]
    # Without the outline before it, the caller's own line is used.
    assert functions(symbolicate(tmp_path, OUTLINE, frames[1:])) == [("use", 40)]


def test_members_without_line_ranges(tmp_path: Path) -> None:
    frames = [
        {"function": "a", "module": "e", "lineno": 7, "index": 0},
        {"function": "b", "module": "e", "lineno": 3, "index": 1},
        {"function": "c", "module": "e", "lineno": 3, "index": 2},
    ]
    assert functions(symbolicate(tmp_path, NO_LINE_RANGES, frames)) == [
        ("bare", 7),  # no line at all: the frame's passes through
        ("single", 12),  # one original line
        ("span", 20),  # an original range: one frame per line
        ("span", 21),
        ("span", 22),
    ]


def test_frames_without_line_pick_as_retrace_does(tmp_path: Path) -> None:
    frames = [
        {"function": "a", "module": "f", "index": 0},
        {"function": "b", "module": "f", "index": 1},
    ]
    assert functions(symbolicate(tmp_path, AMBIGUOUS, frames)) == [
        ("first", 0),  # ranged members only: the outermost of the first range, line 0
        ("one", 0),  # members without range: each of them, line 0, in file order
        ("other", 0),
    ]


def test_file_names_come_from_the_mapping_or_the_class(tmp_path: Path) -> None:
    frames = [
        {"function": "a", "module": module, "lineno": 1, "index": index, "filename": "SourceFile"}
        for index, module in enumerate(["g", "h", "i", "j"])
    ]
    answer = symbolicate(tmp_path, FILES, frames)
    assert [(frame["module"], frame["filename"]) for frame in answer["stacktraces"][0]["frames"]] == [
        ("com.example.Helper", "Helper.kt"),  # inlined from a class the mapping does not list: the outer's extension
        ("com.example.Screen", "Screen.kt"),  # the class's sourceFile
        ("com.example.UtilsKt", "Utils.kt"),
        ("com.example.ComposableSingletons$HomeKt$lambda-1$1", "Home.kt"),
        ("com.example.Generated", "Generated"),  # R8's synthetic-class marker: the class's simple name
    ]


def test_root_package_exceptions_are_remapped(tmp_path: Path) -> None:
    answer = symbolicate(
        tmp_path,
        FILES,
        [],
        exceptions=[{"type": "kj", "module": ""}, {"type": "l", "module": "k"}],
    )
    assert answer["exceptions"] == [
        {"type": "DiagnosticError", "module": "com.example"},
        {"type": "RootError", "module": ""},
    ]


@pytest.mark.parametrize(
    ("class_name", "reference", "expected"),
    [
        ("org.slf4j.helpers.Util$ClassContextSecurityManager", None, "Util.java"),
        ("io.sentry.sample.-$$Lambda$r3Avcbztes2hicEObh02jjhQqd4", None, "-.java"),
        ("com.example.Main", "Other.kt", "Main.kt"),
        ("com.example.MainKt", "Other.java", "Main.kt"),
        ("com.example.Foo$Kt", None, "Foo.java"),
        ("Root", None, "Root.java"),
    ],
)
def test_synthesized_source_file(class_name: str, reference: str | None, expected: str) -> None:
    assert synthesize_source_file(class_name, reference) == expected
