"""Loads and stores through a register: ``check_mem_access`` for every pointer type.

``mem_access(env, st, regno, off, size, write, value_regno, ...)`` checks that ``size`` bytes at
``R<regno> + off`` may be read or written on this path (alignment, type, bounds, permissions,
pointer leaks) and, for a load, sets the destination register's abstract value. Memory regions
with a size (map values and keys, ``mem``, packets) go through :func:`region_access`, which checks
the variable part of the offset at both ends of its range, with the kernel's messages.
"""

from __future__ import annotations

from kernel_lsp.ebpf.verify.dataflow import bounds, ctxaccess, stack
from kernel_lsp.ebpf.verify.dataflow.env import MAX_VAR_OFF, Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    CONST_PTR_TO_MAP,
    MAYBE_NULL,
    PTR_TO_BTF_ID,
    PTR_TO_BUF,
    PTR_TO_CTX,
    PTR_TO_FLOW_KEYS,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_MEM,
    PTR_TO_PACKET,
    PTR_TO_PACKET_END,
    PTR_TO_PACKET_META,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_STACK,
    PTR_TO_TCP_SOCK,
    PTR_TO_TP_BUFFER,
    PTR_TO_XDP_SOCK,
    RDONLY,
    S64_MIN,
    SCALAR,
    SOCK_TYPES,
    Reg,
    const,
    pointer,
    pointer_value,
    type_str,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.state import VState
from kernel_lsp.ebpf.verify.dataflow.tnum import add as tnum_add
from kernel_lsp.ebpf.verify.dataflow.tnum import const as tnum_const

BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG = 0x80, 0x100
_RDONLY_PROG_KINDS = ("devmap", "devmap_hash")  # BPF_F_RDONLY_PROG set by the kernel
FLOW_KEYS_SIZE = 56  # sizeof(struct bpf_flow_keys)
_DESC = {PTR_TO_FLOW_KEYS: "flow keys ", PTR_TO_MAP_KEY: "key ", PTR_TO_MAP_VALUE: "value ",
         PTR_TO_CTX: "context ", PTR_TO_STACK: "stack ", PTR_TO_SOCKET: "sock ",
         PTR_TO_SOCK_COMMON: "sock_common ", PTR_TO_TCP_SOCK: "tcp_sock ",
         PTR_TO_XDP_SOCK: "xdp_sock "}
_READ_ONLY_PKT = {"lwt_in", "lwt_out", "lwt_seg6local", "sk_reuseport", "flow_dissector",
                  "cgroup_skb"}
_RW_PKT = {"sched_cls", "sched_act", "xdp", "lwt_xmit", "sk_skb", "sk_msg"}


def may_access_pkt(env: Env, write: bool, helper_pkt_access: bool | None = None) -> bool:
    """``may_access_direct_pkt_data``; ``helper_pkt_access`` is the helper's ``pkt_access``."""
    t = env.prog_type
    if t in _READ_ONLY_PKT and write:
        return False
    if t in _READ_ONLY_PKT or t in _RW_PKT:
        return bool(helper_pkt_access) if helper_pkt_access is not None else True
    return t == "cgroup_sockopt"


def check_alignment(env: Env, reg: Reg, off: int, size: int, strict_once: bool) -> None:
    strict = env.options.strict_alignment or strict_once
    if reg.type in (PTR_TO_PACKET, PTR_TO_PACKET_META):
        if not strict or size == 1:
            return
        if not tnum_add(reg.var, tnum_const(2 + reg.off + off)).is_aligned(size):
            raise reject("E205", f"misaligned packet access off 2+{reg.var.text()}+{reg.off}+"
                                 f"{off} size {size}")
        return
    desc = _DESC.get(reg.type, "")
    if reg.type == PTR_TO_STACK:
        strict = True
    if not strict or size == 1:
        return
    if not tnum_add(reg.var, tnum_const(reg.off + off)).is_aligned(size):
        raise reject("E205", f"misaligned {desc}access off {reg.var.text()}+{reg.off}+{off} "
                             f"size {size}")


def _region_error(reg: Reg, regno: int, off: int, size: int, mem_size: int) -> str:
    b = reg.base
    if b == PTR_TO_MAP_KEY:
        return f"invalid access to map key, key_size={mem_size} off={off} size={size}"
    if b == PTR_TO_MAP_VALUE:
        return f"invalid access to map value, value_size={mem_size} off={off} size={size}"
    if b in (PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_PACKET_END):
        return (f"invalid access to packet, off={off} size={size}, R{regno}(id={reg.id},"
                f"off={off},r={mem_size})")
    return f"invalid access to memory, mem_size={mem_size} off={off} size={size}"


def _in_region(off: int, size: int, mem_size: int, zero_ok: bool) -> bool:
    return off >= 0 and (size > 0 or (size == 0 and zero_ok)) and off + size <= mem_size


def region_access(reg: Reg, regno: int, off: int, size: int, mem_size: int,
                  zero_ok: bool) -> None:
    """``check_mem_region_access``."""
    smin = reg.smin
    if smin < 0 and (smin == S64_MIN or not -(1 << 31) <= off + smin < 1 << 31 or smin + off < 0):
        raise reject("E403", f"R{regno} min value is negative, either use unsigned index or do "
                             "a if (index >=0) check.")
    if not _in_region(smin + off, size, mem_size, zero_ok):
        raise reject("E401", _region_error(reg, regno, smin + off, size, mem_size)
                     + f"; R{regno} min value is outside of the allowed memory range")
    if reg.umax >= MAX_VAR_OFF:
        raise reject("E403", f"R{regno} unbounded memory access, make sure to bounds check any "
                             "such access")
    if not _in_region(reg.umax + off, size, mem_size, zero_ok):
        raise reject("E401", _region_error(reg, regno, reg.umax + off, size, mem_size)
                     + f"; R{regno} max value is outside of the allowed memory range")


def map_access(reg: Reg, regno: int, off: int, size: int, zero_ok: bool) -> None:
    """``check_map_access``: value bounds plus the BTF-described fields no load may touch."""
    m = reg.map
    region_access(reg, regno, off, size, m.value_size, zero_ok)
    lo, hi = reg.smin + off, reg.umax + off + size
    if m.spin_lock_off >= 0 and lo < m.spin_lock_off + 4 and m.spin_lock_off < hi:
        raise reject("E314", "bpf_spin_lock cannot be accessed directly by load/store")
    if m.timer_off >= 0 and lo < m.timer_off + 16 and m.timer_off < hi:
        raise reject("E314", "bpf_timer cannot be accessed directly by load/store")
    if any(lo < k + 8 and k < hi for k in m.kptr_offs):
        raise reject("E299", f"R{regno} access to a kptr field of map '{m.name}': kptrs are "
                             "BTF pointers, which kernel-lsp does not model")


def map_access_type(reg: Reg, off: int, size: int, write: bool) -> None:
    """``check_map_access_type``: BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG maps. The kernel creates
    every devmap with BPF_F_RDONLY_PROG (``dev_map_init_map``: a lookup points straight into
    its entry), whatever flags the loader passed."""
    m = reg.map
    if write and (m.flags & BPF_F_RDONLY_PROG or m.kind in _RDONLY_PROG_KINDS):
        raise reject("E308", f"write into map forbidden, value_size={m.value_size} off={off} "
                             f"size={size}")
    if not write and m.flags & BPF_F_WRONLY_PROG:
        raise reject("E308", f"read from map forbidden, value_size={m.value_size} off={off} "
                             f"size={size}")


def packet_access(reg: Reg, regno: int, off: int, size: int, zero_ok: bool) -> None:
    """``check_packet_access``: ``off`` must be within the range proven against data_end."""
    if reg.smin < 0:
        raise reject("E403", f"R{regno} min value is negative, either use unsigned index or do "
                             "a if (index >=0) check.")
    if reg.range < 0 or not _in_region(off, size, reg.range, zero_ok):
        raise reject("E402", _region_error(reg, regno, off, size, reg.range)
                     + f"; R{regno} offset is outside of the packet")


def ptr_off_check(reg: Reg, regno: int, fixed_off_ok: bool = False) -> None:
    """``__check_ptr_off_reg``: only the unmodified pointer may be dereferenced."""
    if reg.off < 0:
        raise reject("E305", f"negative offset {type_str(reg.type)} ptr R{regno} off={reg.off} "
                             "disallowed")
    if not fixed_off_ok and reg.off:
        raise reject("E305", f"dereference of modified {type_str(reg.type)} ptr R{regno} "
                             f"off={reg.off} disallowed")
    if not reg.var.is_const or reg.var.value:
        raise reject("E305", f"variable {type_str(reg.type)} access var_off={reg.var.text()} "
                             "disallowed")


def _leak(env: Env, st: VState, write: bool, value_regno: int, where: str) -> None:
    if write and value_regno >= 0 and pointer_value(st.regs[value_regno], env.allow_ptr_leaks):
        raise reject("E306", f"R{value_regno} leaks addr into {where}")


def mem_access(env: Env, st: VState, regno: int, off: int, size: int, write: bool,
               value_regno: int, strict_once: bool = False, imm: int | None = None) -> None:
    """``check_mem_access`` (``value_regno`` -1: no register; ``imm``: a BPF_ST value)."""
    reg = st.regs[regno]
    check_alignment(env, reg, off, size, strict_once)
    off += reg.off
    loaded: Reg | None = None
    t = reg.type
    if t == PTR_TO_MAP_KEY:
        if write:
            raise reject("E308", f"write to change key R{regno} not allowed")
        region_access(reg, regno, off, size, reg.map.key_size, False)
        loaded = unknown()
    elif t == PTR_TO_MAP_VALUE:
        _leak(env, st, write, value_regno, "map")
        map_access_type(reg, off, size, write)
        map_access(reg, regno, off, size, False)
        if not write:
            loaded = _map_read(reg, off, size)
    elif reg.base == PTR_TO_MEM:
        if t & MAYBE_NULL:
            raise reject("E301", f"R{regno} invalid mem access '{type_str(t)}'")
        if write and t & RDONLY:
            raise reject("E308", f"R{regno} cannot write into {type_str(t)}")
        _leak(env, st, write, value_regno, "mem")
        region_access(reg, regno, off, size, reg.mem_size, False)
        loaded = unknown()
    elif t == PTR_TO_CTX:
        _leak(env, st, write, value_regno, "ctx")
        ptr_off_check(reg, regno)
        loaded = ctxaccess.check(env, off, size, write)
        if loaded is not None and loaded.maybe_null:
            loaded.id = env.new_id()
    elif t == PTR_TO_STACK:
        stack.within_bounds(env, st, regno, off, size, False, write)
        if write:
            value = st.regs[value_regno] if value_regno >= 0 else None
            stack.write(env, st, regno, off, size, value, imm, env.insn_idx)
        else:
            loaded = stack.read(env, st, regno, off, size, value_regno >= 0)
    elif t in (PTR_TO_PACKET, PTR_TO_PACKET_META):
        if write and not may_access_pkt(env, True):
            raise reject("E308", "cannot write into packet")
        _leak(env, st, write, value_regno, "packet")
        packet_access(reg, regno, off, size, False)
        loaded = unknown()
    elif t == PTR_TO_FLOW_KEYS:
        _leak(env, st, write, value_regno, "flow keys")
        if size < 0 or off < 0 or off + size > FLOW_KEYS_SIZE:
            raise reject("E401", f"invalid access to flow keys off={off} size={size}")
        loaded = unknown()
    elif t in SOCK_TYPES:
        if write:
            raise reject("E308", f"R{regno} cannot write into {type_str(t)}")
        ctxaccess.check_sock(reg, regno, off, size)
        loaded = unknown()
    elif t == PTR_TO_TP_BUFFER:
        _buffer_access(reg, regno, off, size, "tracepoint")
        loaded = unknown()
    elif reg.base == PTR_TO_BUF and not t & MAYBE_NULL:
        if t & RDONLY and write:
            raise reject("E308", f"R{regno} cannot write into {type_str(t)}")
        _buffer_access(reg, regno, off, size, "rdonly" if t & RDONLY else "rdwr")
        loaded = unknown()
    elif reg.base == PTR_TO_BTF_ID and not t & MAYBE_NULL:
        raise reject("E299", f"R{regno} access through {type_str(t)}{reg.btf_name} needs the "
                             "kernel's BTF, which kernel-lsp does not model")
    elif t == CONST_PTR_TO_MAP:
        if not env.priv and reg.map.kind == "array":
            raise reject("E308", "bpf_array access is allowed only to CAP_PERFMON and "
                                 "CAP_SYS_ADMIN")
        raise reject("E299", f"R{regno} access to the fields of a map object needs the "
                             "kernel's BTF (struct bpf_map), which kernel-lsp does not model")
    else:
        raise reject("E301", f"R{regno} invalid mem access '{type_str(t)}'")
    if write or value_regno < 0 or loaded is None:
        return
    if size < 8 and loaded.type == SCALAR:
        bounds.coerce_to_size(loaded, size)
    st.regs[value_regno] = loaded


def _buffer_access(reg: Reg, regno: int, off: int, size: int, info: str) -> None:
    if off < 0:
        raise reject("E401", f"R{regno} invalid {info} buffer access: off={off}, size={size}")
    if not reg.var.is_const or reg.var.value:
        raise reject("E305", f"R{regno} invalid variable buffer offset: off={off}, "
                             f"var_off={reg.var.text()}")


def _map_read(reg: Reg, off: int, size: int) -> Reg:
    """A load from a map value: a constant when the map is frozen read-only (and the bytes are
    not a ``const volatile`` variable, which a loader may set before load), else unknown.

    Only a map of one element has known bytes (``init`` is element 0; Linux reads them through
    ``map_direct_value_addr``, which refuses an array of more elements)."""
    m = reg.map
    if reg.var.is_const and m.frozen and m.flags & BPF_F_RDONLY_PROG and m.max_entries == 1:
        at = off + reg.var.value
        if any(at < o + n and o < at + size for o, n in m.unknown_ranges):
            return unknown()  # a const volatile setting the loader may change before load
        data = m.init.ljust(m.value_size, b"\0")[at:at + size]
        return const(int.from_bytes(data, "little"))
    return unknown()


__all__ = ["map_access", "mem_access", "packet_access", "pointer", "region_access"]
