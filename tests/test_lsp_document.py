"""The server's copy of an open buffer (``plumbing.LspDocument``) after incremental changes is
the text the editor holds: lines end at LSP's line ends only (``\\n``, ``\\r\\n``, ``\\r``), a
change touches only the lines it names, and a change to a 50 MB buffer costs what a change to
a small one does."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from kernel_lsp.lsp.plumbing import LspDocument

_EDITOR_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


_UNITS = {"utf-8": lambda ch: len(ch.encode("utf-8")), "utf-32": lambda ch: 1,
          "utf-16": lambda ch: 2 if ord(ch) > 0xFFFF else 1}


def _doc(text: str, encoding: str = "utf-16") -> LspDocument:
    return LspDocument("file:///t.c", source=text, version=1,
                       position_codec=PositionCodec(types.PositionEncodingKind(encoding)))


def _change(doc: LspDocument, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
    doc.apply_change(types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*start), types.Position(*end)), text=text))


def _editor_offset(text: str, line: int, character: int, encoding: str = "utf-16") -> int:
    """Where an editor puts (line, character in ``encoding``'s code units) in ``text``."""
    lines = _EDITOR_LINE.findall(text)
    before = sum(len(x) for x in lines[:line])
    content = lines[line].rstrip("\r\n") if line < len(lines) else ""
    units = 0
    for i, ch in enumerate(content):
        if units >= character:
            return before + i
        units += _UNITS[encoding](ch)
    return before + len(content)


def _positions(text: str, encoding: str):
    """A strategy of positions inside ``text`` (on a line, at most at its end)."""
    lines = _EDITOR_LINE.findall(text) or [""]
    if text == "" or text[-1] in "\r\n":
        lines.append("")
    return st.integers(0, len(lines) - 1).flatmap(lambda n: st.tuples(
        st.just(n), st.integers(0, sum(map(_UNITS[encoding], lines[n].rstrip("\r\n"))))))


_PIECES = st.lists(st.sampled_from(["a", "bc", "\n", "\r", "\r\n", "\x0c", "é", "😋", " "]),
                   max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.sampled_from(list(_UNITS)), st.data())
def test_a_run_of_changes_leaves_the_editors_text(text, encoding, data):
    _random_changes(text, encoding, data, _positions, 5, lines=True)


def _random_changes(text: str, encoding: str, data, positions, most: int,
                    lines: bool = False) -> None:
    """Up to ``most`` random changes at ``positions(text, encoding)``: after each the server's
    text is the editor's (and so are its ``lines``)."""
    doc = _doc(text, encoding)
    for _ in range(data.draw(st.integers(1, most))):
        start = data.draw(positions(text, encoding))
        end = data.draw(positions(text, encoding))
        new = data.draw(_PIECES)
        a, b = sorted((_editor_offset(text, *start, encoding),
                       _editor_offset(text, *end, encoding)))
        text = text[:a] + new + text[b:]
        _change(doc, start, end, new)
        assert doc.source == text
        if lines:
            assert list(doc.lines) == _EDITOR_LINE.findall(text)


def _positions_past(text: str, encoding: str):
    """A strategy of positions on a line of ``text`` (or past the last) whose character may
    be past the line's end: LSP takes it as the line's end (``_editor_offset``)."""
    lines = _EDITOR_LINE.findall(text) or [""]
    return st.tuples(st.integers(0, len(lines) + 1), st.integers(0, 8))


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.sampled_from(list(_UNITS)), st.data())
def test_a_position_past_the_end_of_its_line_is_the_lines_end(text, encoding, data):
    """A client's change whose position is past the end of its line (LSP: its end): the
    server took the character before the last of the document's last line (``abc`` with
    ``X`` at character 4 became ``abXc``), or one past a line end (``abc\\ndef`` became
    ``abc\\nXdef``, a ``\\r\\n`` split), and held another text than the editor."""
    _random_changes(text, encoding, data, _positions_past, 4)
    for text, at, expected in (("abc", (0, 4), "abcX"), ("abc\ndef", (0, 4), "abcX\ndef"),
                               ("abc\r\ndef", (0, 4), "abcX\r\ndef")):
        doc = _doc(text)
        _change(doc, at, at, "X")
        assert doc.source == expected


def test_a_cr_and_an_lf_that_an_edit_brings_together_are_one_line_end():
    doc = _doc("a\rb\nc\n")
    _change(doc, (1, 0), (1, 1), "")  # "a\r" + "\n": one line end now
    assert doc.lines == ("a\r\n", "c\n")
    _change(doc, (1, 0), (1, 0), "x")
    assert doc.source == "a\r\nxc\n"


def test_a_range_that_ends_before_it_starts():
    """pygls dropped such an edit (or, on one line, wrote the text between twice)."""
    doc = _doc("one\ntwo\nthree\n")
    _change(doc, (2, 2), (0, 1), "X")
    assert doc.source == "oXree\n"
    _change(doc, (0, 3), (0, 1), "Y")
    assert doc.source == "oYee\n"


def test_a_change_to_a_50_mb_buffer_is_as_quick_as_to_a_small_one():
    """pygls split the text into lines and wrote it out again for each change: about 1 s a
    keystroke on 50 MB."""
    line = "\tstatic int value_%07d = 0; /* a line of a large generated file */\n"
    text = "".join(line % i for i in range(50_000_000 // len(line % 0)))
    doc = _doc(text)
    _change(doc, (0, 0), (0, 0), "/* first */")  # the first change splits the text once
    took = []
    for i in range(20):
        t0 = time.perf_counter()
        _change(doc, (300_000 + i, 1), (300_000 + i, 7), "const")
        took.append(time.perf_counter() - t0)
    took.sort()
    # against what pygls did for each change, timed here (no absolute time: a loaded machine
    # slows both): splitting the whole text into lines and joining it again
    t0 = time.perf_counter()
    "".join(text.splitlines(keepends=True))
    whole = time.perf_counter() - t0
    assert took[len(took) // 2] < whole / 20, (
        f"median {1000 * took[len(took) // 2]:.2f} ms a change, {1000 * whole:.0f} ms a split")
    assert doc.source.count("\tconst int") == 20


def test_a_change_at_the_end_of_a_line_of_5_mb():
    """pygls' codec counted the code units of each character before the column: 3 s."""
    for encoding, line in [("utf-16", "x" * 5_000_000), ("utf-16", "é" * 5_000_000),
                           ("utf-8", "x" * 5_000_000)]:
        doc = _doc(line + "\n", encoding)
        t0 = time.perf_counter()
        _change(doc, (0, 4_999_999), (0, 5_000_000), "yz")
        took = time.perf_counter() - t0
        # against one Python step per character of the line (pygls' codec took several), timed
        # here: a loaded machine slows both
        t0 = time.perf_counter()
        sum(1 for _ch in line)
        assert took < time.perf_counter() - t0
        assert doc.source == line[:-1] + "yz\n"
