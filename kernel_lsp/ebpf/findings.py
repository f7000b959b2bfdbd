"""The validator's finding record (an instruction index and a message), and its adapter to
``findings.Finding``. The E-codes live in the one code table, ``kernel_lsp.findings.codes``;
each is documented in ``docs/ebpf-codes.md`` and has a fixture under ``fixtures/ebpf/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf.insn import Program, SourceLoc
from kernel_lsp.findings import CODES, Finding, codes_of

BPF_CODES = codes_of("ebpf")


@dataclass(frozen=True, slots=True)
class BpfFinding:
    """One validator result: a code, the slot index it concerns (or None), and the message.

    ``loc`` overrides the slot's own source span (front-end errors point at their own line).
    """

    code: str
    insn: int | None
    message: str
    loc: SourceLoc | None = None

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def text(self) -> str:
        where = "" if self.insn is None else f" (at insn {self.insn})"
        return f"{self.message} [{self.code}]{where}"


def finding_at(code: str, insn: int | None, message: str,
               loc: SourceLoc | None = None) -> BpfFinding:
    """Build a finding, checking that ``code`` is in the table."""
    if code not in BPF_CODES:
        raise KeyError(code)
    return BpfFinding(code, insn, message, loc)


def to_finding(f: BpfFinding, program: Program, path: str) -> Finding:
    """Adapt to ``findings.Finding``: span from the slot's ``SourceLoc`` when known, else line 0."""
    loc = f.loc
    if loc is None and f.insn is not None and 0 <= f.insn < len(program.locs):
        loc = program.locs[f.insn]
    if loc is not None:
        return Finding(f.code, loc.path, loc.line, loc.col, loc.end_line, loc.end_col,
                       program.name, f.message, context={"insn": f.insn})
    return Finding(f.code, path, 0, 0, 0, 0, program.name, f.message, context={"insn": f.insn})
