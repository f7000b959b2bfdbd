"""Typed eBPF instructions and programs: what every decoder produces and every phase consumes.

A program is a list of 8-byte *slots* numbered like the kernel numbers instructions: a ``lddw``
occupies two slots; the first carries the whole 64-bit immediate in ``imm64`` and the second is
kept as its own ``Insn`` (opcode 0) so jump offsets and ``at insn N`` messages match the kernel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_SLOT = struct.Struct("<BBhi")


@dataclass(frozen=True, slots=True)
class Insn:
    opcode: int  # 8 bits
    dst: int  # 4 bits
    src: int  # 4 bits
    off: int  # signed 16 bits
    imm: int  # signed 32 bits
    imm64: int | None = None  # lddw first slot: (next.imm << 32) | (imm & 0xffffffff), unsigned

    @property
    def cls(self) -> int:
        return self.opcode & 0x07

    def encode(self) -> bytes:
        return _SLOT.pack(self.opcode, (self.src & 0xF) << 4 | (self.dst & 0xF), self.off, self.imm)

    @classmethod
    def decode_slot(cls, data: bytes, offset: int = 0) -> Insn:
        opcode, regs, off, imm = _SLOT.unpack_from(data, offset)
        return cls(opcode, regs & 0xF, regs >> 4, off, imm)


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where a slot came from in a text input (assembly line, or a BPF_* macro in C)."""

    path: str
    line: int  # 0-based
    col: int  # 0-based byte column
    end_line: int
    end_col: int


@dataclass(slots=True)
class Program:
    """One program: its slots plus what the input form knew about them."""

    name: str
    insns: list[Insn]
    section: str | None = None
    locs: list[SourceLoc | None] = field(default_factory=list)  # parallel to insns, may be empty
    # ELF: slot index -> (symbol name, kind) for map / call relocations
    relocations: dict[int, tuple[str, str]] = field(default_factory=dict)
    prog_type: str | None = None  # from the section name or the test case, if known
    meta: dict = field(default_factory=dict)  # form-specific extras (test-case fields, ...)
