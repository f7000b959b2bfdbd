"""The abstract value of one register: its type (scalar, pointer kinds) and its bounds.

A ``Reg`` mirrors the Linux verifier's ``bpf_reg_state``: ``type`` is the base type (``NOT_INIT``,
``SCALAR``, ``PTR_TO_CTX``...) with flag bits (``MAYBE_NULL``, ``RDONLY``...); ``off`` is the fixed
offset of a pointer; ``var`` (a tnum) and the eight signed/unsigned 32/64-bit bounds describe a
scalar, or the variable part of a pointer's offset. ``id`` links copies of one value (NULL checks,
packet ranges, equal scalars), ``ref_obj_id`` an acquired reference, ``range`` the proven packet
bytes, ``map`` the map of a map pointer or value, ``mem_size`` the size of a ``mem`` region.
Registers are mutable; a state copy copies every register (:meth:`Reg.copy`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf.verify.dataflow import tnum
from kernel_lsp.ebpf.verify.dataflow.tnum import M32, M64, Tnum

S64_MIN, S64_MAX = -(1 << 63), (1 << 63) - 1
S32_MIN, S32_MAX = -(1 << 31), (1 << 31) - 1

# Base types (bpf_reg_type) and the kernel's reg_type_str names.
NOT_INIT, SCALAR, PTR_TO_CTX, CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_KEY = range(6)
PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_PACKET_END, PTR_TO_FLOW_KEYS = range(6, 11)
PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK = range(11, 15)
PTR_TO_TP_BUFFER, PTR_TO_BTF_ID, PTR_TO_MEM, PTR_TO_BUF, PTR_TO_FUNC = range(15, 20)
BASE_MASK = 0xFF
MAYBE_NULL, RDONLY, ALLOC, PERCPU, UNTRUSTED = 0x100, 0x200, 0x400, 0x800, 0x1000

_NAMES = {NOT_INIT: "?", SCALAR: "scalar", PTR_TO_CTX: "ctx", CONST_PTR_TO_MAP: "map_ptr",
          PTR_TO_MAP_VALUE: "map_value", PTR_TO_MAP_KEY: "map_key", PTR_TO_STACK: "fp",
          PTR_TO_PACKET: "pkt", PTR_TO_PACKET_META: "pkt_meta", PTR_TO_PACKET_END: "pkt_end",
          PTR_TO_FLOW_KEYS: "flow_keys", PTR_TO_SOCKET: "sock", PTR_TO_SOCK_COMMON: "sock_common",
          PTR_TO_TCP_SOCK: "tcp_sock", PTR_TO_XDP_SOCK: "xdp_sock", PTR_TO_TP_BUFFER: "tp_buffer",
          PTR_TO_BTF_ID: "ptr_", PTR_TO_MEM: "mem", PTR_TO_BUF: "buf", PTR_TO_FUNC: "func"}
PKT_TYPES = (PTR_TO_PACKET, PTR_TO_PACKET_META)
SOCK_TYPES = (PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK)
AT_PKT_END, BEYOND_PKT_END = -1, -2


def base(t: int) -> int:
    return t & BASE_MASK


def type_str(t: int) -> str:
    """The kernel's ``reg_type_str``: ``map_value_or_null``, ``rdonly_mem``, ``ptr_or_null_``."""
    postfix = ""
    if t & MAYBE_NULL:
        postfix = "or_null_" if base(t) == PTR_TO_BTF_ID else "_or_null"
    prefix = ""
    for flag, text in ((RDONLY, "rdonly_"), (ALLOC, "alloc_"), (PERCPU, "percpu_"),
                       (UNTRUSTED, "untrusted_")):
        if t & flag:
            prefix = text
    return prefix + _NAMES[base(t)] + postfix


@dataclass(frozen=True, slots=True)
class MapInfo:
    """What the verifier knows of a map: its kind, sizes, flags and BTF-described fields."""

    name: str
    kind: str  # "hash", "array", "prog_array", "ringbuf", ... (BPF_MAP_TYPE_* lower-cased)
    key_size: int
    value_size: int
    max_entries: int = 1
    flags: int = 0
    spin_lock_off: int = -1  # offset of a struct bpf_spin_lock in the value, or -1
    timer_off: int = -1  # offset of a struct bpf_timer in the value, or -1
    inner: MapInfo | None = None  # inner map of a map-in-map
    frozen: bool = False  # BPF_F_RDONLY_PROG map frozen by the loader (contents constant)
    init: bytes = b""  # known contents of element 0 (only used when frozen)
    kptr_offs: tuple[int, ...] = ()  # offsets of kptr fields in the value (not modelled)
    unknown_ranges: tuple[tuple[int, int], ...] = ()  # frozen bytes whose values are unknown


class Reg:
    """One register's abstract value (see the module docstring)."""

    __slots__ = ("type", "off", "var", "smin", "smax", "umin", "umax", "s32min", "s32max",
                 "u32min", "u32max", "id", "ref_obj_id", "range", "map", "mem_size",
                 "frameno", "subprogno", "btf_name", "map_uid")

    def __init__(self, rtype: int = NOT_INIT):
        self.type = rtype
        self.off = 0
        self.var = tnum.UNKNOWN
        self.smin, self.smax, self.umin, self.umax = S64_MIN, S64_MAX, 0, M64
        self.s32min, self.s32max, self.u32min, self.u32max = S32_MIN, S32_MAX, 0, M32
        self.id = 0
        self.ref_obj_id = 0
        self.range = 0
        self.map: MapInfo | None = None
        self.mem_size = 0
        self.frameno = 0
        self.subprogno = 0
        self.btf_name = ""
        self.map_uid = 0

    def copy(self) -> Reg:
        r = Reg.__new__(Reg)
        r.type, r.off, r.var, r.smin, r.smax = self.type, self.off, self.var, self.smin, self.smax
        r.umin, r.umax, r.s32min, r.s32max = self.umin, self.umax, self.s32min, self.s32max
        r.u32min, r.u32max, r.id, r.ref_obj_id = self.u32min, self.u32max, self.id, self.ref_obj_id
        r.range, r.map, r.mem_size, r.frameno = self.range, self.map, self.mem_size, self.frameno
        r.subprogno, r.btf_name, r.map_uid = self.subprogno, self.btf_name, self.map_uid
        return r

    def key(self) -> tuple:
        """Every field but ``frameno``: the kernel's ``memcmp`` of two registers."""
        return (self.type, self.off, self.var, self.smin, self.smax, self.umin, self.umax,
                self.s32min, self.s32max, self.u32min, self.u32max, self.id, self.ref_obj_id,
                self.range, self.map, self.mem_size, self.subprogno, self.btf_name, self.map_uid)

    def same(self, o: Reg) -> bool:
        """``key() == o.key()``, failing fast on the fields that usually differ."""
        return (self.type == o.type and self.var == o.var and self.off == o.off
                and self.smin == o.smin and self.umax == o.umax and self.key() == o.key())

    def __eq__(self, other) -> bool:
        return isinstance(other, Reg) and self.key() == other.key()

    def __repr__(self) -> str:  # the verifier log's form is ``log.reg_text``
        return f"Reg(type={self.type:#x}, off={self.off}, var={self.var!r})"

    # ---- queries ------------------------------------------------------------------------------
    @property
    def base(self) -> int:
        return self.type & BASE_MASK

    @property
    def is_scalar(self) -> bool:
        return self.type == SCALAR

    @property
    def is_pointer(self) -> bool:
        return self.type not in (SCALAR, NOT_INIT)

    @property
    def maybe_null(self) -> bool:
        return bool(self.type & MAYBE_NULL)

    @property
    def is_pkt(self) -> bool:
        return self.type in PKT_TYPES

    @property
    def is_pkt_any(self) -> bool:
        return self.type in (PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_PACKET_END)

    @property
    def is_const(self) -> bool:
        return self.type == SCALAR and self.var.mask == 0

    @property
    def is_null(self) -> bool:
        """``register_is_null``: a scalar known to be 0."""
        return self.type == SCALAR and self.var == tnum.ZERO

    @property
    def is_unbounded(self) -> bool:
        return (self.var.is_unknown and self.smin == S64_MIN and self.smax == S64_MAX
                and self.umin == 0 and self.umax == M64 and self.s32min == S32_MIN
                and self.s32max == S32_MAX and self.u32min == 0 and self.u32max == M32)

    @property
    def type_name(self) -> str:
        return type_str(self.type)


_SPILLABLE = frozenset({PTR_TO_MAP_VALUE, PTR_TO_STACK, PTR_TO_CTX, PTR_TO_PACKET,
                        PTR_TO_PACKET_META, PTR_TO_PACKET_END, PTR_TO_FLOW_KEYS,
                        CONST_PTR_TO_MAP, PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK,
                        PTR_TO_XDP_SOCK, PTR_TO_BTF_ID, PTR_TO_BUF, PTR_TO_MEM, PTR_TO_FUNC,
                        PTR_TO_MAP_KEY})


def is_spillable(t: int) -> bool:
    return base(t) in _SPILLABLE


def pointer_value(r: Reg, allow_ptr_leaks: bool) -> bool:
    """``__is_pointer_value``: a non-scalar that an unprivileged program must not leak."""
    return not allow_ptr_leaks and r.type != SCALAR


def s64(v: int) -> int:
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def s32(v: int) -> int:
    v &= M32
    return v - (1 << 32) if v >> 31 else v


# ---- constructors (the kernel's __mark_reg_* helpers) -----------------------------------------
def set_known(r: Reg, imm: int) -> None:
    """``___mark_reg_known``: the variable part is the constant ``imm`` (id kept)."""
    imm &= M64
    r.var = Tnum(imm, 0)
    r.smin = r.smax = s64(imm)
    r.umin = r.umax = imm
    r.s32min = r.s32max = s32(imm)
    r.u32min = r.u32max = imm & M32


def mark_known(r: Reg, imm: int) -> None:
    """``__mark_reg_known``: clear id/off/range/map and set the constant."""
    r.id = r.ref_obj_id = r.off = r.range = r.mem_size = r.subprogno = r.map_uid = 0
    r.map = None
    r.btf_name = ""
    set_known(r, imm)


def set_unbounded(r: Reg) -> None:
    r.smin, r.smax, r.umin, r.umax = S64_MIN, S64_MAX, 0, M64
    r.s32min, r.s32max, r.u32min, r.u32max = S32_MIN, S32_MAX, 0, M32


def set_unbounded64(r: Reg) -> None:
    r.smin, r.smax, r.umin, r.umax = S64_MIN, S64_MAX, 0, M64


def set_unbounded32(r: Reg) -> None:
    r.s32min, r.s32max, r.u32min, r.u32max = S32_MIN, S32_MAX, 0, M32


def unknown() -> Reg:
    """A scalar about which nothing is known (``__mark_reg_unknown``)."""
    return Reg(SCALAR)


def not_init() -> Reg:
    return Reg(NOT_INIT)


def const(imm: int) -> Reg:
    r = Reg(SCALAR)
    set_known(r, imm)
    return r


def pointer(rtype: int, **fields) -> Reg:
    """A pointer with a known-zero variable offset (``mark_reg_known_zero`` + type)."""
    r = Reg(rtype)
    set_known(r, 0)
    for name, value in fields.items():
        setattr(r, name, value)
    return r
