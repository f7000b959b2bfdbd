"""``realize``: fix plans turned into edits against current texts (placement, idempotence, odd input)."""

from __future__ import annotations

import pytest

from kernel_lsp.findings import Fix
from kernel_lsp.fixes import realize
from kernel_lsp.fixes.apply import apply_edits


def run(plan: dict, files: dict[str, str]) -> dict[str, str] | None:
    """The texts after applying ``realize(plan)`` (only the changed ones), None for no fix."""
    fix = realize(plan, files.get)
    if fix is None:
        return None
    assert isinstance(fix, Fix) and fix.title == plan["title"]
    out = {}
    for path in dict.fromkeys(e.path for e in fix.edits):
        out[path] = apply_edits(files[path], [e for e in fix.edits if e.path == path])
    return out


def include(path, header, use, symbol="f", spellings=None):
    return {"kind": "include", "title": f"Include {header} for symbol {symbol}", "path": path,
            "symbol": symbol, "header": header, "spellings": spellings or [header], "use": use,
            "preferred": True}


def declare(path, text, use, symbol="f", entity="function", kind="declare"):
    return {"kind": kind, "title": f"Declare {symbol}", "path": path, "symbol": symbol,
            "text": text, "entity": entity, "use": use, "preferred": True}


C_BLOCK = """// SPDX-License-Identifier: GPL-2.0
#include <linux/a.h>
#include <linux/b.h>
#ifdef CONFIG_X
#include <linux/x.h>
#endif

#include "local.h"

int g(void)
{
	return f();
}
"""

INCLUDE_CASES = [
    ("after the last include at base level, not inside #ifdef", C_BLOCK,
     include("a.c", "<linux/f.h>", [11, 8]),
     C_BLOCK.replace('#include "local.h"\n', '#include "local.h"\n#include <linux/f.h>\n')),
    ("inside a header's include guard",
     "/* x */\n#ifndef _H\n#define _H\n\n#include <linux/a.h>\n\nstatic inline int g(void) "
     "{ return f(); }\n#endif\n",
     include("a.c", "<linux/f.h>", [6, 31]),
     "/* x */\n#ifndef _H\n#define _H\n\n#include <linux/a.h>\n#include <linux/f.h>\n\n"
     "static inline int g(void) { return f(); }\n#endif\n"),
    ("guarded header without includes: after the #define",
     "#ifndef _H\n#define _H\nstatic inline int g(void) { return f(); }\n#endif\n",
     include("a.c", "<linux/f.h>", [2, 31]),
     "#ifndef _H\n#define _H\n#include <linux/f.h>\nstatic inline int g(void) { return f(); }\n"
     "#endif\n"),
    ("no include: after the leading comment block",
     "// SPDX\n/*\n * text\n */\n\nint g(void) { return f(); }\n",
     include("a.c", '"f.h"', [5, 21]),
     '// SPDX\n/*\n * text\n */\n#include "f.h"\n\nint g(void) { return f(); }\n'),
    ("no include, code right after the comment: a blank line follows the include",
     "/* c */\nint g(void) { return f(); }\n",
     include("a.c", "<f.h>", [1, 21]),
     "/* c */\n#include <f.h>\n\nint g(void) { return f(); }\n"),
    ("no comment at all: at the top",
     "int g(void) { return f(); }\n", include("a.c", "<f.h>", [0, 21]),
     "#include <f.h>\n\nint g(void) { return f(); }\n"),
    ("an include after the use does not count", C_BLOCK + "#include <linux/f.h>\n",
     include("a.c", "<linux/f.h>", [11, 8]),
     C_BLOCK.replace('#include "local.h"\n', '#include "local.h"\n#include <linux/f.h>\n')
     + "#include <linux/f.h>\n"),
    ("CRLF line endings are kept", C_BLOCK.replace("\n", "\r\n"),
     include("a.c", "<linux/f.h>", [11, 8]),
     C_BLOCK.replace('#include "local.h"\n', '#include "local.h"\n#include <linux/f.h>\n')
     .replace("\n", "\r\n")),
]


@pytest.mark.parametrize("name,text,plan,expected", INCLUDE_CASES, ids=[c[0] for c in INCLUDE_CASES])
def test_include_placement(name, text, plan, expected):
    got = run(plan, {"a.c": text})
    assert got == {"a.c": expected}
    assert run(plan, got) is None  # idempotent: the include is there now


@pytest.mark.parametrize("present", ["<linux/f.h>", '"../include/linux/f.h"'])
def test_include_already_present_before_use(present):
    text = C_BLOCK.replace("#include <linux/a.h>", f"#include {present}")
    plan = include("a.c", "<linux/f.h>", [11, 8],
                   spellings=["<linux/f.h>", '"../include/linux/f.h"'])
    assert run(plan, {"a.c": text}) is None


DECLARE_CASES = [
    ("before the function holding the use, above its kernel-doc",
     "#include <a.h>\n\n/**\n * g - doc\n */\nint g(void)\n{\n\treturn f(1);\n}\n",
     declare("a.c", "int f(int x);", [7, 8]),
     "#include <a.h>\n\nint f(int x);\n\n/**\n * g - doc\n */\nint g(void)\n{\n\treturn f(1);\n"
     "}\n"),
    ("before the SYSCALL_DEFINE line of a syscall body",
     "#include <a.h>\n\nSYSCALL_DEFINE1(x, int, a)\n{\n\treturn f(a);\n}\n",
     declare("a.c", "long f(int a);", [4, 8]),
     "#include <a.h>\n\nlong f(int a);\n\nSYSCALL_DEFINE1(x, int, a)\n{\n\treturn f(a);\n}\n"),
    ("inside the #ifdef block holding the use",
     "int a;\n#ifdef CONFIG_X\nint g(void)\n{\n\treturn f();\n}\n#endif\n",
     declare("a.c", "int f(void);", [4, 8]),
     "int a;\n#ifdef CONFIG_X\nint f(void);\n\nint g(void)\n{\n\treturn f();\n}\n#endif\n"),
    ("a blank line is added after code directly above",
     "int a;\nint g(void) { return f(); }\n", declare("a.c", "int f(void);", [1, 21]),
     "int a;\n\nint f(void);\n\nint g(void) { return f(); }\n"),
    ("an extern variable before a file-scope initializer using it",
     "int g;\nint *p = &v;\n", declare("a.c", "extern int v;", [1, 10], "v", "variable"),
     "int g;\n\nextern int v;\n\nint *p = &v;\n"),
    ("a struct stub before the first use",
     "int g(void)\n{\n\treturn sizeof(struct foo);\n}\n",
     declare("a.c", "struct foo {\n\t/* TODO */\n};", [2, 23], "foo", "struct", "define_stub"),
     "struct foo {\n\t/* TODO */\n};\n\nint g(void)\n{\n\treturn sizeof(struct foo);\n}\n"),
    ("a forward declaration",
     "struct bar { struct foo *p; };\n",
     declare("a.c", "struct foo;", [0, 20], "foo", "struct", "forward_declare"),
     "struct foo;\n\nstruct bar { struct foo *p; };\n"),
]


@pytest.mark.parametrize("name,text,plan,expected", DECLARE_CASES, ids=[c[0] for c in DECLARE_CASES])
def test_declaration_placement(name, text, plan, expected):
    got = run(plan, {"a.c": text})
    assert got == {"a.c": expected}
    assert run(plan, got) is None  # idempotent: declared before the use now


@pytest.mark.parametrize("text,plan", [
    ("int f(int);\nint g(void) { return f(1); }\n", declare("a.c", "int f(int x);", [1, 21])),
    ("extern int v;\nint g(void) { return v; }\n",
     declare("a.c", "extern int v;", [1, 21], "v", "variable")),
    ("struct foo;\nstruct bar { struct foo *p; };\n",
     declare("a.c", "struct foo;", [1, 20], "foo", "struct", "forward_declare")),
    ("int g(void) { return sizeof(struct foo); }\nstruct foo { int x; };\n",
     declare("a.c", "struct foo {\n};", [0, 35], "foo", "struct", "define_stub")),
])
def test_declaration_already_there_gives_no_fix(text, plan):
    assert run(plan, {"a.c": text}) is None


def test_declared_only_after_the_use_is_declared_again():
    text = "int g(void) { return f(); }\nint f(void);\n"
    assert run(declare("a.c", "int f(void);", [0, 21]), {"a.c": text}) == {
        "a.c": "int f(void);\n\nint g(void) { return f(); }\nint f(void);\n"}


def test_stale_anchor_falls_back_to_the_first_use():
    text = "int a;\n\n\nint g(void) { return f(); }\n"
    got = run(declare("a.c", "int f(void);", [0, 4]), {"a.c": text})  # anchor names 'a'
    assert got == {"a.c": "int a;\n\n\nint f(void);\n\nint g(void) { return f(); }\n"}


def test_byte_columns_after_multibyte_characters():
    text = "int g(void) { /* é */ return f(); }\n"
    col = text.encode().index(b"f()")
    plan = declare("a.c", "int f(void);", [0, col])
    assert run(plan, {"a.c": text}) == {"a.c": "int f(void);\n\n" + text}


def test_symbol_gone_gives_no_fix():
    assert run(declare("a.c", "int f(void);", [0, 21]), {"a.c": "int g(void) { return 0; }\n"}) \
        is None
    assert run(include("a.c", "<f.h>", [0, 21]), {"a.c": "int g(void) { return 0; }\n"}) is None


def export(definition, header, include_spelling, text="void f(int x);", symbol="f",
           entity="function"):
    return {"kind": "export", "title": f"Make {symbol} non-static", "path": "user.c",
            "symbol": symbol, "entity": entity, "text": text, "use": [1, 21],
            "definition": definition, "header": header, "include": include_spelling,
            "spellings": [include_spelling] if include_spelling else None, "preferred": True}


DEF_C = "#include \"def.h\"\n\nstatic void f(int x);\n\nstatic\tvoid f(int x)\n{\n}\n"
DEF_H = "#ifndef _DEF_H\n#define _DEF_H\n\nint other(void);\n\n#endif /* _DEF_H */\n"
USER_C = "#include <linux/a.h>\nint g(void) { f(1); return 0; }\n"


def test_export_edits_three_files():
    files = {"def.c": DEF_C, "def.h": DEF_H, "user.c": USER_C}
    got = run(export({"path": "def.c", "line": 4}, "def.h", '"def.h"'), files)
    assert got == {
        "def.c": "#include \"def.h\"\n\nvoid f(int x);\n\nvoid f(int x)\n{\n}\n",
        "def.h": "#ifndef _DEF_H\n#define _DEF_H\n\nint other(void);\nvoid f(int x);\n\n"
                 "#endif /* _DEF_H */\n",
        "user.c": "#include <linux/a.h>\n#include \"def.h\"\nint g(void) { f(1); return 0; }\n",
    }
    assert run(export({"path": "def.c", "line": 4}, "def.h", '"def.h"'), {**files, **got}) is None


def test_export_into_a_header_without_guard_and_into_the_caller():
    files = {"def.c": DEF_C, "def.h": "int other(void);", "user.c": USER_C}
    got = run(export({"path": "def.c", "line": 4}, "def.h", None), files)
    assert got["def.h"] == "int other(void);\nvoid f(int x);\n"
    assert "user.c" not in got
    got = run(export({"path": "def.c", "line": 4}, None, None), files)
    assert got["user.c"] == "#include <linux/a.h>\n\nvoid f(int x);\n\n" \
                            "int g(void) { f(1); return 0; }\n"


def test_export_of_a_variable():
    files = {"def.c": "static unsigned long n = 3;\nstatic int m;\n",
             "def.h": "#ifndef X\n#define X\n#endif\n",
             "user.c": "#include <a.h>\nint g(void) { return n; }\n"}
    plan = export({"path": "def.c", "line": 0}, "def.h", None, "extern unsigned long n;", "n",
                  "variable")
    got = run(plan, files)
    assert got == {"def.c": "unsigned long n = 3;\nstatic int m;\n",
                   "def.h": "#ifndef X\n#define X\nextern unsigned long n;\n#endif\n"}


def test_export_whose_definition_is_gone_gives_no_fix():
    files = {"def.c": "int h(void) { return 0; }\n", "def.h": DEF_H, "user.c": USER_C}
    assert run(export({"path": "def.c", "line": 4}, "def.h", '"def.h"'), files) is None


def test_unreadable_file_gives_no_fix():
    assert realize(include("a.c", "<f.h>", [0, 0]), lambda path: None) is None


def _raising(path):
    raise RuntimeError("editor went away")


@pytest.mark.parametrize("plan", [
    None, [], "include", {}, {"kind": "include"}, {"kind": "nope", "title": "x"},
    {"kind": "include", "title": "t", "path": 3, "symbol": "f", "header": "<f.h>"},
    {"kind": "declare", "title": "t", "path": "a.c", "symbol": None, "text": 5, "use": "x"},
    {"kind": "export", "title": "t", "path": "a.c", "symbol": "f", "entity": "function",
     "definition": {"path": None}, "use": [0, 0]},
    {"kind": "include", "title": "t", "path": "a.c", "symbol": "f", "header": None},
    {"kind": "include", "title": "t", "path": "a.c", "symbol": "f", "header": "<f.h>\nint x;"},
    {"kind": "declare", "title": "t", "path": "a.c", "symbol": "f()", "text": "int f(void);",
     "entity": "function"},
    {"kind": "export", "title": "t", "path": "a.c", "symbol": "f", "entity": "function",
     "text": "int f(void);", "definition": None, "header": "a.h\n", "include": None},
])
def test_malformed_plans_give_none(plan):
    """Never an exception, never an edit built from a malformed field."""
    files = {"a.c": "int g(void) { return f(); }\n"}
    assert realize(plan, files.get) is None
    assert realize(plan, _raising) is None


def test_realize_stays_the_function_after_use():
    """The steps live in ``realizers``: importing them must not shadow ``fixes.realize``."""
    import kernel_lsp.fixes

    plan = declare("a.c", "int f(void);", [0, 21])
    first = realize(plan, {"a.c": "int g(void) { return f(); }\n"}.get)
    assert callable(kernel_lsp.fixes.realize) and kernel_lsp.fixes.realize is realize
    assert kernel_lsp.fixes.realize(plan, {"a.c": "int g(void) { return f(); }\n"}.get) == first
