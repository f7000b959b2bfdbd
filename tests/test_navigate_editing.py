"""The pure parts of completion, signature help, rename, semantic tokens and patch review."""

from __future__ import annotations

import pytest

from kernel_lsp.batch.since import changed_names, declared_names, introduced
from kernel_lsp.findings import Finding, Reported
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.model.visibility import bits
from kernel_lsp.navigate.rename import occurrences
from kernel_lsp.navigate.scope import older_offset
from kernel_lsp.navigate.signature import call_at, parameter_ranges
from kernel_lsp.navigate.tokens import inactive_lines, inactive_tokens
from kernel_lsp.parse.extract import extract


@pytest.mark.parametrize("old, new, cursor, want", [
    (b"abc def", b"abc def", 5, 5),  # same text
    (b"int x;\n\t\nint y;", b"int x;\n\tkz\nint y;", 10, 8),  # typed at the point: its start
    (b"int x;\nint y;", b"int x;\nint y;", 3, 3),
    (b"a = f();\nb;", b"// new\na = f();\nb;", 14, 7),  # an edit above: shifted back
    (b"a = f();\nb;", b"a = f();\nb; // end", 4, 4),  # an edit below: unchanged
])
def test_older_offset(old, new, cursor, want):
    assert older_offset(old, new, cursor) == want


def test_bits():
    assert bits(0) == [] and bits(0b1010_0001) == [0, 5, 7] and bits(1 << 70) == [70]


@pytest.mark.parametrize("text, want", [
    (b"\tx = foo(a, b", ("foo", 1)),
    (b"\tx = foo(bar(1, 2), ", ("foo", 1)),  # nested call closed: the outer one
    (b"\tx = foo(bar(1, ", ("bar", 1)),
    (b'\tprintk("a, b (c", ', ("printk", 1)),  # commas and parentheses in a string
    (b"\tx = foo(a[1, 2], c", ("foo", 1)),
    (b"\tx = 1;\n\ty = 2", None),  # no open call
    (b"\tif (a) {\n\t\tb", None),  # a block is no call
])
def test_call_at(text, want):
    assert call_at(text, len(text)) == want


def test_parameter_ranges():
    label = "extern int filp_close(struct file *filp, void (*cb)(int, int), ...)"
    got = [label[s:e] for s, e in parameter_ranges(label, "filp_close")]
    assert got == ["struct file *filp", "void (*cb)(int, int)", "..."]
    assert parameter_ranges("#define MAX(a, b)", "MAX") == [(12, 13), (15, 16)]
    assert parameter_ranges("int f(void)", "g") == []


SRC = b"""#include <linux/foo.h>
/* foo() in a comment */
struct foo { int foo; };
int foo(struct foo *p) { return p->foo + s.foo; }
static const char *msg = "foo";
EXPORT_SYMBOL(foo);
#define CALL_FOO(x) foo(x)
"""


def test_rename_occurrences_skip_comments_strings_includes_members_and_tags():
    funcs = occurrences(SRC, "foo", None)
    assert [(ln, c) for ln, c, _ in funcs] == [(3, 4), (5, 14), (6, 20)]
    tags = occurrences(SRC, "foo", "struct")
    assert [(ln, c) for ln, c, _ in tags] == [(2, 7), (3, 15)]
    assert all(e - c == 3 for _, c, e in funcs + tags)


def test_inactive_tokens_and_lines():
    src = b"a;\n#if 0\n  int x;\n\n  int y;\n#endif\nb;\n"
    start = src.index(b"  int x")
    end = src.index(b"#endif")
    toks = inactive_tokens(src, [(start, end)])
    assert [(t.line, t.col, t.length, t.type) for t in toks] == [(2, 2, 6, "comment"),
                                                                 (4, 2, 6, "comment")]
    assert inactive_lines(src, [(start, end)]) == [(2, 4)]


def _reported(code, path, line, symbol):
    return Reported(Finding(code, path, line, 0, line, 3, symbol, "m"), "error")


def test_introduced_matches_by_line_text_then_function():
    texts_now = {"a.c": b"x\n\n\n  foo();\nbar();\nbaz();\n"}
    texts_then = {"a.c": b"x\nfoo();\nbar2();\nbaz();\n"}
    now = [_reported("404_2", "a.c", 3, "foo"),  # moved and re-indented: same text
           _reported("404_2", "a.c", 4, "bar"),  # a new call in the same function: matched
           _reported("404_2", "a.c", 5, "baz"),  # same text, but counted once ...
           _reported("404_2", "a.c", 5, "baz")]  # ... its twin is introduced
    then = [_reported("404_2", "a.c", 1, "foo"), _reported("404_2", "a.c", 2, "bar"),
            _reported("404_2", "a.c", 3, "baz")]
    got = introduced(now, then, texts_now.get, texts_then.get, lambda p, ln: "fn",
                     lambda p, ln: "fn")
    assert [(r.finding.symbol, r.finding.line) for r in got] == [("baz", 5)]
    # outside any function, only the line text matches
    got = introduced(now[:2], then[:2], texts_now.get, texts_then.get, lambda p, ln: None,
                     lambda p, ln: None)
    assert [r.finding.symbol for r in got] == ["bar"]


def test_changed_names_compare_declarations():
    before = fact_rows(extract("a.c", b"int f(int x);\nstruct s { int a; };\n#define M 1\n"))
    after = fact_rows(extract("a.c", b"static int f(int x);\nstruct s { int a; };\n"
                                     b"#define M 1\nint g;\n"))
    assert changed_names(declared_names(before), declared_names(after)) == {"f": {"f"},
                                                                           "g": {"v"}}
