"""eBPF finding codes and the LSP-free finding record, with an adapter to ``checks.Finding``.

Codes are stable strings grouped by tier: ``E0xx`` encoding (T0), ``E1xx`` control flow (T1).
Reserved for later tiers: ``E2xx`` dataflow, ``E3xx`` types, ``E4xx`` ranges, ``E5xx``
termination. Every code is documented in ``docs/ebpf-codes.md`` (one section per code) and has
a fixture under ``fixtures/ebpf/`` (a meta-test keeps both true).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.checks.codes import register_severities
from kernel_lsp.checks.finding import Finding
from kernel_lsp.ebpf.insn import Program, SourceLoc

DOCS_URL = "https://kernel-lsp.invalid/docs/ebpf-codes.html"


@dataclass(frozen=True, slots=True)
class BpfCode:
    """One stable eBPF finding code; ``kernel`` is the Linux 6.1 message format, if any."""

    id: str
    severity: str  # "error" | "warning" | "note"
    title: str
    kernel: str | None

    @property
    def docs_url(self) -> str:
        return f"{DOCS_URL}#{self.id.lower()}"


_TABLE = (
    BpfCode("E000", "error", "empty program", None),
    BpfCode("E001", "error", "truncated instruction", None),
    BpfCode("E002", "error", "program too large", "BPF program is too large. Processed %d insn"),
    BpfCode("E003", "error", "input syntax error", None),
    BpfCode("E010", "error", "unknown opcode", "unknown opcode %02x"),
    BpfCode("E011", "error", "reserved field in use", "BPF_%s uses reserved fields"),
    BpfCode("E012", "error", "invalid register", "R%d is invalid"),
    BpfCode("E013", "error", "write to frame pointer", "frame pointer is read only"),
    BpfCode("E014", "error", "malformed lddw pair", "invalid bpf_ld_imm64 insn"),
    BpfCode("E015", "error", "unrecognized lddw pseudo source", "unrecognized bpf_ld_imm64 insn"),
    BpfCode("E016", "error", "invalid shift", "invalid shift %d"),
    BpfCode("E017", "error", "division by constant zero", "div by zero"),
    BpfCode("E018", "error", "invalid atomic operation",
            "BPF_ATOMIC uses invalid atomic opcode %02x"),
    BpfCode("E101", "error", "jump out of range", "jump out of range from insn %d to %d"),
    BpfCode("E102", "error", "jump into the middle of lddw",
            "jump into the middle of ldimm64 insn %d"),
    BpfCode("E103", "error", "fall-through at end", "last insn is not an exit or jmp"),
    BpfCode("E104", "error", "unreachable code", "unreachable insn %d"),
    BpfCode("E105", "error", "back-edge (loop)", "back-edge from insn %d to %d"),
    BpfCode("E106", "error", "invalid call destination", "call to invalid destination"),
    BpfCode("E107", "error", "call stack too deep", "the call stack of %d frames is too deep !"),
    BpfCode("E108", "error", "invalid helper id", "invalid func %s#%d"),
    BpfCode("E109", "error", "helper not available", "unknown func %s#%d"),
)

BPF_CODES: dict[str, BpfCode] = {c.id: c for c in _TABLE}
register_severities({c.id: c.severity for c in _TABLE})


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
        return BPF_CODES[self.code].severity

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
    """Adapt to ``checks.Finding``: span from the slot's ``SourceLoc`` when known, else line 0.

    Note: ``Finding.severity`` looks codes up in ``checks.codes``; use ``BPF_CODES`` for E-codes.
    """
    loc = f.loc
    if loc is None and f.insn is not None and 0 <= f.insn < len(program.locs):
        loc = program.locs[f.insn]
    if loc is not None:
        return Finding(f.code, loc.path, loc.line, loc.col, loc.end_line, loc.end_col,
                       program.name, f.message, context={"insn": f.insn})
    return Finding(f.code, path, 0, 0, 0, 0, program.name, f.message, context={"insn": f.insn})
