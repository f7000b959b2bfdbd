"""Structural verification (tiers T0–T1): a pipeline of pure phases over a ``Program``'s slots.

``verify(program, options) -> list[BpfFinding]`` runs, in the Linux 6.1 order:

1. ``size``      — empty program (``E000``), more slots than ``options.max_insns`` (``E002``);
2. ``subprogs``  — call destinations (``E106``), jump ranges (``E101``), last insn (``E103``);
   like the kernel's ``check_subprogs`` this needs only the raw slots, so it always runs;
3. ``encoding``  — per-slot T0 checks (``structural.check_encoding``);
4. ``cfg``       — back-edges (``E105``), unreachable slots (``E104``), jumps into lddw (``E102``);
5. ``calls``     — helper ids and their availability for the program type (``E108``/``E109``),
   call depth (``E107``).

Phases 4–5 need a trustworthy slot layout, so they run only when phase 3 found nothing fatal
(an unknown opcode or a broken lddw pair) and phase 2 no out-of-range jump or call.
There is no global state: options travel as a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf import helpers, isa
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.verify import cfg, structural

# kernel/bpf/syscall.c: BPF_COMPLEXITY_LIMIT_INSNS for CAP_BPF, BPF_MAXINSNS otherwise.
PRIVILEGED_MAX_INSNS = 1_000_000
UNPRIVILEGED_MAX_INSNS = 4096


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the loader would know: program type, loop policy, size limit."""

    prog_type: str = helpers.DEFAULT_PROG_TYPE
    bounded_loops: bool = False  # True: back-edges of jumps are left to a later dataflow tier
    max_insns: int = PRIVILEGED_MAX_INSNS
    isa_version: int = 4  # 3: reject the v4 additions as Linux 6.1 does


def check_size(insns: list[Insn], options: VerifyOptions) -> list[BpfFinding]:
    if not insns:
        return [finding_at("E000", None, "program has no instructions")]
    if len(insns) > options.max_insns:
        return [finding_at("E002", None,
                           f"BPF program is too large. {len(insns)} insns, "
                           f"limit {options.max_insns}")]
    return []


def check_helper_calls(insns: list[Insn], prog_type: str) -> list[BpfFinding]:
    """Helper ids in range (``E108``) and available for ``prog_type`` (``E109``)."""
    found = []
    for i in isa.slot_starts(insns):
        insn = insns[i]
        if not isa.is_helper_call(insn):
            continue
        fid, name = insn.imm, helpers.helper_name(insn.imm)
        if not 0 <= fid < helpers.MAX_HELPER_ID:
            found.append(finding_at("E108", i, f"invalid func {name}#{fid}"))
        elif helpers.helper_allowed(prog_type, fid) is False:
            found.append(finding_at("E109", i, f"unknown func {name}#{fid}"))
    return found


def verify(program: Program, options: VerifyOptions | None = None) -> list[BpfFinding]:
    """All structural findings for ``program``, sorted by instruction index."""
    options = options or VerifyOptions()
    insns = program.insns
    found = check_size(insns, options)
    if found:
        return found
    subs, call_found = cfg.find_subprogs(insns)
    layout = call_found + cfg.check_subprogs(insns, subs)
    encoding = structural.check_encoding(insns, options.isa_version)
    found = layout + encoding
    if any(f.code in structural.FATAL_CODES for f in encoding):
        return _sorted(found)
    if not any(f.code in ("E101", "E106") for f in layout):
        state, loops = cfg.depth_first(insns, options.bounded_loops)
        found += loops + cfg.check_reachability(insns, state)
        if not loops:
            found += cfg.check_call_depth(insns, subs)
    found += check_helper_calls(insns, options.prog_type)
    return _sorted(found)


def accepted(findings: list[BpfFinding]) -> bool:
    """A program is accepted when no finding is an error."""
    return not any(f.is_error for f in findings)


def _sorted(found: list[BpfFinding]) -> list[BpfFinding]:
    return sorted(found, key=lambda f: (-1 if f.insn is None else f.insn, f.code))
