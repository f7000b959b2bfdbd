"""Pointer arithmetic: ``pointer +/- scalar`` and the rules that forbid everything else.

``ptr_op(env, st, insn, ptr, off, dst_regno)`` is ``adjust_ptr_min_max_vals`` of Linux 6.1: only
64-bit add/sub of a scalar to a pointer whose type allows it (no ``*_or_null``, no ``pkt_end``,
sockets or map pointers); a constant goes into the fixed offset, anything else into the variable
offset; adding to a packet pointer forgets its range. Unprivileged programs also get the kernel's
Spectre-v1 sanitation rules (bounded offsets that stay inside the object).
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow import bounds, mem
from kernel_lsp.ebpf.verify.dataflow.env import MAX_VAR_OFF, Env, Reject, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    CONST_PTR_TO_MAP,
    MAYBE_NULL,
    PKT_TYPES,
    PTR_TO_FLOW_KEYS,
    PTR_TO_MAP_VALUE,
    PTR_TO_PACKET_END,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_STACK,
    PTR_TO_TCP_SOCK,
    PTR_TO_XDP_SOCK,
    S64_MAX,
    S64_MIN,
    Reg,
    set_unbounded32,
    type_str,
)
from kernel_lsp.ebpf.verify.dataflow.scalar_alu import make_unknown
from kernel_lsp.ebpf.verify.dataflow.state import MAX_STACK, VState
from kernel_lsp.ebpf.verify.dataflow.tnum import M64
from kernel_lsp.ebpf.verify.dataflow.tnum import add as tnum_add
from kernel_lsp.ebpf.verify.dataflow.tnum import sub as tnum_sub

OP_SYMBOL = {"add": "+=", "sub": "-=", "mul": "*=", "div": "/=", "or": "|=", "and": "&=",
             "lsh": "<<=", "rsh": ">>=", "neg": "neg", "mod": "%=", "xor": "^=", "mov": "=",
             "arsh": "s>>=", "end": "endian"}
_NO_ARITH = (PTR_TO_PACKET_END, PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK,
             PTR_TO_XDP_SOCK)


def _sane(reg: Reg, ptr_type: int) -> None:
    """``check_reg_sane_offset``."""
    name = type_str(ptr_type)
    known = reg.var.is_const
    val = reg.var.value - (1 << 64) if reg.var.value >> 63 else reg.var.value
    if known and (val >= MAX_VAR_OFF or val <= -MAX_VAR_OFF):
        raise reject("E302", f"math between {name} pointer and {val} is not allowed")
    if reg.off >= MAX_VAR_OFF or reg.off <= -MAX_VAR_OFF:
        raise reject("E302", f"{name} pointer offset {reg.off} is not allowed")
    if reg.smin == S64_MIN:
        raise reject("E302", f"math between {name} pointer and register with unbounded min "
                             "value is not allowed")
    if reg.smin >= MAX_VAR_OFF or reg.smin <= -MAX_VAR_OFF:
        raise reject("E302", f"value {reg.smin} makes {name} pointer be out of bounds")


def _limit(ptr: Reg, mask_to_left: bool) -> int | None:
    """``retrieve_ptr_limit``: how far the pointer may move, or None (REASON_TYPE/LIMIT)."""
    if ptr.type == PTR_TO_STACK:
        top = MAX_STACK + (1 if mask_to_left else 0)
        limit = -(_s(ptr.var.value) + ptr.off)
    elif ptr.type == PTR_TO_MAP_VALUE:
        top = ptr.map.value_size
        limit = (ptr.smin if mask_to_left else ptr.umax) + ptr.off
    else:
        return None
    return limit if 0 <= limit < top else -1


def _s(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


_ERR = "pointer arithmetic with it prohibited for !root"


def _sanitize(env: Env, st: VState, op: str, ptr: Reg, off: Reg, ptr_is_dst: bool,
              dst_regno: int, src_regno: int) -> tuple[bool, tuple, int]:
    """``sanitize_ptr_alu``'s check phase: ``(mask_to_left, alu_state, limit)``."""
    off_is_neg = off.smin < 0
    if not off.var.is_const and (off.smin < 0) != (off.smax < 0):
        regno = dst_regno if not ptr_is_dst else src_regno
        raise reject("E312", f"R{regno} has unknown scalar with mixed signed bounds, {_ERR}")
    mask_to_left = (op == "add" and off_is_neg) or (op == "sub" and not off_is_neg)
    limit = _limit(ptr, mask_to_left)
    if limit is None:
        regno = src_regno if not ptr_is_dst else dst_regno
        raise reject("E312", f"R{regno} has pointer with unsupported alu operation, {_ERR}")
    if limit < 0:
        raise reject("E312", f"R{dst_regno} tried to {op} beyond pointer bounds, {_ERR}")
    if not off.var.is_const:
        env.explore_alu_limits = True
    return mask_to_left, ("ptr", off_is_neg, off.var.is_const, ptr_is_dst), limit


def _sanitize_commit(env: Env, op: str, dst: Reg, dst_regno: int, mask_to_left: bool,
                     state: tuple, limit: int) -> None:
    """``sanitize_ptr_alu``'s commit phase: the masking window must agree on every path."""
    after = _limit(dst, mask_to_left)
    if after is None or after < 0:
        raise reject("E312", f"R{dst_regno} tried to {op} beyond pointer bounds, {_ERR}")
    record_alu_state(env, state, abs(limit - after), op, dst_regno)


def record_alu_state(env: Env, state: tuple, limit: int, op: str, dst_regno: int) -> None:
    """``update_alu_sanitation_state``: one instruction, one masking (all paths)."""
    seen = env.alu_state.get(env.insn_idx)
    if seen is not None and seen != (state, limit):
        raise reject("E312", f"R{dst_regno} tried to {op} from different maps, paths or "
                             f"scalars, {_ERR}")
    env.alu_state[env.insn_idx] = (state, limit)


def _check_bounds(env: Env, st: VState, dst: Reg, regno: int) -> None:
    """``sanitize_check_bounds``: unprivileged pointers must stay inside their object."""
    if env.bypass_spec_v1:
        return
    if dst.type == PTR_TO_STACK:
        off = dst.off + _s(dst.var.value)
        if not dst.var.is_const:
            raise reject("E312", f"R{regno} variable stack access prohibited for !root, "
                                 f"var_off={dst.var.text()} off={off}")
        if off >= 0 or off < -MAX_STACK:
            raise reject("E312", f"R{regno} stack pointer arithmetic goes out of range, "
                                 f"prohibited for !root; off={off}")
    elif dst.type == PTR_TO_MAP_VALUE:
        try:
            mem.map_access(dst, regno, dst.off, 1, False)
        except Reject as exc:
            raise reject("E312", f"{exc.message}; R{regno} pointer arithmetic of map value goes "
                                 "out of range, prohibited for !root") from None


def ptr_op(env: Env, st: VState, insn, op: str, alu64: bool, ptr: Reg, off: Reg,
           dst_regno: int, src_regno: int, ptr_is_dst: bool) -> Reg:
    """The new value of the destination register for ``ptr op off``."""
    known = off.var.is_const
    if ((known and (off.smin != off.smax or off.umin != off.umax))
            or off.smin > off.smax or off.umin > off.umax):
        r = Reg()
        make_unknown(r)
        return r
    if not alu64:
        if op == "sub" and env.allow_ptr_leaks:
            r = Reg()
            make_unknown(r)
            return r
        raise reject("E302", f"R{dst_regno} 32-bit pointer arithmetic prohibited")
    if ptr.type & MAYBE_NULL:
        raise reject("E302", f"R{dst_regno} pointer arithmetic on {type_str(ptr.type)} "
                             "prohibited, null-check it first")
    t = ptr.type
    forbidden = (t in _NO_ARITH or (t == CONST_PTR_TO_MAP and not (known and off.smin == 0
                                                                   and op == "add"))
                 or (t == PTR_TO_FLOW_KEYS and not known))
    if forbidden:
        raise reject("E302", f"R{dst_regno} pointer arithmetic on {type_str(t)} prohibited")
    dst = ptr.copy()
    _sane(off, t)
    _sane(ptr, t)
    set_unbounded32(dst)
    need_sanitize = op in ("add", "sub") and not env.bypass_spec_v1 and insn.opcode & isa.X
    sanitation = None
    if need_sanitize and not st.speculative:
        sanitation = _sanitize(env, st, op, ptr, off, ptr_is_dst, dst_regno, src_regno)
    if op == "add":
        _add(env, dst, ptr, off, known)
    elif op == "sub":
        if not ptr_is_dst:
            raise reject("E302", f"R{dst_regno} tried to subtract pointer from scalar")
        if t == PTR_TO_STACK:
            raise reject("E302", f"R{dst_regno} subtraction from stack pointer prohibited")
        _sub(env, dst, ptr, off, known)
    elif op in ("and", "or", "xor"):
        raise reject("E302", f"R{dst_regno} bitwise operator {OP_SYMBOL[op]} on pointer "
                             "prohibited")
    else:
        raise reject("E302", f"R{dst_regno} pointer arithmetic with {OP_SYMBOL[op]} operator "
                             "prohibited")
    _sane(dst, t)
    bounds.sync(dst)
    _check_bounds(env, st, dst, dst_regno)
    if sanitation is not None:
        _sanitize_commit(env, op, dst, dst_regno, *sanitation)
    if need_sanitize and not off.var.is_const:
        _push_speculative(env, st, ptr, dst_regno)
    return dst


def _push_speculative(env: Env, st: VState, ptr: Reg, dst_regno: int) -> None:
    """Simulate the masked (truncated-to-zero offset) pointer on a speculative path."""
    env.spec_pushes.append((env.insn_idx + 1, dst_regno, ptr.copy()))


def _fits(lo: int, hi: int) -> bool:
    return S64_MIN <= lo <= S64_MAX and S64_MIN <= hi <= S64_MAX


def _forget_pkt_end(dst: Reg, ptr: Reg, backward: bool) -> None:
    """A packet pointer known to be at or beyond pkt_end (a negative ``range``, from a
    comparison) stays so when it moves forward only: moved back it may lie before pkt_end, so a
    later comparison with pkt_end decides nothing. Linux 6.1 keeps the mark (``dst_reg->raw =
    ptr_reg->raw``) and then decides that comparison, skipping the path that runs."""
    if ptr.type in PKT_TYPES and ptr.range < 0 and backward:
        dst.range = 0


def _add(env: Env, dst: Reg, ptr: Reg, off: Reg, known: bool) -> None:
    if known and -(1 << 31) <= ptr.off + off.smin < 1 << 31:
        dst.off = ptr.off + off.smin
        _forget_pkt_end(dst, ptr, off.smin < 0)
        return
    lo, hi = ptr.smin + off.smin, ptr.smax + off.smax
    dst.smin, dst.smax = (lo, hi) if _fits(lo, hi) else (S64_MIN, S64_MAX)
    if ptr.umin + off.umin > M64 or ptr.umax + off.umax > M64:
        dst.umin, dst.umax = 0, M64
    else:
        dst.umin, dst.umax = ptr.umin + off.umin, ptr.umax + off.umax
    dst.var = tnum_add(ptr.var, off.var)
    if ptr.type in PKT_TYPES:
        dst.id = env.new_id()
        dst.range = 0


def _sub(env: Env, dst: Reg, ptr: Reg, off: Reg, known: bool) -> None:
    if known and -(1 << 31) <= ptr.off - off.smin < 1 << 31:
        dst.off = ptr.off - off.smin
        _forget_pkt_end(dst, ptr, off.smin > 0)
        return
    lo, hi = ptr.smin - off.smax, ptr.smax - off.smin
    dst.smin, dst.smax = (lo, hi) if _fits(lo, hi) else (S64_MIN, S64_MAX)
    if ptr.umin < off.umax:
        dst.umin, dst.umax = 0, M64
    else:
        dst.umin, dst.umax = ptr.umin - off.umax, ptr.umax - off.umin
    dst.var = tnum_sub(ptr.var, off.var)
    if ptr.type in PKT_TYPES:
        dst.id = env.new_id()
        if off.smin < 0:
            dst.range = 0
        _forget_pkt_end(dst, ptr, off.smax > 0)
