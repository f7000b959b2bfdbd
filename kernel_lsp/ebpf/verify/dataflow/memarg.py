"""Memory a register points to, passed to a helper or a global function: ``size`` bytes checked
as Linux 6.1's ``check_helper_mem_access`` does, and a global function's ``check_mem_reg``."""

from __future__ import annotations

from types import SimpleNamespace

from kernel_lsp.ebpf.verify.dataflow import mem, stack
from kernel_lsp.ebpf.verify.dataflow.env import Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    MAYBE_NULL,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_MEM,
    PTR_TO_PACKET,
    PTR_TO_PACKET_META,
    PTR_TO_STACK,
    RDONLY,
    type_str,
)
from kernel_lsp.ebpf.verify.dataflow.state import VState


def helper_mem(env: Env, st: VState, regno: int, size: int, write: bool, zero_ok: bool,
               meta) -> None:
    """``check_helper_mem_access``: ``size`` bytes at R<regno> for a helper."""
    reg = st.regs[regno]
    b = reg.base
    if b in (PTR_TO_PACKET, PTR_TO_PACKET_META):
        mem.packet_access(reg, regno, reg.off, size, zero_ok)
    elif b == PTR_TO_MAP_KEY:
        if write:
            raise reject("E308", f"R{regno} cannot write into {type_str(reg.type)}")
        mem.region_access(reg, regno, reg.off, size, reg.map.key_size, False)
    elif b == PTR_TO_MAP_VALUE:
        mem.map_access_type(reg, reg.off, size, write)
        mem.map_access(reg, regno, reg.off, size, zero_ok)
    elif b == PTR_TO_MEM:
        if reg.type & RDONLY and write:
            raise reject("E308", f"R{regno} cannot write into {type_str(reg.type)}")
        mem.region_access(reg, regno, reg.off, size, reg.mem_size, zero_ok)
    elif b == PTR_TO_STACK:
        stack.range_initialized(env, st, regno, reg.off, size, zero_ok, True, meta)
    else:
        if zero_ok and size == 0 and reg.is_null:
            return
        raise reject("E303", f"R{regno} type={type_str(reg.type)} expected=fp")


def global_mem_arg(env: Env, st: VState, regno: int, size: int) -> None:
    """``check_mem_reg`` for a global function's pointer parameter: NULL, or ``size`` bytes the
    callee may read and write (a maybe-NULL pointer is checked as if not NULL). The callee is
    walked with memory of its own, so the caller's bytes are marked written here: stack slots
    become unknown bytes (Linux 6.1 kept a spilled pointer there through the call)."""
    reg = st.regs[regno]
    if reg.is_null:
        return
    if reg.is_pkt and not mem.may_access_pkt(env, True):  # stricter than 6.1, which let it be
        raise reject("E308", f"R{regno} cannot write into packet: a global function may write "
                             f"through its pointer parameter and {env.prog_type} packets are "
                             "read-only")
    if reg.type & MAYBE_NULL:
        st.regs[regno] = reg.copy()
        st.regs[regno].type &= ~MAYBE_NULL
    try:
        helper_mem(env, st, regno, size, False, True, None)
        meta = SimpleNamespace(raw_mode=True, access_size=0, regno=0)
        helper_mem(env, st, regno, size, True, True, meta)
        for i in range(meta.access_size):
            mem.mem_access(env, st, regno, i, 1, True, -1)
    finally:
        st.regs[regno] = reg


__all__ = ["global_mem_arg", "helper_mem"]
