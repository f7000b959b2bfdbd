"""Problems of an input: ``LoadError`` (no program at all), and ``SourceError``s a text front end
(assembly, C arrays) found in its input, with their source span.

Front ends never raise on bad input: each problem becomes a :class:`SourceError` stored in
``Program.meta["errors"]`` (and returned by the front end), and the offending element yields no
slot. The validator's ``BpfFinding`` codes are per instruction; these are per source span.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf.insn import SourceLoc


class LoadError(Exception):
    """The input cannot be turned into programs (message for the user)."""


@dataclass(frozen=True, slots=True)
class SourceError:
    """One input problem: where (0-based) and what."""

    loc: SourceLoc
    message: str

    def text(self) -> str:
        """``path:line:col: message`` with 1-based line and column, as compilers print."""
        return f"{self.loc.path}:{self.loc.line + 1}:{self.loc.col + 1}: {self.message}"

    def to_json(self) -> dict:
        return {"path": self.loc.path, "line": self.loc.line, "col": self.loc.col,
                "end_line": self.loc.end_line, "end_col": self.loc.end_col,
                "message": self.message}
