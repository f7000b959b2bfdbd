"""The ISA table: every row is reachable by lookup, reserved fields and unknown opcodes."""

from __future__ import annotations

import pytest

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.insn import Insn


def _canonical(info: isa.OpInfo) -> Insn:
    """A minimal legal insn for ``info``: registers 1/2, allowed off/imm, discriminator set."""
    fields = {"dst": 1 if info.dst is not isa.Use.NONE else 0,
              "src": 2 if info.src is not isa.Use.NONE else 0,
              "off": 0 if info.off == isa.ANY else min(info.off),
              "imm": 0 if info.imm == isa.ANY else min(info.imm)}
    if info.key:
        fields[info.key[0]] = min(info.key[1])
    return Insn(info.opcode, fields["dst"], fields["src"], fields["off"], fields["imm"])


@pytest.mark.parametrize("info", isa.TABLE, ids=lambda i: f"{i.mnemonic}-{i.opcode:02x}")
def test_every_row_is_found_by_lookup_and_legal(info):
    insn = _canonical(info)
    assert isa.lookup(insn) is info
    assert isa.reserved_field_problem(insn) is None


def test_linux_61_opcodes_are_all_known():
    # BPF_INSN_MAP of Linux 6.1 plus LD_ABS/LD_IND and the memory/atomic/lddw forms.
    codes = set()
    for cls in (isa.ALU, isa.ALU64):
        for name, op in isa.ALU_OPS.items():
            if name not in ("neg", "end"):
                codes |= {cls | op | isa.K, cls | op | isa.X}
        codes.add(cls | isa.ALU_OPS["neg"])
    codes |= {0xD4, 0xDC, 0x85, 0x95, 0x05, 0x18, 0xC3, 0xDB}
    for cls in (isa.JMP, isa.JMP32):
        for op in isa.JMP_CONDS.values():
            codes |= {cls | op | isa.K, cls | op | isa.X}
    for sz in isa.SIZES:
        codes |= {isa.LDX | 0x60 | sz, isa.ST | 0x60 | sz, isa.STX | 0x60 | sz}
        if sz != 0x18:
            codes |= {0x20 | sz, 0x40 | sz}
    unknown = sorted(hex(c) for c in codes if not isa.is_known_opcode(c))
    assert unknown == []
    v4_only = {c for c in range(256) if isa.is_known_opcode(c)} - codes
    assert sorted(v4_only) == [0x06, 0x81, 0x89, 0x91, 0xD7]


@pytest.mark.parametrize("opcode", [0x00, 0x8D, 0x0D, 0xDF, 0x99, 0x38, 0x0E, 0x86, 0x96,
                                    0x8C, 0x10, 0xFF, 0xE7, 0xC2])
def test_unknown_opcodes(opcode):
    assert not isa.is_known_opcode(opcode)
    assert isa.lookup(Insn(opcode, 0, 0, 0, 0)) is None
    assert isa.reserved_field_problem(Insn(opcode, 0, 0, 0, 0)) is None


@pytest.mark.parametrize(("insn", "msg"), [
    (Insn(0xB7, 1, 2, 0, 5), "BPF_MOV uses reserved fields"),       # mov K with src
    (Insn(0xBF, 1, 2, 0, 7), "BPF_MOV uses reserved fields"),       # mov X with imm
    (Insn(0xBF, 1, 2, 4, 0), "BPF_MOV uses reserved fields"),       # movsx off 4
    (Insn(0xBC, 1, 2, 32, 0), "BPF_MOV uses reserved fields"),      # movsx32 off 32
    (Insn(0x07, 1, 0, 1, 5), "BPF_ALU uses reserved fields"),       # add off
    (Insn(0x37, 1, 0, 2, 5), "BPF_ALU uses reserved fields"),       # div off 2
    (Insn(0x87, 1, 0, 0, 1), "BPF_NEG uses reserved fields"),
    (Insn(0xD4, 1, 0, 0, 8), "BPF_END uses reserved fields"),
    (Insn(0x15, 1, 3, 0, 0), "BPF_JMP/JMP32 uses reserved fields"),
    (Insn(0x1D, 1, 3, 0, 9), "BPF_JMP/JMP32 uses reserved fields"),
    (Insn(0x05, 0, 0, 1, 1), "BPF_JA uses reserved fields"),
    (Insn(0x06, 0, 0, 1, 1), "BPF_JA uses reserved fields"),
    (Insn(0x85, 1, 0, 0, 1), "BPF_CALL uses reserved fields"),
    (Insn(0x85, 0, 3, 0, 1), "BPF_CALL uses reserved fields"),
    (Insn(0x85, 0, 0, 4, 1), "BPF_CALL uses reserved fields"),
    (Insn(0x95, 0, 0, 0, 1), "BPF_EXIT uses reserved fields"),
    (Insn(0x61, 1, 2, 0, 1), "BPF_LDX uses reserved fields"),
    (Insn(0x62, 1, 2, 0, 1), "BPF_ST uses reserved fields"),
    (Insn(0x63, 1, 2, 0, 1), "BPF_STX uses reserved fields"),
    (Insn(0xDB, 1, 2, 0, 0x02), "BPF_ATOMIC uses invalid atomic opcode 02"),
    (Insn(0xC3, 1, 2, 0, -1), "BPF_ATOMIC uses invalid atomic opcode ffffffff"),
    (Insn(0x18, 1, 0, 1, 0), "BPF_LD_IMM64 uses reserved fields"),
    (Insn(0x18, 1, 7, 0, 0), "unrecognized bpf_ld_imm64 insn"),
    (Insn(0x20, 1, 0, 0, 0), "BPF_LD_[ABS|IND] uses reserved fields"),
    (Insn(0x20, 0, 1, 0, 0), "BPF_LD_[ABS|IND] uses reserved fields"),
])
def test_reserved_fields(insn, msg):
    assert isa.reserved_field_problem(insn) == msg


def test_discriminators_pick_the_right_row():
    assert isa.lookup(Insn(0x3F, 1, 2, 1, 0)).op == "sdiv"
    assert isa.lookup(Insn(0x97, 1, 0, 0, 3)).op == "mod"
    assert isa.lookup(Insn(0x85, 0, 1, 0, 3)).mnemonic == "call_local"
    assert isa.lookup(Insn(0x85, 0, 2, 7, 3)).mnemonic == "call_kfunc"
    assert isa.lookup(Insn(0xDB, 1, 2, 0, 0xE1)).op == "xchg"
    assert isa.lookup(Insn(0xC3, 1, 2, 0, 0x41)).mnemonic == "atomic32_fetch_or"
    assert isa.lookup(Insn(0x18, 1, 6, 0, 0)).mnemonic == "lddw_map_idx_value"
    assert isa.lookup(Insn(0x91, 1, 2, 0, 0)).mnemonic == "ldxsb"
