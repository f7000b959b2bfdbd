"""Linear replacements of quadratic scans, against the scans they replace: offsets to (row,
column) (``parse/lines.Lines``), the first site of each free identifier of a body, and the
macro expander's brace depth, closing parenthesis and parameter substitution (regex jumps and
a per-token lookup in place of per-character loops), and the brace-depth tokens and list braces
of ``blank_in_braces`` (a regex with a literal first byte, byte stripping in place of searches
anchored at the end)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from kernel_lsp.parse.directives import directives
from kernel_lsp.parse.lines import Lines, blank
from kernel_lsp.parse.macros import _VARIADIC, Expander, _BraceDepth, matching_paren
from kernel_lsp.parse.preprocess import _depth_tokens, _list_brace
from kernel_lsp.parse.varuse import _first_sites


def _counted(src: bytes, pos: int) -> tuple[int, int]:
    return src.count(b"\n", 0, pos), pos - (src.rfind(b"\n", 0, pos) + 1)


@given(st.lists(st.sampled_from([b"a", b"\n", b"\r", b" "]), max_size=60), st.data())
def test_every_offset_gets_the_row_and_column_of_counting(parts, data):
    src = b"".join(parts)
    lines = Lines(src)
    for pos in data.draw(st.lists(st.integers(0, len(src)), max_size=12)):
        assert lines.point(pos) == _counted(src, pos)


def test_offsets_at_and_after_each_newline():
    src = b"a\n\nbc\r\n"
    assert [Lines(src).point(p) for p in range(len(src) + 1)] == [
        (0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (3, 0)]


def test_directive_spans_in_a_long_header_name_their_lines():
    # the register headers' shape: thousands of #defines, each span computed from the start
    src = b"".join(b"#define REG_%d 0x%x\n" % (i, i) for i in range(5000))
    _, macros = directives(src)
    assert len(macros) == 5000
    last = macros[-1].span
    assert (last.line, last.col, last.end_line, last.end_col) == (4999, 8, 4999, 16)


# -- the first site of each free identifier in a body (``parse/varuse._first_sites``) ---------

_PIECES = [b"foo", b"bar", b"foo_b", b"x", b".", b"->", b"#", b" ", b"(", b")", b"1", b"\n", b";"]


@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_first_sites_equal_a_search_for_each_name(parts):
    body = b"".join(parts)
    wanted = [b"foo", b"bar", b"x"]
    expected = {}
    for name in wanted:
        m = re.search(rb"(?<![\w.>#])(?<!->)" + name + rb"\b", body)
        if m is not None:
            expected[name] = m.start()
    assert _first_sites(body, wanted) == expected


def test_members_and_directive_words_are_not_sites():
    body = b"{ s.count = p->count; #count\n return count; }"
    assert _first_sites(body, [b"count"]) == {b"count": body.rindex(b"count")}


@given(st.lists(st.sampled_from([b"a", b"\n", b"\r", b" ", b"\t", b"\xff"]), max_size=40))
def test_blanking_makes_every_byte_but_newlines_a_space(parts):
    text = b"".join(parts)
    assert blank(text) == re.sub(rb"[^\n]", b" ", text) == blank(bytearray(text))


# -- the macro expander's scans (``parse/macros``) ----------------------------------------------

_MACRO_TEXT = st.text(alphabet="{}()\"'\\ax,# ", max_size=40)


def _depth_by_char(text: str, offsets: list[int]) -> list[int]:
    """Brace depth before each offset, literals skipped, one character at a time."""
    out, depth, i = [], 0, 0
    for offset in offsets:
        while i < offset:
            c = text[i]
            if c in "\"'":
                i += 1
                while i < len(text) and text[i] != c:
                    i += 2 if text[i] == "\\" else 1
            elif c == "{":
                depth += 1
            elif c == "}":
                depth = max(0, depth - 1)
            i += 1
        out.append(depth)
    return out


@given(_MACRO_TEXT, st.data())
def test_brace_depth_equals_a_walk_over_each_character(text, data):
    offsets = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=5)))
    braces = _BraceDepth(text)
    assert [braces.at(o) for o in offsets] == _depth_by_char(text, offsets)


def test_braces_inside_literals_do_not_count():
    text = 'x = "{\\"{"; c = \'{\'; { y'
    assert _BraceDepth(text).at(len(text)) == 1


@given(_MACRO_TEXT)
def test_the_closing_parenthesis_is_the_first_at_depth_zero(text):
    if "(" not in text:
        return
    start, depth, expected = text.index("("), 0, -1
    for i in range(start, len(text)):
        depth += (text[i] == "(") - (text[i] == ")")
        if depth == 0:
            expected = i
            break
    assert matching_paren(text, start) == expected


@given(st.text(alphabet="ax_ #,()", max_size=30))
def test_a_body_without_paste_or_stringise_substitutes_each_token(body):
    binding = {"a": "A1", "x": "", "__VA_ARGS__": "", _VARIADIC: "__VA_ARGS__"}
    expected = Expander._substitute(body, dict(binding), toks=tuple(
        re.findall(r"##|#|[A-Za-z_]\w*|\s+|.", body, re.S)))
    assert Expander._substitute(body, dict(binding)) == expected


# -- brace depth tokens and list braces (``parse/preprocess.blank_in_braces``) -----------------

_TOKEN_PIECES = ["\n", " ", "\t", "#", "if", "define", "{", "}", "/*", "*/", "//", '"', "'",
                 "\\", "FOO", "static ", "(", ")", "x", ";", "=", ","]


@given(st.lists(st.sampled_from(_TOKEN_PIECES), max_size=40))
def test_depth_tokens_equal_the_line_anchored_regex(parts):
    src = "".join(parts).encode()
    anchored = re.compile(
        rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
        rb"|^[ \t]*#[ \t]*(\w*)(?:[^\n]*\\\n)*[^\n]*"
        rb"|^([ \t]*(?:(?:static|const)[ \t]+)*)([A-Z_][A-Z0-9_]*)[ \t]*\(|[{}]"
        rb"|^[ \t]*([A-Z_][A-Z0-9_]*)\b(?![ \t]*\()", re.S | re.M)
    expected = [(m.start(), m.end(), m.group(1), m.group(2), m.group(3), m.start(3), m.group(4),
                 m.start(4)) for m in anchored.finditer(src)
                if m.lastindex is not None or m.end() - m.start() == 1]  # no comment, literal
    assert list(_depth_tokens(src)) == expected


@given(st.lists(st.sampled_from(["struct", "enum", " ", "\n", "=", ",", "{", "x1", "(", "*",
                                 "_"]), max_size=30), st.booleans())
def test_list_braces_equal_the_anchored_search(parts, inside):
    src = "".join(parts).encode() + b"{"
    before = src[max(0, len(src) - 1 - 160):-1]
    items = bool(re.search(rb"=[ \t\n]*$", before)) or (
        inside and bool(re.search(rb"[{,][ \t\n]*$", before)))
    members = bool(re.search(rb"\b(?:struct|union|enum)\b[\w \t\n]*$", before))
    # an initializer's items (2), members or enumerators (1), a block (0)
    assert _list_brace(src, len(src) - 1, inside) == (2 if items else 1 if members else 0)


# -- regexes rewritten to start with a literal byte or class (the engine then skips to
# candidates), against the forms they replace -------------------------------------------------

_LEXEMES = ["\n", " ", "#", "define", "x", "_", "__", "__attribute__", "__printf", "(", ")", ".",
            "->", ">", "struct ", "goto ", "a1", ":", "/*", "*/", "//", '"', "'", "\\",
            "noinline", "notrace", "asmlinkage", "__init", "int", "ACPI_", "XFACE", "A"]


@given(st.lists(st.sampled_from(_LEXEMES), max_size=30))
def test_free_identifier_scans_equal_their_lookbehind_first_forms(parts):
    from kernel_lsp.parse import varuse

    src = "".join(parts).encode()
    noise = re.compile(rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
                       rb"|^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.S | re.M)
    ident = re.compile(rb"(?<![\w.>#])(?<!->)(?<!struct )(?<!union )(?<!enum )(?<!goto )"
                       rb"([a-z_][A-Za-z0-9_]*)\b(?!\s*\()(?!\s*:[^:])")
    token = re.compile(rb"(?<![\w.>#])(?<!->)[A-Za-z_]\w*")
    assert varuse._NOISE.sub(varuse._blank, b"\n" + src)[1:] == noise.sub(varuse._blank, src)
    assert varuse._IDENT.findall(src) == ident.findall(src)
    assert [m.start() for m in varuse._TOKEN.finditer(src)] == [
        m.start() for m in token.finditer(src)]


@given(st.lists(st.sampled_from(_LEXEMES), max_size=30))
def test_annotation_scans_equal_their_word_boundary_forms(parts):
    from kernel_lsp.parse import preprocess

    src = "".join(parts).encode()
    candidate = re.compile(rb"\b(?:_{2,4}[a-z]\w*|noinline\w*|notrace|noinstr|asmlinkage"
                           rb"|ACPI_[A-Z_]+)\b")
    paren = re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(set(
        preprocess.PAREN_ANNOTATIONS))) + rb")\s*\(")
    assert [m.span() for m in preprocess._CANDIDATE_RE.finditer(src)] == [
        m.span() for m in candidate.finditer(src)]
    assert [m.span() for m in preprocess._PAREN_RE.finditer(src)] == [
        m.span() for m in paren.finditer(src)]


_LINE_PIECES = ["\n", " ", "\t", "#", "define ", "FOO", "foo", "(", "static ", "struct ", "s",
                "__packed ", "{", "x "]


@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=30))
def test_line_start_scans_equal_their_multiline_forms(parts):
    """Matched from the newline before each line in the text with a newline put before it: the
    same lines and the same groups, one byte later, as the ``^`` forms in the text itself."""
    from kernel_lsp.parse import preprocess

    src = "".join(parts).encode()
    ident = rb"[A-Za-z_]\w*"
    forms = {
        preprocess._BARE_START: re.compile(rb"^([ \t]*)(?:static[ \t]+)?([A-Za-z_]\w*)[ \t]*\(",
                                           re.M),
        preprocess._LOCAL_FUNCTION_MACRO: re.compile(
            rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(", re.M),
        preprocess._BEFORE_TAG: re.compile(rb"^ *((?:" + ident + rb"[ \t]+)+)(?=(?:struct|union|"
                                           rb"enum)[ \t]+" + ident + rb"\b)", re.M),
    }
    for fast, multiline in forms.items():
        got = [(m.start(), [(m.start(g) - 1, m.group(g)) for g in range(1, fast.groups + 1)])
               for m in fast.finditer(b"\n" + src)]
        assert got == [(m.start(), [(m.start(g), m.group(g)) for g in range(1, m.re.groups + 1)])
                       for m in multiline.finditer(src)]


_DIRECTIVE_PIECES = ["\n", " ", "\t", "#", "include", "define", "if", "ifdef", "else", "endif",
                     "undef", "x", "static ", "const ", "__init ", "FOO", "(", "\\", "<a.h>"]


@given(st.lists(st.sampled_from(_DIRECTIVE_PIECES), max_size=30))
def test_directive_and_invocation_scans_equal_their_multiline_forms(parts):
    from kernel_lsp.parse import conditions, directives, filescope

    src = "".join(parts).encode()
    forms = {
        directives._LINE: re.compile(rb"^[ \t]*#[ \t]*(include|define)\b", re.M),
        conditions._DIRECTIVE: re.compile(
            rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif|define|undef)\b(.*)$", re.M),
        filescope._INVOCATION: re.compile(
            rb"^([ \t]*)(static\s+)?(?:(?:const|__[a-z]\w*)\s+)*([A-Za-z_]\w*)[ \t]*\(", re.M),
    }
    for fast, multiline in forms.items():
        got = [(m.start(), m.end() - 1, [(max(-1, m.start(g) - 1), m.group(g))
                                         for g in range(1, fast.groups + 1)])
               for m in fast.finditer(b"\n" + src)]  # (-1: a group that took no part)
        assert got == [(m.start(), m.end(), [(m.start(g), m.group(g))
                                             for g in range(1, m.re.groups + 1)])
                       for m in multiline.finditer(src)]
