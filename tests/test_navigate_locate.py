"""Navigation without a model: the symbol under the cursor, and the outline of a buffer."""

from __future__ import annotations

import re

import pytest

from kernel_lsp.navigate import document_symbols, symbol_at
from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.parser import parse
from tests.conftest import TREE

MAIN = "drivers/misc/blinker/blinker_main.c"
HEADER = "drivers/misc/blinker/blinker.h"


def source(rel: str) -> bytes:
    return (TREE / rel).read_bytes()


def find(src: bytes, pattern: str, group: int = 1) -> tuple[int, int, str]:
    """(line, byte column, text) of ``group`` of the first match of ``pattern``."""
    m = re.search(pattern.encode(), src, re.M)
    assert m is not None, pattern
    start = m.start(group)
    line = src.count(b"\n", 0, start)
    return line, start - (src.rfind(b"\n", 0, start) + 1), m.group(group).decode()


@pytest.mark.parametrize("pattern, kind", [
    (r"\b(kfree)\(u\)", "call"),
    (r"^static int (blinker_open)\(", "func"),
    (r"^struct (blinker_user) \{", "type:struct"),
    (r"const (blink_pattern_t) \*p\)", "type:typedef"),
    (r"^static struct blinker \*(the_blinker);", "var"),
    (r"^#define (BLINKER_MAX_PERIOD)", "macro"),
    (r"u->(file) = file;", "field"),
    (r"(list_for_each_entry_safe)\(", "call"),
])
def test_symbol_kinds_at_start_middle_and_just_after_the_name(pattern, kind):
    src = source(MAIN)
    tree = parse(src)
    line, col, name = find(src, pattern)
    for c in (col, col + len(name) // 2, col + len(name)):
        sym = symbol_at(MAIN, src, tree, line, c)
        assert sym is not None and (sym.name, sym.kind) == (name, kind), (c, sym)
        assert (sym.span.line, sym.span.col, sym.span.end_col) == (line, col, col + len(name))


def test_struct_keyword_means_its_tag_and_locals_point_at_their_declarator():
    src = source(MAIN)
    line, col, _ = find(src, r"^(struct) blinker_user \{")
    assert symbol_at(MAIN, src, None, line, col + 1).name == "blinker_user"
    # ``u`` in ``kfree(u)`` is the local declared in the same function
    use_line, use_col, _ = find(src, r"kfree\((u)\)")
    sym = symbol_at(MAIN, src, None, use_line, use_col)
    decl_line, decl_col, _ = find(src, r"struct blinker_user \*(u), \*tmp;")
    assert sym.kind == "local" and (sym.decl.line, sym.decl.col) == (decl_line, decl_col)
    # a parameter
    line, col, _ = find(src, r"blinker_open\(struct inode \*inode, struct file \*(file)\)")
    use_line, use_col, _ = find(src, r"u->file = (file);")
    sym = symbol_at(MAIN, src, None, use_line, use_col)
    assert sym.kind == "local" and (sym.decl.line, sym.decl.col) == (line, col)


def test_include_lines_give_their_target_as_written():
    src = source(MAIN)
    for pattern, target in ((r'#include (<linux/slab\.h>)', "linux/slab.h"),
                            (r'#include ("blinker\.h")', "blinker.h")):
        line, col, text = find(src, pattern)
        for c in (0, col + 3):
            sym = symbol_at(MAIN, src, None, line, c)
            assert (sym.name, sym.kind) == (target, "include")
            assert (sym.span.col, sym.span.end_col) == (col, col + len(text))


def test_no_symbol_in_comments_strings_numbers_labels_blank_lines_or_outside_the_text():
    src = source(MAIN)
    tree = parse(src)
    lines = src.split(b"\n")
    comment = next(i for i, t in enumerate(lines) if t.startswith(b" * "))
    blank = lines.index(b"")
    line, col, _ = find(src, r'(BLINKER_MMIO_BASE)\s+(0x[0-9a-f]+)', 2)
    string_line, string_col, _ = find(src, r'#define BLINKER_NAME\s+"(blinker)"')
    label_line, label_col, _ = find(src, r"goto (out_free);")
    for ln, c in ((comment, 5), (blank, 0), (line, col + 2), (string_line, string_col + 2),
                  (label_line, label_col + 1), (len(lines) + 5, 0), (-1, 0), (0, -3)):
        assert symbol_at(MAIN, src, tree, ln, c) is None, (ln, c)
    # a column past the end of a line means its end
    line, col, name = find(src, r"^static struct blinker \*(the_blinker);")
    assert symbol_at(MAIN, src, tree, line, 10_000) is None  # the line ends with ';'
    src2 = src.replace(b"*the_blinker;", b"*the_blinker")
    assert symbol_at(MAIN, src2, None, line, 10_000).name == name


def _flatten(symbols, depth=0):
    for s in symbols:
        yield depth, s
        yield from _flatten(s.children, depth + 1)


def _body(src: bytes, header: str) -> list[str]:
    """Declared names between ``header {`` and ``};`` (one per line, as the fixture writes)."""
    text = src.decode()
    body = text[text.index(header + " {"):]
    body = body[body.index("{") + 1:body.index("};")]
    return [re.findall(r"(\w+)(?:\[.*\])?\s*[;,]?\s*$", ln.strip())[0]
            for ln in body.splitlines() if ln.strip()]


def test_document_symbols_nest_members_under_their_struct_in_file_order():
    src = source(HEADER)
    outline = document_symbols(extract(HEADER, src), src)
    assert document_symbols(extract(HEADER, src), src, parse(src)) == outline
    top = [(s.name, s.kind) for s in outline]
    lines = [s.range.line for s in outline]
    assert lines == sorted(lines)
    defined = re.findall(r"^(?:static inline \w+ |int |void )(\w+)\(", src.decode(), re.M)
    macros = re.findall(r"^#define (\w+)", src.decode(), re.M)
    assert {(n, "function") for n in defined} | {(n, "macro") for n in macros} <= set(top)
    blinker = next(s for s in outline if (s.name, s.kind) == ("blinker", "struct"))
    members = _body(src, "struct blinker")
    assert [c.name for c in blinker.children] == members
    text = src.split(b"\n")
    for child in blinker.children:
        assert child.kind == "field"
        sel = child.selection
        assert text[sel.line][sel.col:sel.end_col].decode() == child.name
        assert (blinker.range.line, blinker.range.col) <= (child.range.line, child.range.col)
        assert (child.range.end_line, child.range.end_col) <= (
            blinker.range.end_line, blinker.range.end_col)
    state = next(s for s in outline if (s.name, s.kind) == ("blink_state", "enum"))
    assert [c.name for c in state.children] == _body(src, "enum blink_state")
    assert all(c.kind == "enumerator" for c in state.children)
    # the forward declaration ``struct blinker;`` is not an outline entry
    assert sum(1 for _, s in _flatten(outline) if s.name == "blinker") == 1


def test_document_symbols_without_the_source_still_list_members_inside_their_type():
    src = source(HEADER)
    outline = document_symbols(extract(HEADER, src))
    blinker = next(s for s in outline if s.name == "blinker")
    assert [c.name for c in blinker.children] == _body(src, "struct blinker")
    assert all(c.selection == blinker.selection for c in blinker.children)


def test_document_symbols_of_a_c_file_list_variables_and_signatures():
    src = source(MAIN)
    facts = extract(MAIN, src)
    outline = document_symbols(facts, src)
    by_name = {s.name: s for _, s in _flatten(outline)}
    the = by_name["the_blinker"]
    assert the.kind == "variable" and "static" in the.detail and "struct blinker" in the.detail
    fn = by_name["blinker_open"]
    line = src.split(b"\n")[fn.range.line].decode()
    assert fn.kind == "function" and fn.detail == line.strip()
    assert document_symbols(extract("empty.c", b"")) == []
