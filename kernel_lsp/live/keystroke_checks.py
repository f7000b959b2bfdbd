"""The findings of a keystroke served from one body: that body's rows checked, the rest kept.

When a keystroke changed only one function body's rows (``live/keystroke.py``) and nothing the
symbol tables hold, every other row reads the same symbols and sees the same declarations as
before (positions after the body moved together), so its findings are the old ones, moved down
by the edit's line delta. Only the body's calls, type uses and variable uses are checked again.
"""

from __future__ import annotations

import dataclasses

from kernel_lsp.findings import Finding
from kernel_lsp.live.keystroke import Body, LocalEdit


def _position(source: bytes, offset: int) -> tuple[int, int]:
    line = source.count(b"\n", 0, offset)
    return line, offset - (source.rfind(b"\n", 0, offset) + 1)


def inside_body(f: Finding, source: bytes, body: Body) -> bool:
    """Whether ``f`` stands inside ``body`` (braces excluded) of ``source``."""
    open_at = _position(source, body.start)
    last_line = source.count(b"\n", 0, body.end - 1)
    return (f.line, f.col) > open_at and f.line <= last_line


def findings_outside(found: list[Finding], source: bytes, edit: LocalEdit,
                     path: str) -> list[Finding]:
    """The findings of ``found`` (before the edit) outside the edited body, moved by it.
    Nothing follows a served body's ``}`` on its line (``BodyIndex``), so a finding below the
    body only moves by whole lines, with the later lines it names (``context["also"]``). The
    findings of headers as this unit includes them (``checks/unitvis``) stay: a body edit
    changes no include; the unit's include line they name moves if it is below."""
    open_at = _position(source, edit.body.start)
    last_old = source.count(b"\n", 0, edit.body.end - 1) - edit.lines
    out = []
    for f in found:
        if f.path != path:
            unit_line = f.context.get("unit_line")
            if edit.lines and unit_line is not None and unit_line > last_old:
                f = dataclasses.replace(f, context={**f.context,
                                                    "unit_line": unit_line + edit.lines})
            out.append(f)
        elif f.line > last_old:
            out.append(_moved(f, edit.lines) if edit.lines else f)
        elif (f.line, f.col) <= open_at:
            out.append(f)
    return out


def _moved(f: Finding, lines: int) -> Finding:
    context = f.context
    if context.get("also"):
        context = {**context, "also": [[line + lines, col, end] for line, col, end
                                       in context["also"]]}
    return dataclasses.replace(f, line=f.line + lines, end_line=f.end_line + lines,
                               context=context)


class BodyFacts:
    """A fact source holding only the rows of one body of one file."""

    def __init__(self, fid: int, rows):
        self.fid, self.rows = fid, rows

    def _of(self, file_ids, rows):
        return ((self.fid, r) for r in rows) if self.fid in file_ids else iter(())

    def calls_in(self, file_ids):
        return self._of(file_ids, [c for c in self.rows.get("calls", ()) if c.kind == "direct"])

    def type_uses_in(self, file_ids):
        return self._of(file_ids, self.rows.get("type_uses", ()))

    def var_uses_in(self, file_ids):
        return self._of(file_ids, self.rows.get("var_uses", ()))

    def variables_in(self, file_ids):
        return iter(())

    def local_prototypes(self, file_ids):
        return self._of(file_ids, [f for f in self.rows.get("functions", ())
                                   if f.parent is not None])

    def definitions_in(self, file_ids):
        return iter(())

    def invocations_in(self, file_ids):
        return iter(())
