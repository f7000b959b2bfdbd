"""Decode raw eBPF bytecode (8-byte little-endian slots) into a ``Program``, never raising.

``decode_raw(data, name)`` returns ``(program, findings)``. A trailing partial slot is dropped
and reported (``E001`` at the index it would have had); an empty input gives a program with no
slots (the validator reports ``E000``). Every ``lddw`` first slot whose next slot exists gets
``imm64`` filled in; whether the pair is well formed is the validator's business.
``slots_to_program`` does the same for slots that another front end already split.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn, Program

SLOT_SIZE = 8


def join_lddw(insns: list[Insn]) -> list[Insn]:
    """Return ``insns`` with ``imm64`` set on every lddw first slot that has a second slot.

    Slots are paired left to right like the kernel does: a lddw's second slot is never itself
    treated as the start of another pair.
    """
    out = list(insns)
    i = 0
    while i < len(out):
        insn = out[i]
        if isa.is_lddw(insn) and i + 1 < len(out):
            hi = out[i + 1].imm & 0xFFFFFFFF
            imm64 = (hi << 32) | (insn.imm & 0xFFFFFFFF)
            out[i] = Insn(insn.opcode, insn.dst, insn.src, insn.off, insn.imm, imm64)
            i += 2
            continue
        i += 1
    return out


def decode_slots(data: bytes) -> list[Insn]:
    """Split whole 8-byte slots of ``data`` into ``Insn`` (a partial tail is ignored)."""
    count = len(data) // SLOT_SIZE
    return join_lddw([Insn.decode_slot(data, i * SLOT_SIZE) for i in range(count)])


def decode_raw(data: bytes, name: str = "prog",
               section: str | None = None) -> tuple[Program, list[BpfFinding]]:
    """Decode raw bytecode; see the module docstring."""
    findings: list[BpfFinding] = []
    rest = len(data) % SLOT_SIZE
    if rest:
        index = len(data) // SLOT_SIZE
        findings.append(finding_at(
            "E001", index,
            f"program length {len(data)} is not a multiple of 8 "
            f"({rest} trailing bytes ignored)"))
    return Program(name=name, insns=decode_slots(data), section=section), findings


def encode_program(program: Program) -> bytes:
    """The raw bytes of ``program`` (the inverse of ``decode_raw`` for whole slots)."""
    return b"".join(insn.encode() for insn in program.insns)
