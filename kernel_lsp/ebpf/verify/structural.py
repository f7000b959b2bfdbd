"""Tier T0: per-instruction encoding checks (opcode, reserved fields, registers, immediates).

Each slot yields at most one finding, the first problem in the Linux 6.1 verifier's order:
lddw pairing (``resolve_pseudo_ldimm64``), opcode legality, reserved fields, register numbers,
writes to R10, then the constant checks of ``check_alu_op`` (shift range, division by zero).
The second slot of a well-formed lddw is skipped; an orphan opcode-0 slot is ``unknown opcode 00``.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn

MAX_REG = 10  # R0..R10
FP = 10
# Codes after which the control-flow phases cannot trust the slot layout.
FATAL_CODES = frozenset({"E010", "E014"})


def _lddw_pair_problem(insns: list[Insn], i: int) -> BpfFinding | None:
    """Problems of the lddw pair starting at ``i`` (kernel: ``resolve_pseudo_ldimm64``)."""
    second = insns[i + 1] if i + 1 < len(insns) else None
    if second is None or (second.opcode, second.dst, second.src, second.off) != (0, 0, 0, 0):
        return finding_at("E014", i, "invalid bpf_ld_imm64 insn")
    first = insns[i]
    if first.src in (1, 5) and second.imm != 0:  # map fd / map index is 32 bits
        return finding_at("E015", i, "unrecognized bpf_ld_imm64 insn")
    return None


def _reserved(insn: Insn, i: int) -> BpfFinding | None:
    msg = isa.reserved_field_problem(insn)
    if msg is None:
        return None
    if msg.startswith("unrecognized"):
        return finding_at("E015", i, msg)
    if msg.startswith("BPF_ATOMIC uses invalid"):
        return finding_at("E018", i, msg)
    return finding_at("E011", i, msg)


def _registers(info: isa.OpInfo, insn: Insn, i: int) -> BpfFinding | None:
    for field in ("src", "dst"):  # the kernel checks the source operand first
        use = getattr(info, field)
        reg = getattr(insn, field)
        if use is isa.Use.NONE:
            continue
        if reg > MAX_REG:
            return finding_at("E012", i, f"R{reg} is invalid")
        if use.writes and reg == FP:
            return finding_at("E013", i, "frame pointer is read only")
    return None


def _constants(info: isa.OpInfo, insn: Insn, i: int) -> BpfFinding | None:
    """Linux's constant checks (``div by zero``, ``invalid shift``): kernel policy, not ISA."""
    if info.kind != "alu" or info.src is not isa.Use.NONE:
        return None
    if info.op in ("div", "mod", "sdiv", "smod") and insn.imm == 0:
        return finding_at("E017", i, "div by zero")
    if info.op in ("lsh", "rsh", "arsh") and not 0 <= insn.imm < info.width:
        return finding_at("E016", i, f"invalid shift {insn.imm}")
    return None


def _newer_than(info: isa.OpInfo, insn: Insn, i: int, version: int) -> BpfFinding | None:
    """An encoding the ISA ``version`` lacks, worded as a loader of that version words it."""
    if info.version <= version:
        return None
    older = [r for r in isa.by_opcode(insn.opcode) if r.version <= version]
    if not older:
        return finding_at("E010", i, f"unknown opcode {insn.opcode:02x}")
    return finding_at("E011", i, older[0].reserved_msg)


def check_insn(insns: list[Insn], i: int, version: int = 4,
               kernel_constants: bool = True) -> BpfFinding | None:
    """The first encoding problem of slot ``i`` (a lddw is checked as a pair).

    ``version`` is the ISA version the loader implements: 4 for RFC 9669 with its v4 additions,
    3 for Linux 6.1, which rejects ``bswap``, ``sdiv``/``smod``, ``movsx``, sign-extending
    loads and ``gotol``.
    """
    insn = insns[i]
    if isa.is_lddw(insn):
        pair = _lddw_pair_problem(insns, i)
        if pair:
            return pair
    if not isa.is_known_opcode(insn.opcode):
        if insn.cls == isa.LDX:  # the kernel checks LDX modes before opcode legality
            return finding_at("E011", i, "BPF_LDX uses reserved fields")
        return finding_at("E010", i, f"unknown opcode {insn.opcode:02x}")
    problem = _reserved(insn, i)
    if problem:
        return problem
    info = isa.lookup(insn)
    return (_newer_than(info, insn, i, version) or _registers(info, insn, i)
            or (_constants(info, insn, i) if kernel_constants else None))


def check_encoding(insns: list[Insn], version: int = 4,
                   kernel_constants: bool = True) -> list[BpfFinding]:
    """Run ``check_insn`` over every instruction start.

    ``kernel_constants``: also apply Linux's constant checks (shift range, division by the
    constant 0), which RFC 9669 does not make encoding errors (v4 callers pass False and leave
    them to the dataflow tier, which reports them as Linux policy).
    """
    found = []
    for i in isa.slot_starts(insns):
        problem = check_insn(insns, i, version, kernel_constants)
        if problem:
            found.append(problem)
    return found
