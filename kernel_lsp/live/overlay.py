"""A Model stand-in whose per-file queries answer from in-memory rows for files open in an editor.

Editor buffers are not written to the database: their facts (``fact_rows`` shape) shadow the
stored ones for the queries the checks make per file; everything else goes to the real Model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kernel_lsp.model.store import Model


class OverlayModel:
    """Per-file check queries over ``rows`` of overlaid files, the Model for the rest."""

    def __init__(self, model: Model | None, rows: dict[int, dict[str, list[tuple]]]):
        self.model, self.rows = model, rows

    def __getattr__(self, name: str):
        if self.model is None:
            raise AttributeError(name)
        return getattr(self.model, name)

    def _split(self, file_ids: Iterable[int]) -> tuple[list[int], list[int]]:
        ids = list(file_ids)
        return [f for f in ids if f in self.rows], [f for f in ids if f not in self.rows]

    def _query(self, method: str, file_ids: Iterable[int], convert) -> Iterator[tuple]:
        mine, stored = self._split(file_ids)
        for fid in mine:
            yield from convert(fid, self.rows[fid])
        if stored and self.model is not None:
            yield from getattr(self.model, method)(stored)

    def local_prototypes(self, file_ids):
        return self._query("local_prototypes", file_ids, lambda fid, r: (
            (fid, f[17], f[0], f[8]) for f in r["functions"] if f[17] is not None))

    def calls_in(self, file_ids):
        return self._query("calls_in", file_ids, lambda fid, r: (
            (fid, c[0], c[1], *c[3:]) for c in r["calls"] if c[2] == "direct"))

    def type_uses_in(self, file_ids):
        return self._query("type_uses_in", file_ids, lambda fid, r: (
            (fid, *u) for u in r["type_uses"]))

    def var_uses_in(self, file_ids):
        return self._query("var_uses_in", file_ids, lambda fid, r: (
            (fid, *u) for u in r["var_uses"]))

    def variables_in(self, file_ids):
        return self._query("variables_in", file_ids, lambda fid, r: (
            (fid, v[0], v[1], v[2], *v[5:9]) for v in r["variables"]))

    def definitions_in(self, file_ids):
        def convert(fid, r):
            for f in r["functions"]:
                if f[17] is None:
                    yield (fid, "func", f[0], f[14], f[15], f[16])
            for t in r["types"]:
                if t[2]:
                    yield (fid, t[1], t[0], t[11], t[12], t[13])
        return self._query("definitions_in", file_ids, convert)

    def invocations(self, file_ids):
        return self._query("invocations", file_ids, lambda fid, r: (
            (fid, *i) for i in r["invocations"]))
