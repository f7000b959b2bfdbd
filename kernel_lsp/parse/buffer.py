"""An editor buffer's text and its tree-sitter tree, reparsed incrementally after each change.

The parser reads the annotation-blanked text, so the edit given to ``tree.edit`` is the
difference between the old and new *blanked* texts (found by comparing them), not the client's
range: a keystroke that completes ``__init`` changes more of the blanked text than it typed.
A tree with syntax errors is parsed afresh instead: tree-sitter's error recovery depends on the
old tree, and a buffer must yield the facts its saved text yields.
"""

from __future__ import annotations

from tree_sitter import Point, Tree

from kernel_lsp.parse.conditions import active_text
from kernel_lsp.parse.parser import reparse_blanked
from kernel_lsp.parse.preprocess import parser_text


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search over C-level slice comparisons
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(text: bytes, offset: int) -> Point:
    row = text.count(b"\n", 0, offset)
    return Point(row, offset - (text.rfind(b"\n", 0, offset) + 1))


class Buffer:
    """Source bytes plus an up-to-date tree of them; ``update`` reuses the old tree.

    ``env``: the configuration whose dropped ``#if`` branches are blanked before parsing (see
    ``conditions.active_text``); extraction from this tree must use the same one."""

    def __init__(self, source: bytes, env=None):
        self.source, self.env = source, env
        self._blanked = parser_text(active_text(source, env)[0])
        self.tree: Tree = reparse_blanked(self._blanked, None)
        # the last update: (start, old_end, new_end, line delta), offsets in the file's bytes
        self.last_edit: tuple[int, int, int, int] | None = None

    def update(self, source: bytes) -> None:
        if source == self.source:
            return
        new_blanked = parser_text(active_text(source, self.env)[0])
        old = self._blanked
        start = _common_prefix(old, new_blanked)
        tail = _common_suffix(old, new_blanked, min(len(old), len(new_blanked)) - start)
        old_end, new_end = len(old) - tail, len(new_blanked) - tail
        self.tree.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end,
                       start_point=_point(old, start), old_end_point=_point(old, old_end),
                       new_end_point=_point(new_blanked, new_end))
        self.tree = reparse_blanked(new_blanked, self.tree)
        if self.tree.root_node.has_error:
            # error recovery after an incremental reparse can differ from a fresh parse's; the
            # buffer must give what ``check`` gives once the text is saved
            self.tree = reparse_blanked(new_blanked, None)
        lines = (source.count(b"\n", start, new_end) - self.source.count(b"\n", start, old_end))
        self.last_edit = (start, old_end, new_end, lines)
        self.source, self._blanked = source, new_blanked
