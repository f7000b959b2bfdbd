"""Offsets to (row, column): ``parse/lines.Lines`` against counting the newlines before each."""

from hypothesis import given
from hypothesis import strategies as st

from kernel_lsp.parse.directives import directives
from kernel_lsp.parse.lines import Lines


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
