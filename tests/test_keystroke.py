"""A keystroke served from the edited body alone gives the rows and findings of a fresh check.

Random edit sequences (inside bodies mostly, anywhere sometimes; braces, parentheses, comments,
directives, calls and local types among the texts) are applied to the fixture tree's files
in one workspace, and after every edit its rows and findings are compared with those of a
workspace that reads the edited text afresh. A keystroke that leaves a syntax error in its body
is *approximate* (``live/keystroke.py``): it is compared after the exact update the server runs
when typing pauses.
"""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_lsp.config import load_config
from kernel_lsp.live.incremental import body_ranges
from kernel_lsp.live.workspace import Workspace, open_workspace
from kernel_lsp.model.indexer import index
from tests.conftest import TREE

FILES = sorted(str(p.relative_to(TREE)) for p in TREE.rglob("*.c"))
TEXTS = ["x", " ", "\n", "\t", ";", "", "}", "{", "(", ")", "/*", "*/", "\"", "'", "#define Q 1\n",
         "\n#if 0\n", "\n#ifdef NOT_YET\n", "\n#endif\n", "helper_call(42);\n", "int y = bar();",
         "struct s *p;",
         "struct local { int a; } l;", "struct odd { missing_t m; } o;", "FOO(x)\n", "__init ",
         "__attribute__((unused)) ", "misc_register(0);", "typedef int t_t;", "kfree(p);", "return 0;"]


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    root = tmp_path_factory.mktemp("keystroke") / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    config, _ = load_config(root)
    result = index(config, jobs=1)
    symbols = sorted({r.finding.symbol for r in open_workspace(config, result.model, None)
                      .findings()})
    result.model.close()
    live, fresh = Workspace(config), Workspace(config)
    assert live.load() is None and fresh.load() is None
    yield root, live, fresh, symbols
    live.close()
    fresh.close()


def _state(ws: Workspace, path: str):
    of = ws.open[path]
    rows = {table: Counter(rows) for table, rows in of.own_rows.items()}
    return rows, [(r.finding, r.severity, r.finding.context, r.finding.plans)
                  for r in ws.findings([path], with_fixes=True)]


def _open_alone(live: Workspace, fresh: Workspace, path: str, text: bytes) -> None:
    """Close every buffer of both workspaces, then open ``path`` with ``text`` in ``live``."""
    for ws in (live, fresh):
        for open_path in list(ws.open):
            ws.drop_buffer(open_path)
    live.set_buffer(path, text)


def _fresh_state(fresh: Workspace, path: str, text: bytes):
    fresh.drop_buffer(path)
    fresh.set_buffer(path, text)
    try:
        return _state(fresh, path)
    finally:
        fresh.drop_buffer(path)


def _position(text: bytes, choice: int, inside: bool) -> int:
    bodies = body_ranges(_parse(text))
    if inside and bodies:
        start, end = bodies[choice % len(bodies)]
        return start + 1 + (choice // len(bodies)) % max(1, end - start - 1)
    return choice % (len(text) + 1)


def _parse(text: bytes):
    from kernel_lsp.parse.buffer import Buffer

    return Buffer(text).tree


edits = st.lists(st.tuples(st.integers(0, 10**6), st.booleans(), st.integers(0, 3),
                           st.one_of(st.sampled_from(TEXTS), st.sampled_from(["%s(1);", "%s x;"]))),
                 min_size=1, max_size=8)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FILES), edits, st.data())
def test_edit_sequences_match_a_fresh_check(workspaces, path, sequence, data):
    root, live, fresh, symbols = workspaces
    text = (root / path).read_bytes()
    for ws in (live, fresh):  # a failed example may have left its buffer open
        for open_path in list(ws.open):
            ws.drop_buffer(open_path)
    live.set_buffer(path, text)
    live.findings([path])
    for choice, outside, cut, snippet in sequence:
        if "%s" in snippet:
            snippet = snippet % data.draw(st.sampled_from(symbols or ["x"]))
        pos = _position(text, choice, not (outside and choice % 5 == 0))
        text = text[:pos] + snippet.encode() + text[min(pos + cut, len(text)):]
        if live.set_buffer(path, text).approximate:  # a syntax error in the body: the server
            live.set_buffer(path, text, exact=True)  # checks the whole file at a pause
        assert _state(live, path) == _fresh_state(fresh, path, text)
    live.drop_buffer(path)


# Found by the test above: an unterminated ``#if 0`` typed into a later body makes the whole
# file one ERROR node, whose error-free functions ``Extractor`` still trusts (islands); a
# keystroke in an earlier body must keep that function's type uses as a full check does.
ROOT_ERROR_SEQUENCE = [(0, False, 0, "x"), (0, False, 1, "x"), (0, False, 1, "x"),
                       (0, False, 1, " "), (241, False, 0, "\n#if 0\n"), (249, False, 0, "{"),
                       (0, False, 0, "__free_one_page(1);")]


def test_a_keystroke_in_a_file_read_as_one_error_node_matches_a_fresh_check(workspaces):
    root, live, fresh, _symbols = workspaces
    path = "drivers/misc/blinker/blinker_main.c"
    _open_alone(live, fresh, path, text := (root / path).read_bytes())
    for choice, outside, cut, snippet in ROOT_ERROR_SEQUENCE:
        pos = _position(text, choice, not (outside and choice % 5 == 0))
        text = text[:pos] + snippet.encode() + text[min(pos + cut, len(text)):]
        if live.set_buffer(path, text).approximate:
            live.set_buffer(path, text, exact=True)
        assert _state(live, path) == _fresh_state(fresh, path, text)
    assert any(u.name == "blink_cb_t" for u in live.open[path].own_rows["type_uses"])
    live.drop_buffer(path)


def test_typing_a_call_in_a_body_is_served_from_the_body(workspaces):
    root, live, fresh, symbols = workspaces
    path = "kernel/sched/core.c"
    text = (root / path).read_bytes()
    live.drop_buffer(path)
    live.set_buffer(path, text)
    before = _state(live, path)[1]
    bodies = body_ranges(live.open[path].buffer.tree)
    start, _end = bodies[len(bodies) // 2]
    served = live.local
    for n, ch in enumerate(b"nowhere_defined(42);\n\t"):
        pos = start + 2 + n
        text = text[:pos] + bytes([ch]) + text[pos:]
        live.set_buffer(path, text)
        live.findings([path])
    # the name's keystrokes at least (an open parenthesis is served by the full update)
    assert live.local - served >= len("nowhere_defined")
    after = _state(live, path)
    assert after == _fresh_state(fresh, path, text)
    added = [f for f, *_ in after[1] if f not in {g for g, *_ in before}]
    assert [(f.code, f.symbol) for f in added] == [("020_2", "nowhere_defined")]
    live.drop_buffer(path)


def test_a_new_line_above_moves_the_later_lines_a_finding_names(workspaces):
    """A type defined nowhere, used on two lines of the last body: a line added in the first
    function moves both, the finding's ``also`` too."""
    root, live, fresh, _symbols = workspaces
    path = "fs/read_write.c"
    text = (root / path).read_bytes() + (b"int twice(void)\n{\n\tnowhere_t a = 0;\n"
                                         b"\tnowhere_t b = 0;\n\treturn a == b;\n}\n")
    _open_alone(live, fresh, path, text)
    before = {f.symbol: f.context.get("also") for f, *_ in _state(live, path)[1]}
    assert before["nowhere_t"] and len(before["nowhere_t"]) == 1
    start, _end = body_ranges(_parse(text))[0]
    text = text[:start + 1] + b"\n" + text[start + 1:]
    assert live.set_buffer(path, text).approximate is False
    assert _state(live, path) == _fresh_state(fresh, path, text)
    after = {f.symbol: f.context.get("also") for f, *_ in _state(live, path)[1]}
    assert after["nowhere_t"] == [[line + 1, col, end] for line, col, end in before["nowhere_t"]]
    live.drop_buffer(path)


def test_an_if_typed_without_its_endif_keeps_later_bodies_from_being_served_alone(workspaces):
    """``#if 0`` typed in a body runs to the end of the file: an edit in a later body then
    changes how the parser recovers around the earlier one (found by the sequences above)."""
    root, live, fresh, _symbols = workspaces
    path = "kernel/printk/printk.c"
    text = (root / path).read_bytes()
    _open_alone(live, fresh, path, text)
    live.findings([path])
    for choice, snippet in [(0, "x")] * 5 + [(2, "\n#if 0\n"), (1799, "FOO(x)\n")]:
        pos = _position(text, choice, True)
        text = text[:pos] + snippet.encode() + text[pos:]
        if live.set_buffer(path, text).approximate:
            live.set_buffer(path, text, exact=True)
        assert _state(live, path) == _fresh_state(fresh, path, text)
    live.drop_buffer(path)


def test_a_comment_closed_in_a_later_body_makes_one_comment_of_all_between(workspaces):
    """``/*`` typed in a body with no ``*/`` after it is read as two operators; a ``*/`` typed
    later, in another function's string even, closes it: the functions between are one comment
    (found by the sequences above: the keystroke was served from the later body alone)."""
    root, live, fresh, _symbols = workspaces
    path = "mm/page_alloc.c"
    text = (root / path).read_bytes()
    _open_alone(live, fresh, path, text)
    live.findings([path])
    for choice, snippet in [(0, "x")] * 4 + [(0, "/*"), (244, "*/")]:
        pos = _position(text, choice, True)
        text = text[:pos] + snippet.encode() + text[pos:]
        if live.set_buffer(path, text).approximate:
            live.set_buffer(path, text, exact=True)
        assert _state(live, path) == _fresh_state(fresh, path, text)
    assert "alloc_pages" not in {f.name for f in live.open[path].own_rows["functions"]}
    live.drop_buffer(path)


def test_typing_in_a_body_the_compiler_skips_reports_nothing_there(workspaces):
    """A definition whose parameter type is not visible: the compiler reads nothing of its body,
    the full check reports nothing there, and neither does a keystroke inside it."""
    root, live, fresh, _symbols = workspaces
    path = "fs/read_write.c"
    text = (root / path).read_bytes() + (b"static int skipped(late_t v)\n{\n\tnowhere(1);\n"
                                         b"\treturn 0;\n}\ntypedef int late_t;\n")
    _open_alone(live, fresh, path, text)
    live.findings([path])
    pos = text.rindex(b"nowhere(") + len(b"nowhere")
    served = live.local
    for ch in b"_defined":  # inside the name of a call of the skipped body
        text = text[:pos] + bytes([ch]) + text[pos:]
        pos += 1
        live.set_buffer(path, text)
        typed = {r.finding.symbol for r in live.findings([path])}
        assert "late_t" in typed and not {"nowhere", "nowhere_d", "nowhere_defined"} & typed
    assert live.local - served == len(b"_defined")  # each served from the body
    after = _state(live, path)
    assert after == _fresh_state(fresh, path, text)
    assert "late_t" in {f.symbol for f, *_ in after[1]}
    assert "nowhere_defined" not in {f.symbol for f, *_ in after[1]}
    live.drop_buffer(path)


def test_a_keystroke_inside_a_branch_no_compiler_reads_moves_its_end(workspaces):
    """``#ifdef NOT_YET`` around two functions (a name defined nowhere): typing in the first
    body, served from the body alone, moves the end of the branch as a fresh check reads it,
    and what the branch holds stays unreported."""
    root, live, fresh, _symbols = workspaces
    path = "fs/read_write.c"
    text = (root / path).read_bytes() + (
        b"#ifdef NOT_YET\nint later_one(void)\n{\n\treturn 0;\n}\n"
        b"int later_two(void)\n{\n\treturn nowhere_later(1);\n}\n#endif\n")
    _open_alone(live, fresh, path, text)
    live.findings([path])
    start = text.index(b"return 0;", text.index(b"later_one"))
    served = live.local
    for n, ch in enumerate(b"x = 1;\n\t"):
        pos = start + n
        text = text[:pos] + bytes([ch]) + text[pos:]
        live.set_buffer(path, text)
        live.findings([path])
    assert live.local > served
    state = _state(live, path)
    assert state == _fresh_state(fresh, path, text)
    branch = [r for r in live.open[path].own_rows["hidden"] if r.kind == "undecided"]
    assert [(r.name, r.end_byte) for r in branch] == [("NOT_YET", text.index(b"#endif\n",
                                                                          start))]
    assert not [f for f, *_ in state[1] if f.symbol in ("nowhere_later", "x")]
    live.drop_buffer(path)
