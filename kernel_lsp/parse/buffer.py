"""An editor buffer's text and its tree-sitter tree, reparsed incrementally after each change.

The parser reads the annotation-blanked text, so the edit given to ``tree.edit`` is the
difference between the old and new *blanked* texts (found by comparing them), not the client's
range: a keystroke that completes ``__init`` changes more of the blanked text than it typed.
A tree with syntax errors is parsed afresh instead: tree-sitter's error recovery depends on the
old tree, and a buffer must yield the facts its saved text yields. ``splice`` takes a keystroke
that ``live/keystroke.py`` served from one function body: the tree is only edited then, and
reparsed (incrementally, so not ``exact``) when someone reads it.
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
        self.active = active_text(source, env)[0]  # the text with dropped branches blanked
        self._blanked = parser_text(self.active)
        self._tree: Tree = reparse_blanked(self._blanked, None)
        # the last update: (start, old_end, new_end, line delta), offsets in the file's bytes
        self.last_edit: tuple[int, int, int, int] | None = None
        self.exact = True  # the tree is a fresh parse's (else: reparsed after ``splice``)
        self._stale = False  # ``splice`` edited the tree but did not reparse it yet

    @property
    def blanked(self) -> bytes:
        """The text the parser reads."""
        return self._blanked

    @property
    def tree(self) -> Tree:
        """The tree of the text (after ``splice``: reparsed incrementally on first use)."""
        if self._stale:
            self._tree = reparse_blanked(self._blanked, self._tree)
            self._stale = False
        return self._tree

    @tree.setter
    def tree(self, tree: Tree) -> None:
        self._tree, self._stale = tree, False

    def exact_tree(self) -> Tree:
        """The tree a fresh parse of the text gives (what extraction must read)."""
        if not self.exact:
            self.tree = reparse_blanked(self._blanked, None)
            self.exact = True
        return self.tree

    def splice(self, source: bytes, edit: tuple[int, int, int, int], start: int, end: int,
               blanked_piece: bytes) -> None:
        """Take ``source``, which differs from the buffer's text inside ``[start, end)`` only
        (``edit`` as in ``last_edit``); ``blanked_piece`` is the parser's text of the new
        ``source[start:end + delta]``, blanked on its own by the caller (``live/keystroke.py``
        says when that equals blanking the whole text). The tree is edited now and reparsed
        on first use, incrementally: not ``exact`` until the next ``update``."""
        old = self._blanked
        new_blanked = old[:start] + blanked_piece + old[end:]
        s = start + _common_prefix(old[start:end], blanked_piece)
        delta = len(new_blanked) - len(old)
        tail = _common_suffix(old[s:end], blanked_piece[s - start:], min(end - s, end + delta - s))
        old_end, new_end = end - tail, end + delta - tail
        self._tree.edit(start_byte=s, old_end_byte=old_end, new_end_byte=new_end,
                        start_point=_point(old, s), old_end_point=_point(old, old_end),
                        new_end_point=_point(new_blanked, new_end))
        a, o, n, _lines = edit
        self.active = self.active[:a] + source[a:n] + self.active[o:]
        self.source, self._blanked, self.last_edit = source, new_blanked, edit
        self._stale, self.exact = True, False

    def update(self, source: bytes) -> None:
        if source == self.source:
            return
        self.active = active_text(source, self.env)[0]
        new_blanked = parser_text(self.active)
        old, was_exact = self._blanked, self.exact
        start = _common_prefix(old, new_blanked)
        tail = _common_suffix(old, new_blanked, min(len(old), len(new_blanked)) - start)
        old_end, new_end = len(old) - tail, len(new_blanked) - tail
        tree = self.tree
        tree.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end,
                  start_point=_point(old, start), old_end_point=_point(old, old_end),
                  new_end_point=_point(new_blanked, new_end))
        self.tree = reparse_blanked(new_blanked, tree)
        self.exact = True
        if self.tree.root_node.has_error or not was_exact:
            # error recovery after an incremental reparse can differ from a fresh parse's; the
            # buffer must give what ``check`` gives once the text is saved
            self.tree = reparse_blanked(new_blanked, None)
        lines = (source.count(b"\n", start, new_end) - self.source.count(b"\n", start, old_end))
        self.last_edit = (start, old_end, new_end, lines)
        self.source, self._blanked = source, new_blanked
