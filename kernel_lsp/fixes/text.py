"""Line/byte positions of a source text and the line-based places where fixes insert text.

Everything works on the UTF-8 bytes of the text (``surrogateescape`` keeps undecodable bytes), so
columns are byte columns as in ``Edit``. The places found here are those a kernel developer would
choose: after the last ``#include`` of the leading include block, before a header's closing
include-guard ``#endif``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel_lsp.files import lone_crs_as_lf
from kernel_lsp.parse.lines import line_starts

ENCODING_ERRORS = "surrogateescape"

_DIRECTIVE = re.compile(rb"^\s*#\s*(\w+)")
_INCLUDE = re.compile(rb"^\s*#\s*include\s*([<\"][^>\"]+[>\"])")
_OPENERS = (b"if", b"ifdef", b"ifndef")


def encode(text: str) -> bytes:
    return text.encode("utf-8", ENCODING_ERRORS)


def decode(data: bytes) -> str:
    return data.decode("utf-8", ENCODING_ERRORS)


class SourceText:
    """A text as bytes with its line starts: converts offsets to (line, byte column) and back."""

    def __init__(self, text: str):
        self.text = text
        self.data = encode(text)
        self.starts = line_starts(lone_crs_as_lf(self.data))  # (a lone \r ends a line too)
        first = self.data[: self.starts[1] if len(self.starts) > 1 else len(self.data)]
        self.newline = ("\r\n" if first.endswith(b"\r\n")
                        else "\r" if first.endswith(b"\r") else "\n")

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> bytes:
        """Line ``i`` without its line ending (b"" past the end)."""
        if not 0 <= i < len(self.starts):
            return b""
        end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.data)
        return self.data[self.starts[i]:end].rstrip(b"\r\n")

    def offset(self, line: int, col: int) -> int | None:
        """Byte offset of (line, byte column); None when outside the text."""
        if not 0 <= line < len(self.starts) or col < 0 or col > len(self.line(line)):
            return None
        return self.starts[line] + col

    def point(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo, offset - self.starts[lo]

    def is_blank(self, i: int) -> bool:
        return not self.line(i).strip()

    def word_at(self, line: int, col: int, word: str) -> bool:
        """Whether identifier ``word`` stands at (line, col) with identifier boundaries."""
        start = self.offset(line, col)
        w = encode(word)
        if start is None or self.data[start:start + len(w)] != w:
            return False
        before = self.data[start - 1:start] if start else b""
        after = self.data[start + len(w):start + len(w) + 1]
        return not (_ident(before) or _ident(after))

    def insertion_after_line(self, i: int) -> tuple[int, int, str]:
        """(line, col, prefix) that inserts a new line right after line ``i``."""
        if i + 1 < len(self.starts):
            return i + 1, 0, ""
        return i, len(self.line(i)), self.newline  # last line without a line ending


def _ident(b: bytes) -> bool:
    return bool(b) and (b.isalnum() or b == b"_" or b[0] >= 0x80)


@dataclass(frozen=True, slots=True)
class Directive:
    line: int
    name: str  # include, ifndef, define, endif, ...
    depth: int  # conditional nesting before the directive
    include: str | None  # the include argument with its delimiters


def leading_directives(src: SourceText) -> tuple[list[Directive], int]:
    """Preprocessor directives of the leading region (comments, blank lines and directives before
    the first line of C code) and the index of that first code line (line_count if none)."""
    out: list[Directive] = []
    depth = 0
    in_comment = continued = False
    for i in range(src.line_count):
        raw = src.line(i)
        if continued:
            continued = raw.endswith(b"\\")
            continue
        stripped = raw.strip()
        if in_comment:
            in_comment = b"*/" not in stripped
            continue
        if not stripped or stripped.startswith(b"//"):
            continue
        if stripped.startswith(b"/*"):
            in_comment = b"*/" not in stripped[2:]
            continue
        m = _DIRECTIVE.match(raw)
        if m is None:
            return out, i
        name = m.group(1)
        inc = _INCLUDE.match(raw)
        if name == b"endif":
            depth = max(0, depth - 1)
        out.append(Directive(i, name.decode("ascii", "replace"), depth,
                             decode(inc.group(1)) if inc else None))
        if name in _OPENERS:
            depth += 1
        continued = raw.endswith(b"\\")
        in_comment = b"/*" in raw and b"*/" not in raw[raw.rfind(b"/*"):]
    return out, src.line_count


def _guard_depth(directives: list[Directive]) -> int:
    """1 when the region opens with an include guard (``#ifndef X`` / ``#define X``), else 0."""
    if len(directives) >= 2 and directives[0].name == "ifndef" and directives[1].name == "define":
        return 1
    return 0


def include_insertion(src: SourceText) -> tuple[int, int, str, str]:
    """Where a new ``#include`` line goes: (line, col, prefix, suffix) of the insertion.

    After the last ``#include`` of the leading include block at the file's base conditional depth
    (inside an include guard for a header); with no such include, after the guard's ``#define``
    or after the leading comment block, followed by a blank line when code follows directly.
    """
    directives, first_code = leading_directives(src)
    base = _guard_depth(directives)
    includes = [d for d in directives if d.include is not None and d.depth == base]
    if includes:
        line, col, prefix = src.insertion_after_line(includes[-1].line)
        return line, col, prefix, ""
    if base:
        line, col, prefix = src.insertion_after_line(directives[1].line)
        return line, col, prefix, ""
    anchor = _end_of_leading_comments(src, first_code)
    if anchor < 0:
        return 0, 0, "", "" if src.is_blank(0) else src.newline
    line, col, prefix = src.insertion_after_line(anchor)
    return line, col, prefix, "" if src.is_blank(anchor + 1) else src.newline


def _end_of_leading_comments(src: SourceText, first_code: int) -> int:
    """Last line of the comment block at the top of the file (-1 when it starts with code)."""
    last, in_comment = -1, False
    for i in range(min(first_code, src.line_count)):
        stripped = src.line(i).strip()
        if in_comment:
            last = i
            in_comment = b"*/" not in stripped
        elif stripped.startswith(b"//"):
            last = i
        elif stripped.startswith(b"/*"):
            last = i
            in_comment = b"*/" not in stripped[2:]
        elif stripped:
            break
    return last


def existing_includes(src: SourceText) -> list[tuple[int, str]]:
    """(line, argument with delimiters) of every ``#include`` line of the text."""
    out = []
    for i in range(src.line_count):
        m = _INCLUDE.match(src.line(i))
        if m:
            out.append((i, decode(m.group(1))))
    return out


def header_tail_insertion(src: SourceText) -> tuple[int, int, str]:
    """Where a new declaration goes at the end of a header: (line, col, prefix).

    Before the closing ``#endif`` of an include guard (after the last non-blank line above it),
    otherwise after the last non-blank line of the file.
    """
    last = src.line_count - 1
    while last >= 0 and src.is_blank(last):
        last -= 1
    if last < 0:
        return 0, 0, ""
    directives, _ = leading_directives(src)
    m = _DIRECTIVE.match(src.line(last))
    if _guard_depth(directives) and m and m.group(1) == b"endif":
        above = last - 1
        while above >= 0 and src.is_blank(above):
            above -= 1
        if above < 0:
            return last, 0, ""
        return src.insertion_after_line(above)
    return src.insertion_after_line(last)
