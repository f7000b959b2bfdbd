"""Text of abstract states in the Linux verifier log's format (``print_verifier_state``).

``reg_text(r)`` gives ``ctx(off=0,imm=0)``, ``fp-8``, ``scalar(umax=255,var_off=(0x0; 0xff))``,
``map_value_or_null(id=1,off=0,ks=4,vs=48,imm=0)``...; ``frame_text`` a whole frame
(`` R1=ctx(off=0,imm=0) R10=fp0 fp-8=mmmmmmmm``), ``state_text`` every frame of a path state.
"""

from __future__ import annotations

from kernel_lsp.ebpf.verify.dataflow.regs import (
    CONST_PTR_TO_MAP,
    NOT_INIT,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_STACK,
    PTR_TO_TCP_SOCK,
    S32_MAX,
    S32_MIN,
    S64_MAX,
    S64_MIN,
    SCALAR,
    Reg,
    type_str,
)
from kernel_lsp.ebpf.verify.dataflow.state import INVALID, FuncState, VState
from kernel_lsp.ebpf.verify.dataflow.tnum import M32, M64

_REFCOUNTED = (PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK)


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def reg_text(r: Reg) -> str:
    """One register as the kernel's log prints it after ``R<n>=``."""
    t = r.type
    if t == NOT_INIT:
        return "?"
    if t in (SCALAR, PTR_TO_STACK) and r.var.is_const:
        return ("" if t == SCALAR else "fp") + str(_signed(r.var.value) + r.off)
    parts = []
    if r.id:
        parts.append(f"id={r.id}")
    if r.ref_obj_id and r.base in _REFCOUNTED:
        parts.append(f"ref_obj_id={r.ref_obj_id}")
    if t != SCALAR:
        parts.append(f"off={r.off}")
    if r.is_pkt:
        parts.append(f"r={r.range}")
    elif r.base in (CONST_PTR_TO_MAP, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE) and r.map is not None:
        parts.append(f"ks={r.map.key_size},vs={r.map.value_size}")
    if r.var.is_const:
        parts.append(f"imm={r.var.value:x}")
    else:
        parts += _bounds(r)
    return f"{type_str(t)}({','.join(parts)})"


def _bounds(r: Reg) -> list[str]:
    out = []
    if r.smin != _signed(r.umin) and r.smin != S64_MIN:
        out.append(f"smin={r.smin}")
    if r.smax != _signed(r.umax) and r.smax != S64_MAX:
        out.append(f"smax={r.smax}")
    if r.umin != 0:
        out.append(f"umin={r.umin}")
    if r.umax != M64:
        out.append(f"umax={r.umax}")
    if not r.var.is_unknown:
        out.append(f"var_off={r.var.text()}")
    if r.s32min != r.smin and r.s32min != S32_MIN:
        out.append(f"s32_min={r.s32min}")
    if r.s32max != r.smax and r.s32max != S32_MAX:
        out.append(f"s32_max={r.s32max}")
    if r.u32min != r.umin and r.u32min != 0:
        out.append(f"u32_min={_s32(r.u32min)}")
    if r.u32max != r.umax and r.u32max != M32:
        out.append(f"u32_max={_s32(r.u32max)}")
    return out


def _s32(v: int) -> int:
    return v - (1 << 32) if v >> 31 else v


def frame_text(f: FuncState) -> str:
    out = [f" frame{f.frameno}:"] if f.frameno else []
    for i, r in enumerate(f.regs):
        if r.type != NOT_INIT:
            out.append(f" R{i}={reg_text(r)}")
    for spi, slot in enumerate(f.stack):
        if all(t == INVALID for t in slot.types):
            continue
        off = -(spi + 1) * 8
        if slot.is_spill:
            s = slot.spilled
            if s.type != SCALAR:
                out.append(f" fp{off}={type_str(s.type)}")
            else:
                out.append(f" fp{off}={_signed(s.var.value) if s.var.is_const else ''}")
        else:
            out.append(f" fp{off}={''.join(slot.types)}")
    if f.refs:
        out.append(" refs=" + ",".join(str(r[0]) for r in f.refs))
    if f.in_callback_fn:
        out.append(" cb")
    return "".join(out)


def state_fields(st: VState) -> dict[str, str]:
    """The current frame's live registers and stack slots, ``{"R1": "ctx(off=0,imm=0)", ...}``
    (slots as ``fp-8``; an outer frame's entries are prefixed ``frameN:``)."""
    out: dict[str, str] = {}
    for f in st.frames:
        prefix = "" if f is st.frames[-1] else f"frame{f.frameno}:"
        for item in frame_text(f).split():
            if "=" in item and not item.startswith(("refs=",)):
                key, value = item.split("=", 1)
                out[prefix + key] = value
    return out


def state_text(st: VState) -> str:
    """Every frame of a path state, innermost last (the kernel prints the current frame)."""
    return "".join(frame_text(f) for f in st.frames).strip()
