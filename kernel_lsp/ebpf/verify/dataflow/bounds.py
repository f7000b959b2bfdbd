"""The scalar domain's bookkeeping: keep a register's tnum and its eight bounds consistent.

Each function is the Linux verifier's rule of the same name (``reg_bounds_sync`` = learn bounds
from the tnum, learn the sign from the bounds, learn bits from the bounds, and again), applied in
place to a :class:`~kernel_lsp.ebpf.verify.dataflow.regs.Reg`. Signed bounds are Python ints in
their signed range, unsigned bounds in ``[0, 2**64)``.
"""

from __future__ import annotations

from kernel_lsp.ebpf.verify.dataflow import tnum
from kernel_lsp.ebpf.verify.dataflow.regs import (
    S32_MAX,
    S32_MIN,
    S64_MAX,
    S64_MIN,
    Reg,
    s32,
    s64,
    set_unbounded32,
    set_unbounded64,
)
from kernel_lsp.ebpf.verify.dataflow.tnum import M32, M64


def update_bounds32(r: Reg) -> None:
    v = r.var.subreg()
    r.s32min = max(r.s32min, s32(v.value | (v.mask & 0x80000000)))
    r.s32max = min(r.s32max, s32(v.value | (v.mask & 0x7FFFFFFF)))
    r.u32min = max(r.u32min, v.value)
    r.u32max = min(r.u32max, v.value | v.mask)


def update_bounds64(r: Reg) -> None:
    v = r.var
    r.smin = max(r.smin, s64(v.value | (v.mask & (1 << 63))))
    r.smax = min(r.smax, s64(v.value | (v.mask & S64_MAX)))
    r.umin = max(r.umin, v.value)
    r.umax = min(r.umax, v.value | v.mask)


def update_bounds(r: Reg) -> None:
    update_bounds32(r)
    update_bounds64(r)


def _deduce32(r: Reg) -> None:
    if r.s32min >= 0 or r.s32max < 0:
        lo = max(r.s32min & M32, r.u32min)
        hi = min(r.s32max & M32, r.u32max)
        r.u32min, r.u32max = lo, hi
        r.s32min, r.s32max = s32(lo), s32(hi)
        return
    if s32(r.u32max) >= 0:
        r.s32min = r.u32min
        hi = min(r.s32max & M32, r.u32max)
        r.u32max, r.s32max = hi, s32(hi)
    elif s32(r.u32min) < 0:
        lo = max(r.s32min & M32, r.u32min)
        r.u32min, r.s32min = lo, s32(lo)
        r.s32max = s32(r.u32max)


def _deduce64(r: Reg) -> None:
    if r.smin >= 0 or r.smax < 0:
        lo = max(r.smin & M64, r.umin)
        hi = min(r.smax & M64, r.umax)
        r.umin, r.umax = lo, hi
        r.smin, r.smax = s64(lo), s64(hi)
        return
    if s64(r.umax) >= 0:
        r.smin = r.umin
        hi = min(r.smax & M64, r.umax)
        r.umax, r.smax = hi, s64(hi)
    elif s64(r.umin) < 0:
        lo = max(r.smin & M64, r.umin)
        r.umin, r.smin = lo, s64(lo)
        r.smax = s64(r.umax)


def deduce_bounds(r: Reg) -> None:
    _deduce32(r)
    _deduce64(r)


def bound_offset(r: Reg) -> None:
    """``__reg_bound_offset``: learn tnum bits from the unsigned bounds."""
    var64 = tnum.intersect(r.var, tnum.trange(r.umin, r.umax))
    var32 = tnum.intersect(var64.subreg(), tnum.trange(r.u32min, r.u32max))
    r.var = tnum.t_or(var64.clear_subreg(), var32)


def sync(r: Reg) -> None:
    """``reg_bounds_sync``."""
    update_bounds(r)
    deduce_bounds(r)
    bound_offset(r)
    update_bounds(r)


def assign_32_into_64(r: Reg) -> None:
    r.umin, r.umax = r.u32min, r.u32max
    if 0 <= r.s32min and 0 <= r.s32max:
        r.smin, r.smax = r.s32min, r.s32max
    else:
        r.smin, r.smax = 0, M32


def combine_32_into_64(r: Reg) -> None:
    if r.var.clear_subreg() == tnum.ZERO:
        assign_32_into_64(r)
    else:
        set_unbounded64(r)
    sync(r)


def combine_64_into_32(r: Reg) -> None:
    set_unbounded32(r)
    if S32_MIN <= r.smin <= S32_MAX and S32_MIN <= r.smax <= S32_MAX:
        r.s32min, r.s32max = r.smin, r.smax
    if r.umin <= M32 and r.umax <= M32:
        r.u32min, r.u32max = r.umin, r.umax
    sync(r)


def zext_32_to_64(r: Reg) -> None:
    r.var = r.var.subreg()
    assign_32_into_64(r)


def coerce_to_size(r: Reg, size: int) -> None:
    """Truncate a scalar to ``size`` bytes (a narrow load zero-extends)."""
    r.var = r.var.cast(size)
    mask = (1 << (8 * size)) - 1
    if r.umin & ~mask == r.umax & ~mask:
        r.umin &= mask
        r.umax &= mask
    else:
        r.umin, r.umax = 0, mask
    r.smin, r.smax = s64(r.umin), s64(r.umax)
    if size < 4:
        combine_64_into_32(r)


def is_inconsistent(r: Reg, alu32: bool) -> bool:
    """Bounds that no value satisfies, or a known tnum with a non-singleton range (dead code)."""
    if alu32:
        known = r.var.subreg().is_const
        return ((known and (r.s32min != r.s32max or r.u32min != r.u32max))
                or r.s32min > r.s32max or r.u32min > r.u32max)
    known = r.var.is_const
    return ((known and (r.smin != r.smax or r.umin != r.umax))
            or r.smin > r.smax or r.umin > r.umax)


def range_within(old: Reg, cur: Reg) -> bool:
    return (old.umin <= cur.umin and old.umax >= cur.umax and old.smin <= cur.smin
            and old.smax >= cur.smax and old.u32min <= cur.u32min and old.u32max >= cur.u32max
            and old.s32min <= cur.s32min and old.s32max >= cur.s32max)


__all__ = ["S64_MAX", "S64_MIN", "assign_32_into_64", "bound_offset", "combine_32_into_64",
           "combine_64_into_32", "coerce_to_size", "deduce_bounds", "is_inconsistent",
           "range_within", "sync", "update_bounds", "zext_32_to_64"]
