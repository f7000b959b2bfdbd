"""The ``BPF_*`` instruction macros of ``linux/filter.h`` as functions from evaluated arguments to
slots, with C's truncation of ``struct bpf_insn`` fields (``u8 code``, 4-bit registers,
``s16 off``, ``s32 imm``).

Covers every instruction macro of ``tools/include/linux/filter.h`` (6.1), the kernel-only
``BPF_ZEXT_REG``/``BPF_ST_NOSPEC``, and the later v4 helpers (``BPF_MOVSX*_REG``,
``BPF_LDX_MEMSX``, ``BPF_*_OFF``, ``BPF_JMP32_A``, ``BPF_BSWAP``). ``MACROS[name]`` is
``(arity, builder)``.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.insn import Insn
from kernel_lsp.ebpf.load.cconst import wrap

LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
MOV, END, ADD = 0xB0, 0xD0, 0x00


def slot(code: int, dst: int, src: int, off: int, imm: int) -> Insn:
    """A slot with C's field truncation applied."""
    return Insn(code & 0xFF, dst & 0xF, src & 0xF, wrap(off, 16, True), wrap(imm, 32, True))


def _op(x: int) -> int:
    return x & 0xF0


def _size(x: int) -> int:
    return x & 0x18


def _src(x: int) -> int:
    return x & 0x08


def _ld_imm64_full(dst, src, off1, off2, imm1, imm2) -> list[Insn]:
    return [slot(isa.LDDW_OPCODE, dst, src, off1, imm1), slot(0, 0, 0, off2, imm2)]


def _ld_imm64_raw(dst, src, imm) -> list[Insn]:
    imm = wrap(imm, 64, False)
    return _ld_imm64_full(dst, src, 0, 0, imm & 0xFFFFFFFF, imm >> 32)


MACROS = {
    "BPF_ALU64_REG": (3, lambda op, d, s: [slot(ALU64 | _op(op) | isa.X, d, s, 0, 0)]),
    "BPF_ALU32_REG": (3, lambda op, d, s: [slot(ALU | _op(op) | isa.X, d, s, 0, 0)]),
    "BPF_ALU64_IMM": (3, lambda op, d, i: [slot(ALU64 | _op(op) | isa.K, d, 0, 0, i)]),
    "BPF_ALU32_IMM": (3, lambda op, d, i: [slot(ALU | _op(op) | isa.K, d, 0, 0, i)]),
    "BPF_ALU64_REG_OFF": (4, lambda op, d, s, o: [slot(ALU64 | _op(op) | isa.X, d, s, o, 0)]),
    "BPF_ALU32_REG_OFF": (4, lambda op, d, s, o: [slot(ALU | _op(op) | isa.X, d, s, o, 0)]),
    "BPF_ALU64_IMM_OFF": (4, lambda op, d, i, o: [slot(ALU64 | _op(op) | isa.K, d, 0, o, i)]),
    "BPF_ALU32_IMM_OFF": (4, lambda op, d, i, o: [slot(ALU | _op(op) | isa.K, d, 0, o, i)]),
    "BPF_ENDIAN": (3, lambda t, d, n: [slot(ALU | END | _src(t), d, 0, 0, n)]),
    "BPF_BSWAP": (2, lambda d, n: [slot(ALU64 | END | isa.K, d, 0, 0, n)]),
    "BPF_MOV64_REG": (2, lambda d, s: [slot(ALU64 | MOV | isa.X, d, s, 0, 0)]),
    "BPF_MOV32_REG": (2, lambda d, s: [slot(ALU | MOV | isa.X, d, s, 0, 0)]),
    "BPF_MOV64_IMM": (2, lambda d, i: [slot(ALU64 | MOV | isa.K, d, 0, 0, i)]),
    "BPF_MOV32_IMM": (2, lambda d, i: [slot(ALU | MOV | isa.K, d, 0, 0, i)]),
    "BPF_MOVSX64_REG": (3, lambda d, s, o: [slot(ALU64 | MOV | isa.X, d, s, o, 0)]),
    "BPF_MOVSX32_REG": (3, lambda d, s, o: [slot(ALU | MOV | isa.X, d, s, o, 0)]),
    "BPF_ZEXT_REG": (1, lambda d: [slot(ALU | MOV | isa.X, d, d, 0, 1)]),
    "BPF_MOV64_RAW": (4, lambda t, d, s, i: [slot(ALU64 | MOV | _src(t), d, s, 0, i)]),
    "BPF_MOV32_RAW": (4, lambda t, d, s, i: [slot(ALU | MOV | _src(t), d, s, 0, i)]),
    "BPF_LD_ABS": (2, lambda sz, i: [slot(LD | _size(sz) | isa.MODE_ABS, 0, 0, 0, i)]),
    "BPF_LD_IND": (3, lambda sz, s, i: [slot(LD | _size(sz) | isa.MODE_IND, 0, s, 0, i)]),
    "BPF_LDX_MEM": (4, lambda sz, d, s, o: [slot(LDX | _size(sz) | isa.MODE_MEM, d, s, o, 0)]),
    "BPF_LDX_MEMSX": (4, lambda sz, d, s, o: [slot(LDX | _size(sz) | isa.MODE_MEMSX, d, s, o,
                                                    0)]),
    "BPF_STX_MEM": (4, lambda sz, d, s, o: [slot(STX | _size(sz) | isa.MODE_MEM, d, s, o, 0)]),
    "BPF_ST_MEM": (4, lambda sz, d, o, i: [slot(ST | _size(sz) | isa.MODE_MEM, d, 0, o, i)]),
    "BPF_ATOMIC_OP": (5, lambda sz, op, d, s, o: [slot(STX | _size(sz) | isa.MODE_ATOMIC, d, s,
                                                       o, op)]),
    "BPF_STX_XADD": (4, lambda sz, d, s, o: [slot(STX | _size(sz) | isa.MODE_ATOMIC, d, s, o,
                                                  ADD)]),
    "BPF_JMP_REG": (4, lambda op, d, s, o: [slot(JMP | _op(op) | isa.X, d, s, o, 0)]),
    "BPF_JMP32_REG": (4, lambda op, d, s, o: [slot(JMP32 | _op(op) | isa.X, d, s, o, 0)]),
    "BPF_JMP_IMM": (4, lambda op, d, i, o: [slot(JMP | _op(op) | isa.K, d, 0, o, i)]),
    "BPF_JMP32_IMM": (4, lambda op, d, i, o: [slot(JMP32 | _op(op) | isa.K, d, 0, o, i)]),
    "BPF_JMP_A": (1, lambda o: [slot(JMP | isa.JA, 0, 0, o, 0)]),
    "BPF_JMP32_A": (1, lambda i: [slot(JMP32 | isa.JA, 0, 0, 0, i)]),
    "BPF_EMIT_CALL": (1, lambda f: [slot(JMP | isa.CALL, 0, 0, 0, f)]),
    "BPF_CALL_REL": (1, lambda t: [slot(JMP | isa.CALL, 0, isa.CALL_PSEUDO, 0, t)]),
    "BPF_RAW_INSN": (5, lambda c, d, s, o, i: [slot(c, d, s, o, i)]),
    "BPF_LD_IMM64": (2, lambda d, i: _ld_imm64_raw(d, 0, i)),
    "BPF_LD_IMM64_RAW": (3, _ld_imm64_raw),
    "BPF_LD_IMM64_RAW_FULL": (6, _ld_imm64_full),
    "BPF_LD_MAP_FD": (2, lambda d, fd: _ld_imm64_full(d, 1, 0, 0, fd, 0)),
    "BPF_LD_MAP_VALUE": (3, lambda d, fd, o: _ld_imm64_full(d, 2, 0, 0, fd, o)),
    "BPF_EXIT_INSN": (0, lambda: [slot(JMP | isa.EXIT, 0, 0, 0, 0)]),
    "BPF_ST_NOSPEC": (0, lambda: [slot(ST | 0xC0, 0, 0, 0, 0)]),
}
