"""Conditional jumps: which way they can go, and what each way teaches about the registers.

``cond_jump(env, st, insn)`` is ``check_cond_jmp_op`` of Linux 6.1. It decides a branch when the
operands' bounds allow (``is_branch_taken``), otherwise splits the state into the fall-through
(``st``, refined in place) and the taken state (a copy, refined): scalar bounds against constants
(``reg_set_min_max``), equal scalars sharing an id, ``== NULL`` checks of ``*_or_null`` pointers
(``mark_ptr_or_null_regs``) and packet ranges from ``pkt`` vs ``pkt_end`` comparisons
(``find_good_pkt_pointers``). It returns ``(taken, fallthrough)`` states, either may be ``None``.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow import bounds
from kernel_lsp.ebpf.verify.dataflow.alu import read_reg
from kernel_lsp.ebpf.verify.dataflow.env import MAX_PACKET_OFF, Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    AT_PKT_END,
    BEYOND_PKT_END,
    MAYBE_NULL,
    NOT_INIT,
    PTR_TO_BTF_ID,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_PACKET,
    PTR_TO_PACKET_END,
    PTR_TO_PACKET_META,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_TCP_SOCK,
    PTR_TO_XDP_SOCK,
    SCALAR,
    Reg,
    pointer_value,
    s32,
    s64,
    set_known,
    set_unbounded,
)
from kernel_lsp.ebpf.verify.dataflow.scalar_alu import make_unknown
from kernel_lsp.ebpf.verify.dataflow.state import VState
from kernel_lsp.ebpf.verify.dataflow.tnum import M32, M64, Tnum, intersect, t_and, t_or
from kernel_lsp.ebpf.verify.dataflow.tnum import const as tconst

NOT_NULL = (PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_MAP_VALUE, PTR_TO_MAP_KEY,
            PTR_TO_SOCK_COMMON)  # reg_type_not_null
FLIP = {"jeq": "jeq", "jne": "jne", "jset": "jset", "jge": "jle", "jgt": "jlt", "jle": "jge",
        "jlt": "jgt", "jsge": "jsle", "jsgt": "jslt", "jsle": "jsge", "jslt": "jsgt"}


def _equal_possible(var: Tnum, umin: int, umax: int, smin: int, smax: int, val: int,
                    sval: int) -> bool:
    return (val & ~var.mask) == var.value and umin <= val <= umax and smin <= sval <= smax


def _taken32(r: Reg, val: int, op: str) -> int:
    sub = r.var.subreg()
    sval = s32(val)
    if op in ("jeq", "jne"):
        if sub.is_const:
            return int((sub.value == val) == (op == "jeq"))
        if not _equal_possible(sub, r.u32min, r.u32max, r.s32min, r.s32max, val, sval):
            return int(op == "jne")
    if op == "jset":
        if (~sub.mask & sub.value) & val:
            return 1
        if not (sub.mask | sub.value) & val:
            return 0
    return _cmp(op, r.u32min, r.u32max, r.s32min, r.s32max, val, sval)


def _taken64(r: Reg, val: int, op: str) -> int:
    sval = s64(val)
    if op in ("jeq", "jne"):
        if r.var.is_const:
            return int((r.var.value == val) == (op == "jeq"))
        if not _equal_possible(r.var, r.umin, r.umax, r.smin, r.smax, val, sval):
            return int(op == "jne")
    if op == "jset":
        if (~r.var.mask & r.var.value) & val:
            return 1
        if not (r.var.mask | r.var.value) & val:
            return 0
    return _cmp(op, r.umin, r.umax, r.smin, r.smax, val, sval)


def _cmp(op: str, umin: int, umax: int, smin: int, smax: int, val: int, sval: int) -> int:
    table = {
        "jgt": (umin > val, umax <= val), "jsgt": (smin > sval, smax <= sval),
        "jlt": (umax < val, umin >= val), "jslt": (smax < sval, smin >= sval),
        "jge": (umin >= val, umax < val), "jsge": (smin >= sval, smax < sval),
        "jle": (umax <= val, umin > val), "jsle": (smax <= sval, smin > sval),
    }
    if op not in table:
        return -1
    yes, no = table[op]
    return 1 if yes else 0 if no else -1


def branch_taken(r: Reg, val: int, op: str, jmp32: bool) -> int:
    """``is_branch_taken``: 1 taken, 0 not taken, -1 unknown.

    A valid pointer is never 0, but its low 32 bits may be (Linux 6.1 decides ``if w0 == 0``
    on one too, wrongly: a region at a 4 GiB boundary has a zero low half), so only a 64-bit
    comparison of a pointer with 0 is decided."""
    if r.type != SCALAR:
        if jmp32 or r.type not in NOT_NULL or val != 0:
            return -1
        return {"jeq": 0, "jne": 1}.get(op, -1)
    val &= M32 if jmp32 else M64
    return _taken32(r, val, op) if jmp32 else _taken64(r, val, op)


def _view(r: Reg, jmp32: bool) -> tuple[Tnum, int, int, int, int]:
    if jmp32:
        return r.var.subreg(), r.u32min, r.u32max, r.s32min, r.s32max
    return r.var, r.umin, r.umax, r.smin, r.smax


def _const_of(r: Reg, jmp32: bool) -> int | None:
    v = r.var.subreg() if jmp32 else r.var
    return v.value if v.is_const else None


def scalars_taken(a: Reg, b: Reg, op: str, jmp32: bool) -> int:
    """``is_branch_taken`` of ``a op b`` for two scalars (Linux 6.8+ decides these too): 1 when
    every pair of values the two registers may hold makes it true, 0 when none does, else -1."""
    if (val := _const_of(b, jmp32)) is not None:
        return branch_taken(a, val, op, jmp32)
    if (val := _const_of(a, jmp32)) is not None:
        return branch_taken(b, val, FLIP[op], jmp32)
    ta, umin1, umax1, smin1, smax1 = _view(a, jmp32)
    tb, umin2, umax2, smin2, smax2 = _view(b, jmp32)
    if op in ("jeq", "jne"):
        known = ~(ta.mask | tb.mask)
        apart = ((ta.value & known) != (tb.value & known) or umin1 > umax2 or umax1 < umin2
                 or smin1 > smax2 or smax1 < smin2)
        if not jmp32:  # equal 64-bit values have equal low halves
            apart = (apart or a.u32min > b.u32max or a.u32max < b.u32min
                     or a.s32min > b.s32max or a.s32max < b.s32min)
        return int(op == "jne") if apart else -1
    table = {
        "jgt": (umin1 > umax2, umax1 <= umin2), "jsgt": (smin1 > smax2, smax1 <= smin2),
        "jlt": (umax1 < umin2, umin1 >= umax2), "jslt": (smax1 < smin2, smin1 >= smax2),
        "jge": (umin1 >= umax2, umax1 < umin2), "jsge": (smin1 >= smax2, smax1 < smin2),
        "jle": (umax1 <= umin2, umin1 > umax2), "jsle": (smax1 <= smin2, smin1 > smax2),
    }
    if op not in table:  # jset of two unknown scalars
        return -1
    yes, no = table[op]
    return 1 if yes else 0 if no else -1


_FIELDS = {False: ("umin", "umax", "smin", "smax"), True: ("u32min", "u32max", "s32min", "s32max")}


def _learn_equal(r1: Reg, r2: Reg, jmp32: bool) -> None:
    """Two scalars known equal (in the compared width) share their bounds and bits."""
    for lo, hi in (_FIELDS[jmp32][:2], _FIELDS[jmp32][2:]):
        low = max(getattr(r1, lo), getattr(r2, lo))
        high = min(getattr(r1, hi), getattr(r2, hi))
        for r in (r1, r2):
            setattr(r, lo, low)
            setattr(r, hi, high)
    if jmp32:
        both = intersect(r1.var.subreg(), r2.var.subreg())
        r1.var, r2.var = r1.var.with_subreg(both), r2.var.with_subreg(both)
    else:
        r1.var = r2.var = intersect(r1.var, r2.var)


def refine_scalars(t1: Reg, t2: Reg, f1: Reg, f2: Reg, op: str, jmp32: bool) -> None:
    """What ``t1 op t2`` (taken) and its negation (fall-through) teach about two non-constant
    scalars: equal ones share their knowledge. Linux 6.8 also narrows both sides of ``<``,
    ``<=``...; kernel-lsp does not, because its pruning has no precision marks: the loop bound
    of ``for (i = 0; i < n; i++)`` would then differ at every iteration, and the walk of
    test_seg6_loop.o grows from 75,000 to past 1,000,000 instructions."""
    if op == "jeq":
        _learn_equal(t1, t2, jmp32)
    elif op == "jne":
        _learn_equal(f1, f2, jmp32)
    else:
        return
    for r in (t1, t2, f1, f2):
        bounds.sync(r)


def _pkt_taken(dst: Reg, src: Reg, op: str) -> int:
    """``is_pkt_ptr_branch_taken``."""
    if src.type == PTR_TO_PACKET_END:
        pkt = dst
    elif dst.type == PTR_TO_PACKET_END:
        pkt, op = src, FLIP[op]
    else:
        return -1
    if pkt.range >= 0:
        return -1
    if op in ("jle", "jgt") and pkt.range == BEYOND_PKT_END:
        return int(op == "jgt")
    if op in ("jlt", "jge") and pkt.range in (BEYOND_PKT_END, AT_PKT_END):
        return int(op == "jge")
    return -1


def set_min_max(true_r: Reg, false_r: Reg, val: int, op: str, jmp32: bool) -> None:
    """``reg_set_min_max``: refine a scalar compared with the constant ``val``."""
    if false_r.type != SCALAR:
        return
    val32 = val & M32
    val &= M64
    f32, f64 = false_r.var.subreg(), false_r.var
    t32, t64 = true_r.var.subreg(), true_r.var
    if op == "jeq" or op == "jne":
        r = true_r if op == "jeq" else false_r
        if jmp32:
            r.var = r.var.with_subreg(tconst(val32))
            r.s32min = r.s32max = s32(val32)
            r.u32min = r.u32max = val32
        else:
            set_known(r, val)
        if op == "jeq":
            t32, t64 = true_r.var.subreg(), true_r.var
        else:
            f32, f64 = false_r.var.subreg(), false_r.var
    elif op == "jset":
        set_unbounded(false_r)
        if jmp32:
            f32 = t_and(f32, tconst(~val32 & M32))
            if val32 and not val32 & (val32 - 1):
                t32 = t_or(t32, tconst(val32))
        else:
            f64 = t_and(f64, tconst(~val & M64))
            if val and not val & (val - 1):
                t64 = t_or(t64, tconst(val))
    else:
        _range_refine(true_r, false_r, val, val32, op, jmp32)
    if jmp32:
        false_r.var = Tnum(f64.value & ~M32 & M64, f64.mask & ~M32 & M64).with_subreg(f32)
        true_r.var = Tnum(t64.value & ~M32 & M64, t64.mask & ~M32 & M64).with_subreg(t32)
        bounds.combine_32_into_64(false_r)
        bounds.combine_32_into_64(true_r)
    else:
        false_r.var, true_r.var = f64, t64
        bounds.combine_64_into_32(false_r)
        bounds.combine_64_into_32(true_r)


def _range_refine(t: Reg, f: Reg, val: int, val32: int, op: str, jmp32: bool) -> None:
    sv, sv32 = s64(val), s32(val32)
    strict = op in ("jgt", "jsgt", "jlt", "jslt")
    if op in ("jge", "jgt"):
        if jmp32:
            f.u32max = min(f.u32max, val32 if strict else (val32 - 1) & M32)
            t.u32min = max(t.u32min, (val32 + 1) & M32 if strict else val32)
        else:
            f.umax = min(f.umax, val if strict else (val - 1) & M64)
            t.umin = max(t.umin, (val + 1) & M64 if strict else val)
    elif op in ("jsge", "jsgt"):
        if jmp32:
            f.s32max = min(f.s32max, sv32 if strict else s32(sv32 - 1))
            t.s32min = max(t.s32min, s32(sv32 + 1) if strict else sv32)
        else:
            f.smax = min(f.smax, sv if strict else s64(sv - 1))
            t.smin = max(t.smin, s64(sv + 1) if strict else sv)
    elif op in ("jle", "jlt"):
        if jmp32:
            f.u32min = max(f.u32min, val32 if strict else (val32 + 1) & M32)
            t.u32max = min(t.u32max, (val32 - 1) & M32 if strict else val32)
        else:
            f.umin = max(f.umin, val if strict else (val + 1) & M64)
            t.umax = min(t.umax, (val - 1) & M64 if strict else val)
    elif op in ("jsle", "jslt"):
        if jmp32:
            f.s32min = max(f.s32min, sv32 if strict else s32(sv32 + 1))
            t.s32max = min(t.s32max, s32(sv32 - 1) if strict else sv32)
        else:
            f.smin = max(f.smin, sv if strict else s64(sv + 1))
            t.smax = min(t.smax, s64(sv - 1) if strict else sv)


def find_equal_scalars(st: VState, known: Reg) -> None:
    """Registers with the same scalar id get ``known``'s refined value."""
    st.replace_regs(lambda r: known.copy() if r.type == SCALAR and r.id == known.id
                    and r is not known else None)


def mark_ptr_or_null(env: Env, st: VState, regno: int, is_null: bool) -> None:
    """``mark_ptr_or_null_regs``: after ``R == 0``, every copy is NULL or a valid pointer."""
    reg = st.regs[regno]
    rid, ref = reg.id, reg.ref_obj_id
    if ref and ref == rid and is_null:
        st.cur.refs = [x for x in st.cur.refs if x[0] != rid]

    def fix(r: Reg) -> Reg | None:
        if not (r.type & MAYBE_NULL and r.id == rid and rid):
            return None
        if r.smin or r.smax or r.var != tconst(0) or r.off:
            return None
        n = r.copy()
        if is_null:
            make_unknown(n)
            set_known(n, 0)
            return n
        _not_null(n)
        if not (n.type == PTR_TO_MAP_VALUE and n.map and n.map.spin_lock_off >= 0):
            n.id = 0
        return n

    st.replace_regs(fix)


def _not_null(r: Reg) -> None:
    """``mark_ptr_not_null_reg``."""
    from kernel_lsp.ebpf.verify.dataflow.regs import CONST_PTR_TO_MAP
    if r.base == PTR_TO_MAP_VALUE:
        m = r.map
        if m.inner is not None:
            r.type, r.map = CONST_PTR_TO_MAP, m.inner
        elif m.kind == "xskmap":
            r.type = PTR_TO_XDP_SOCK
        elif m.kind in ("sockmap", "sockhash"):
            r.type = PTR_TO_SOCKET
        else:
            r.type = PTR_TO_MAP_VALUE
        return
    r.type &= ~MAYBE_NULL


def _good_pkt(st: VState, dst: Reg, open_right: bool) -> None:
    """``find_good_pkt_pointers``: every pointer with ``dst``'s id gains the proven range."""
    if dst.off < 0 or (dst.off == 0 and open_right):
        return
    if dst.umax > MAX_PACKET_OFF or dst.umax + dst.off > MAX_PACKET_OFF:
        return
    new_range = dst.off + (1 if open_right else 0)
    kind, rid = dst.type, dst.id

    def fix(r: Reg) -> Reg | None:
        if r.type == kind and r.id == rid:
            n = r.copy()
            n.range = max(r.range, new_range)
            return n
        return None

    st.replace_regs(fix)


def _pkt_end(st: VState, regno: int, open_range: bool) -> None:
    r = st.regs[regno]
    if r.type == PTR_TO_PACKET:
        r.range = BEYOND_PKT_END if open_range else AT_PKT_END


def _init_pkt(r: Reg, kind: int) -> bool:
    return r.type == kind and r.id == 0 and r.off == 0 and r.var == tconst(0)


def _match_pkt(insn, op: str, dst: Reg, src: Reg, this: VState, other: VState) -> bool:
    """``try_match_pkt_pointers``: ``this`` is the fall-through, ``other`` the taken state."""
    if not insn.opcode & isa.X or insn.cls == isa.JMP32 or op not in ("jgt", "jlt", "jge", "jle"):
        return False
    left = ((dst.type == PTR_TO_PACKET and src.type == PTR_TO_PACKET_END)
            or (dst.type == PTR_TO_PACKET_META and _init_pkt(src, PTR_TO_PACKET)))
    right = ((dst.type == PTR_TO_PACKET_END and src.type == PTR_TO_PACKET)
             or (_init_pkt(dst, PTR_TO_PACKET) and src.type == PTR_TO_PACKET_META))
    if not (left or right):
        return False
    # (state that learns the range, open right, state for mark_pkt_end, its open flag)
    plan = {("jgt", True): (this, False, other, True), ("jgt", False): (other, True, this, False),
            ("jlt", True): (other, True, this, False), ("jlt", False): (this, False, other, True),
            ("jge", True): (this, True, other, False), ("jge", False): (other, False, this, True),
            ("jle", True): (other, False, this, True), ("jle", False): (this, True, other, False)}
    good, open_right, end_state, end_open = plan[(op, left)]
    reg, regno = (dst, insn.dst) if left else (src, insn.src)
    _good_pkt(good, good.regs[regno], open_right)
    _pkt_end(end_state, regno, end_open)
    del reg
    return True


def cond_jump(env: Env, st: VState, insn, op: str, jmp32: bool) -> tuple[VState | None,
                                                                        VState | None, bool]:
    """``(taken, fallthrough, speculative_other)``; ``st`` is reused for one of them."""
    dst = read_reg(st, insn.dst)
    src = None
    if insn.opcode & isa.X:
        src = read_reg(st, insn.src)
        if not (dst.is_pkt_any and src.is_pkt_any) and pointer_value(src, env.allow_ptr_leaks):
            raise reject("E307", f"R{insn.src} pointer comparison prohibited")
    pred = -1
    if src is None:
        pred = branch_taken(dst, insn.imm, op, jmp32)
    elif src.type == SCALAR and dst.type == SCALAR:
        pred = scalars_taken(dst, src, op, jmp32)
    elif src.type == SCALAR and jmp32 and src.var.subreg().is_const:
        pred = branch_taken(dst, src.var.subreg().value, op, jmp32)
    elif src.type == SCALAR and not jmp32 and src.var.is_const:
        pred = branch_taken(dst, src.var.value, op, jmp32)
    elif dst.is_pkt_any and src.is_pkt_any and not jmp32:
        pred = _pkt_taken(dst, src, op)
    if pred >= 0:
        return (st, None, True) if pred == 1 else (None, st, True)
    other = st.copy()
    oregs, regs = other.regs, st.regs
    if src is not None:
        if dst.type == SCALAR and src.type == SCALAR:
            if src.var.is_const or (jmp32 and src.var.subreg().is_const):
                set_min_max(oregs[insn.dst], dst, src.var.value, op, jmp32)
            elif dst.var.is_const or (jmp32 and dst.var.subreg().is_const):
                set_min_max(oregs[insn.src], src, dst.var.value, FLIP[op], jmp32)
            else:
                refine_scalars(oregs[insn.dst], oregs[insn.src], dst, src, op, jmp32)
            if src.id:
                find_equal_scalars(st, regs[insn.src])
                find_equal_scalars(other, oregs[insn.src])
    elif dst.type == SCALAR:
        set_min_max(oregs[insn.dst], dst, insn.imm, op, jmp32)
    dst = regs[insn.dst]
    if dst.type == SCALAR and dst.id:
        find_equal_scalars(st, dst)
        find_equal_scalars(other, oregs[insn.dst])
    if (not jmp32 and src is None and insn.imm == 0 and op in ("jeq", "jne")
            and dst.type & MAYBE_NULL):
        mark_ptr_or_null(env, st, insn.dst, op == "jne")
        mark_ptr_or_null(env, other, insn.dst, op == "jeq")
    elif not (src is not None and _match_pkt(insn, op, dst, regs[insn.src], st, other)) \
            and pointer_value(dst, env.allow_ptr_leaks):
        raise reject("E307", f"R{insn.dst} pointer comparison prohibited")
    if src is not None and not jmp32 and op in ("jeq", "jne"):
        _infer_not_null(insn, other if op == "jeq" else st)
    return other, st, False


def _infer_not_null(insn, equal: VState) -> None:
    """Linux 6.3+: where a maybe-NULL pointer equals a pointer that is not NULL, it is not NULL
    either (BTF-typed pointers excepted: they may be NULL unmarked)."""
    d, s = equal.regs[insn.dst], equal.regs[insn.src]
    if d.type in (SCALAR, NOT_INIT) or s.type in (SCALAR, NOT_INIT) or PTR_TO_BTF_ID in (
            d.base, s.base) or bool(d.type & MAYBE_NULL) == bool(s.type & MAYBE_NULL):
        return
    regno = insn.src if s.type & MAYBE_NULL else insn.dst
    r = equal.regs[regno].copy()
    _not_null(r)
    equal.regs[regno] = r


__all__ = ["PTR_TO_SOCKET", "branch_taken", "cond_jump", "refine_scalars", "scalars_taken",
           "set_min_max"]
