"""The eBPF instruction set as data: every legal encoding of RFC 9669 (incl. v4), one lookup API.

Each legal encoding is one ``OpInfo`` row. Most opcodes have one row; some opcodes are shared by
several operations told apart by one *discriminator* field (``OpInfo.key``): ``off`` for
``div``/``sdiv``, ``mod``/``smod`` and ``mov``/``movsx``; ``imm`` for atomics; ``src`` for
``call`` (helper / bpf-to-bpf / kfunc) and ``lddw`` (pseudo sources 0..6).

Public API (stable; used by decoder, validator, interpreter and printer):

``lookup(insn) -> OpInfo | None``
    The row describing ``insn`` (opcode and discriminator), or ``None`` if the opcode is unknown
    or no row's discriminator matches. Does not check reserved fields or registers.
``by_opcode(opcode) -> tuple[OpInfo, ...]``
    All rows for an opcode (empty if the opcode is not in the ISA). ``is_known_opcode(opcode)``.
``reserved_field_problem(insn) -> str | None``
    For an insn whose opcode is known: the Linux 6.1 verifier's message when a field holds a
    value its row does not allow (``BPF_ALU uses reserved fields``, ``BPF_ATOMIC uses invalid
    atomic opcode f0``, ...), else ``None``. Register *numbers* 11..15 in a register field are
    not reported here (the validator says ``R%d is invalid``); a non-zero reserved register is.
``TABLE``
    The tuple of all rows, in a stable order.
``LDDW_OPCODE``/``CALL_OPCODE``/``EXIT_OPCODE``, ``is_lddw``, ``is_helper_call``,
``is_local_call``, ``is_func_ref``, ``slot_starts(insns)``
    The opcodes every phase names, and the one definition of where instructions start.

``OpInfo`` fields: ``opcode``; ``mnemonic`` (ubpf-style name, shared only by the K and X
forms of one operation, e.g. ``add32``, ``sdiv``, ``ldxsh``, ``atomic_fetch_add``, ``lddw_map_fd``;
``BY_MNEMONIC`` maps it to its rows); ``op`` (the operation: ``add``, ``jeq``, ``le``, ...);
``cls`` (``ld ldx st stx alu jmp jmp32 alu64``); ``kind`` (see ``KINDS``); ``dst``/``src`` the use
of the register fields (``Use``); ``off``/``imm`` allowed values (``ANY`` or a frozenset; a
reserved field is ``ZERO``); ``width`` operand width in bits for ALU/JMP (32/64, else 0);
``size`` memory access size in bytes (0 if none); ``key`` the discriminator ``(field, values)``
or ``None``; ``version`` the ISA version that introduced it (1..4); ``group`` the RFC 9669
conformance group; ``reserved_msg`` the kernel message for a reserved-field violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from kernel_lsp.ebpf.insn import Insn

# Classes, sources, sizes and modes (RFC 9669 section 3/5).
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
CLASS_NAMES = ("ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64")
K, X = 0x00, 0x08
SIZES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}  # W H B DW -> bytes
SIZE_SUFFIX = {1: "b", 2: "h", 4: "w", 8: "dw"}
MODE_IMM, MODE_ABS, MODE_IND, MODE_MEM, MODE_MEMSX, MODE_ATOMIC = 0x00, 0x20, 0x40, 0x60, 0x80, 0xC0

ALU_OPS = {"add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50,
           "lsh": 0x60, "rsh": 0x70, "neg": 0x80, "mod": 0x90, "xor": 0xA0, "mov": 0xB0,
           "arsh": 0xC0, "end": 0xD0}
JMP_CONDS = {"jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60,
             "jsge": 0x70, "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0}
JA, CALL, EXIT = 0x00, 0x80, 0x90
# The kernel's own tail call (``BPF_JMP | BPF_TAIL_CALL``, include/linux/filter.h): what the
# verifier turns ``bpf_tail_call`` into; no program given to the verifier has it
TAIL_CALL_INTERNAL = 0xF0
FETCH = 0x01
ATOMIC_OPS = {"add": 0x00, "or": 0x40, "and": 0x50, "xor": 0xA0}
XCHG, CMPXCHG = 0xE0 | FETCH, 0xF0 | FETCH

# The opcodes every phase names: the 64-bit immediate load (two slots), call and exit.
LDDW_OPCODE = LD | MODE_IMM | 0x18  # 0x18
CALL_OPCODE = JMP | CALL | K  # 0x85
EXIT_OPCODE = JMP | EXIT | K  # 0x95
JA_OPCODE = JMP | JA | K  # 0x05
GOTOL_OPCODE = JMP32 | JA | K  # 0x06

# Pseudo sources of call (src field) and lddw (src field).
CALL_HELPER, CALL_PSEUDO, CALL_KFUNC = 0, 1, 2
LDDW_PSEUDO = {0: "imm64", 1: "map_fd", 2: "map_value", 3: "btf_id", 4: "func", 5: "map_idx",
               6: "map_idx_value"}

KINDS = ("alu", "mov", "movsx", "neg", "end", "bswap", "jcond", "ja", "call", "exit", "load",
         "loadsx", "store_imm", "store_reg", "atomic", "lddw", "ld_abs", "ld_ind")


class Use(Enum):
    """How an instruction uses a register field."""

    NONE = "none"  # reserved: must be 0
    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"

    @property
    def reads(self) -> bool:
        return self in (Use.READ, Use.READ_WRITE)

    @property
    def writes(self) -> bool:
        return self in (Use.WRITE, Use.READ_WRITE)


ANY = "any"
ZERO = frozenset({0})
Allowed = frozenset | str


@dataclass(frozen=True, slots=True)
class OpInfo:
    """One legal encoding of the ISA."""

    opcode: int
    mnemonic: str
    op: str
    cls: str
    kind: str
    dst: Use
    src: Use
    off: Allowed
    imm: Allowed
    width: int = 0
    size: int = 0
    key: tuple[str, frozenset] | None = None
    version: int = 1
    group: str = "base64"
    reserved_msg: str = ""

    def allows(self, field: str, value: int) -> bool:
        """Whether ``field`` (off/imm/src/dst) may hold ``value`` for this row (no reg range)."""
        if field in ("off", "imm"):
            allowed = getattr(self, field)
            return allowed == ANY or value in allowed
        use = getattr(self, field)
        if self.key and self.key[0] == field:
            return value in self.key[1]
        return use is not Use.NONE or value == 0

    @property
    def is_jump(self) -> bool:
        return self.kind in ("jcond", "ja")

    @property
    def is_64(self) -> bool:
        return self.width == 64


_ALU_MSG = {"alu": "BPF_ALU", "mov": "BPF_MOV", "movsx": "BPF_MOV", "neg": "BPF_NEG",
            "end": "BPF_END", "bswap": "BPF_END", "jcond": "BPF_JMP/JMP32", "ja": "BPF_JA",
            "call": "BPF_CALL", "exit": "BPF_EXIT", "load": "BPF_LDX", "loadsx": "BPF_LDX",
            "store_imm": "BPF_ST", "store_reg": "BPF_STX", "atomic": "BPF_STX",
            "lddw": "BPF_LD_IMM64", "ld_abs": "BPF_LD_[ABS|IND]", "ld_ind": "BPF_LD_[ABS|IND]"}


def _row(opcode, mnemonic, op, kind, dst, src, off, imm, **kw) -> OpInfo:
    return OpInfo(opcode, mnemonic, op, CLASS_NAMES[opcode & 7], kind, dst, src, off, imm,
                  reserved_msg=f"{_ALU_MSG[kind]} uses reserved fields", **kw)


def _alu_rows() -> list[OpInfo]:
    rows = []
    for cls, width, sfx, grp in ((ALU, 32, "32", "base32"), (ALU64, 64, "", "base64")):
        for name, code in ALU_OPS.items():
            if name in ("neg", "end", "mov"):
                continue
            mgrp = ("divmul" + str(width)) if name in ("mul", "div", "mod") else grp
            for srcbit, src in ((K, Use.NONE), (X, Use.READ)):
                opc = cls | code | srcbit
                imm = ANY if srcbit == K else ZERO
                if name in ("div", "mod"):
                    signed = "s" + name
                    rows.append(_row(opc, name + sfx, name, "alu", Use.READ_WRITE, src, ZERO,
                                     imm, width=width, key=("off", ZERO), group=mgrp))
                    rows.append(_row(opc, signed + sfx, signed, "alu", Use.READ_WRITE, src,
                                     frozenset({1}), imm, width=width,
                                     key=("off", frozenset({1})), version=4, group=mgrp))
                else:
                    rows.append(_row(opc, name + sfx, name, "alu", Use.READ_WRITE, src, ZERO,
                                     imm, width=width, group=mgrp))
        mov = cls | ALU_OPS["mov"]
        rows.append(_row(mov | K, "mov" + sfx, "mov", "mov", Use.WRITE, Use.NONE, ZERO, ANY,
                         width=width, group=grp))
        rows.append(_row(mov | X, "mov" + sfx, "mov", "mov", Use.WRITE, Use.READ, ZERO, ZERO,
                         width=width, key=("off", ZERO), group=grp))
        sx = frozenset({8, 16, 32}) if width == 64 else frozenset({8, 16})
        rows.append(_row(mov | X, "movsx" + sfx, "movsx", "movsx", Use.WRITE, Use.READ, sx,
                         ZERO, width=width, key=("off", sx), version=4, group=grp))
        rows.append(_row(cls | ALU_OPS["neg"], "neg" + sfx, "neg", "neg", Use.READ_WRITE,
                         Use.NONE, ZERO, ZERO, width=width, group=grp))
    end = ALU_OPS["end"]
    widths = frozenset({16, 32, 64})
    rows.append(_row(ALU | end | K, "le", "le", "end", Use.READ_WRITE, Use.NONE, ZERO, widths,
                     width=32, group="base32"))
    rows.append(_row(ALU | end | X, "be", "be", "end", Use.READ_WRITE, Use.NONE, ZERO, widths,
                     width=32, group="base32"))
    rows.append(_row(ALU64 | end | K, "bswap", "bswap", "bswap", Use.READ_WRITE, Use.NONE,
                     ZERO, widths, width=64, version=4))
    return rows


def _jmp_rows() -> list[OpInfo]:
    rows = []
    for cls, width, sfx in ((JMP, 64, ""), (JMP32, 32, "32")):
        for name, code in JMP_CONDS.items():
            version = 3 if cls == JMP32 else (2 if name in ("jlt", "jle", "jslt", "jsle") else 1)
            grp = "base32" if cls == JMP32 else "base64"
            rows.append(_row(cls | code | K, name + sfx, name, "jcond", Use.READ, Use.NONE, ANY,
                             ANY, width=width, version=version, group=grp))
            rows.append(_row(cls | code | X, name + sfx, name, "jcond", Use.READ, Use.READ, ANY,
                             ZERO, width=width, version=version, group=grp))
    rows.append(_row(JMP | JA | K, "ja", "ja", "ja", Use.NONE, Use.NONE, ANY, ZERO, width=64,
                     group="base32"))
    rows.append(_row(JMP32 | JA | K, "gotol", "gotol", "ja", Use.NONE, Use.NONE, ZERO, ANY,
                     width=32, version=4, group="base32"))
    for src, mnem, off in ((CALL_HELPER, "call", ZERO), (CALL_PSEUDO, "call_local", ZERO),
                           (CALL_KFUNC, "call_kfunc", ANY)):
        rows.append(_row(JMP | CALL | K, mnem, "call", "call", Use.NONE, Use.NONE, off, ANY,
                         key=("src", frozenset({src})), group="base32"))
    rows.append(_row(JMP | EXIT | K, "exit", "exit", "exit", Use.NONE, Use.NONE, ZERO, ZERO,
                     group="base32"))
    return rows


def _mem_rows() -> list[OpInfo]:
    rows = []
    for szbits, size in SIZES.items():
        s = SIZE_SUFFIX[size]
        grp = "base64" if size == 8 else "base32"
        rows.append(_row(LDX | MODE_MEM | szbits, "ldx" + s, "ldx", "load", Use.WRITE, Use.READ,
                         ANY, ZERO, size=size, group=grp))
        if size != 8:
            rows.append(_row(LDX | MODE_MEMSX | szbits, "ldxs" + s, "ldxs", "loadsx", Use.WRITE,
                             Use.READ, ANY, ZERO, size=size, version=4))
            for mode, kind, src in ((MODE_ABS, "ld_abs", Use.NONE),
                                    (MODE_IND, "ld_ind", Use.READ)):
                rows.append(_row(LD | mode | szbits, kind.replace("_", "") + s, kind, kind,
                                 Use.NONE, src, ZERO, ANY, size=size, group="packet"))
        rows.append(_row(ST | MODE_MEM | szbits, "st" + s, "st", "store_imm", Use.READ,
                         Use.NONE, ANY, ANY, size=size, group=grp))
        rows.append(_row(STX | MODE_MEM | szbits, "stx" + s, "stx", "store_reg", Use.READ,
                         Use.READ, ANY, ZERO, size=size, group=grp))
    for szbits, size, sfx in ((0x00, 4, "32"), (0x18, 8, "")):
        opc = STX | MODE_ATOMIC | szbits
        grp = "atomic32" if size == 4 else "atomic64"
        for name, code in ATOMIC_OPS.items():
            for fetch in (0, FETCH):
                op = ("fetch_" if fetch else "") + name
                version = 1 if (name == "add" and not fetch) else 3
                src = Use.READ_WRITE if fetch else Use.READ
                rows.append(_row(opc, f"atomic{sfx}_{op}", op, "atomic", Use.READ, src, ANY,
                                 frozenset({code | fetch}), size=size,
                                 key=("imm", frozenset({code | fetch})), version=version,
                                 group=grp))
        rows.append(_row(opc, f"atomic{sfx}_xchg", "xchg", "atomic", Use.READ, Use.READ_WRITE,
                         ANY, frozenset({XCHG}), size=size, key=("imm", frozenset({XCHG})),
                         version=3, group=grp))
        rows.append(_row(opc, f"atomic{sfx}_cmpxchg", "cmpxchg", "atomic", Use.READ, Use.READ,
                         ANY, frozenset({CMPXCHG}), size=size,
                         key=("imm", frozenset({CMPXCHG})), version=3, group=grp))
    for src, name in LDDW_PSEUDO.items():
        mnem = "lddw" if src == 0 else "lddw_" + name
        rows.append(_row(LD | MODE_IMM | 0x18, mnem, "lddw", "lddw", Use.WRITE, Use.NONE, ZERO,
                         ANY, size=8, key=("src", frozenset({src}))))
    return rows


TABLE: tuple[OpInfo, ...] = tuple(_alu_rows() + _jmp_rows() + _mem_rows())

_BY_OPCODE: dict[int, tuple[OpInfo, ...]] = {}
for _info in TABLE:
    _BY_OPCODE[_info.opcode] = _BY_OPCODE.get(_info.opcode, ()) + (_info,)
BY_MNEMONIC: dict[str, tuple[OpInfo, ...]] = {}
for _info in TABLE:
    BY_MNEMONIC[_info.mnemonic] = BY_MNEMONIC.get(_info.mnemonic, ()) + (_info,)


def is_known_opcode(opcode: int) -> bool:
    """Whether ``opcode`` is the opcode byte of at least one legal encoding."""
    return opcode in _BY_OPCODE


def by_opcode(opcode: int) -> tuple[OpInfo, ...]:
    """All rows sharing ``opcode`` (empty tuple if the opcode is not in the ISA)."""
    return _BY_OPCODE.get(opcode, ())


def lookup(insn: Insn) -> OpInfo | None:
    """The row that describes ``insn``, chosen by opcode and discriminator; ``None`` if none."""
    for info in _BY_OPCODE.get(insn.opcode, ()):
        if info.key is None or getattr(insn, info.key[0]) in info.key[1]:
            return info
    return None


def is_lddw(insn: Insn) -> bool:
    """The first slot of a 64-bit immediate load (the second slot follows it)."""
    return insn.opcode == LDDW_OPCODE


def is_helper_call(insn: Insn) -> bool:
    return insn.opcode == CALL_OPCODE and insn.src == CALL_HELPER


def is_local_call(insn: Insn) -> bool:
    """bpf-to-bpf call (``call`` with src 1)."""
    return insn.opcode == CALL_OPCODE and insn.src == CALL_PSEUDO


def is_func_ref(insn: Insn) -> bool:
    """``lddw`` of a function address (src 4, ``BPF_PSEUDO_FUNC``)."""
    return insn.opcode == LDDW_OPCODE and insn.src == 4


def slot_starts(insns: list[Insn]) -> Iterator[int]:
    """Indices of instruction starts: every slot except the second slot of a lddw pair."""
    i = 0
    while i < len(insns):
        yield i
        i += 2 if insns[i].opcode == LDDW_OPCODE and i + 1 < len(insns) else 1


def _field_ok(info: OpInfo, insn: Insn, field: str) -> bool:
    value = getattr(insn, field)
    if field in ("dst", "src") and getattr(info, field) is not Use.NONE:
        return True  # a register; its number is checked by the validator
    return info.allows(field, value)


def reserved_field_problem(insn: Insn) -> str | None:
    """Kernel-worded problem with a known opcode's fields, or ``None`` (see module docstring)."""
    rows = _BY_OPCODE.get(insn.opcode, ())
    if not rows:
        return None
    info = lookup(insn)
    if info is None:
        first = rows[0]
        if first.kind == "atomic":
            return f"BPF_ATOMIC uses invalid atomic opcode {insn.imm & 0xFFFFFFFF:02x}"
        if first.kind == "lddw":
            return "unrecognized bpf_ld_imm64 insn"
        return first.reserved_msg
    for field in ("dst", "src", "off", "imm"):
        if not _field_ok(info, insn, field):
            return info.reserved_msg
    return None
