"""A fact source whose files open in an editor answer from their buffers' rows, the rest from
the stored model.

Editor buffers are never written to the database: their rows (``rows.fact_rows`` shape) shadow
the stored file's for the per-file queries the checks make (``checks.inputs.FactSource``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from kernel_lsp.model.rows import Definition, FactRows
from kernel_lsp.model.store import Model


class OverlayModel:
    """``FactSource`` over ``rows`` of overlaid files, the Model for the others."""

    def __init__(self, model: Model | None, rows: dict[int, FactRows]):
        self.model, self.rows = model, rows

    def _query(self, method: str, file_ids: Iterable[int],
               mine: Callable[[FactRows], Iterable]) -> Iterator[tuple[int, tuple]]:
        stored = []
        for fid in file_ids:
            if fid in self.rows:
                yield from ((fid, row) for row in mine(self.rows[fid]))
            else:
                stored.append(fid)
        if stored and self.model is not None:
            yield from getattr(self.model, method)(stored)

    def calls_in(self, file_ids):
        return self._query("calls_in", file_ids,
                           lambda r: (c for c in r["calls"] if c.kind == "direct"))

    def type_uses_in(self, file_ids):
        return self._query("type_uses_in", file_ids, lambda r: r["type_uses"])

    def var_uses_in(self, file_ids):
        return self._query("var_uses_in", file_ids, lambda r: r["var_uses"])

    def variables_in(self, file_ids):
        return self._query("variables_in", file_ids, lambda r: r["variables"])

    def local_prototypes(self, file_ids):
        return self._query("local_prototypes", file_ids,
                           lambda r: (f for f in r["functions"] if f.parent is not None))

    def definitions_in(self, file_ids):
        return self._query("definitions_in", file_ids, _definitions)

    def invocations_in(self, file_ids):
        return self._query("invocations_in", file_ids, lambda r: r["invocations"])


def _definitions(rows: FactRows) -> Iterator[Definition]:
    for f in rows["functions"]:
        if f.parent is None:
            yield Definition("func", f.name, f.name_line, f.name_col, f.name_end_col)
    for t in rows["types"]:
        if t.is_definition:
            yield Definition(t.kind, t.name, t.name_line, t.name_col, t.name_end_col)
