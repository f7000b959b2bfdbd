"""Which scalar registers can matter for safety: a static stand-in for Linux's precision marks.

Linux prunes a path when a stored state covers it, and ignores scalars whose exact value never
influenced a safety decision (``precise`` marks, found by backtracking). Without them, a program
that computes a value through many independent branches (a hash, a flag word) doubles its paths
at each branch. ``relevant_regs(env)`` computes, per instruction, the registers whose value *as
a scalar* may influence, on some path from there, any decision the verifier makes: a branch,
pointer arithmetic, a memory access, a helper argument (other than ``ARG_ANYTHING``), a value
stored in a stack slot that matters (loads from maps, packets and contexts are unknown scalars
for the verifier, so a value stored there never matters), a call's arguments, the value
returned at an exit (at the main program's exit only where the program type's return value
has a range). It is a backward analysis
that over-approximates (``may``), using a forward analysis of which registers may hold pointers
to spot pointer arithmetic. Two scalars in a register outside that set are interchangeable, so
pruning may treat them as equal; everything else is compared exactly. The same holds for the
current frame's stack slots (``relevant_slots``): a slot whose content no later load, helper or
call can observe is skipped, like a slot Linux's liveness marks as never read; slots are tracked
when addressed from R10 with constant offsets (a forward analysis of stack-pointer offsets), and
any access it cannot place makes every slot relevant. Unprivileged programs compare everything
exactly, as Linux does.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow import protos
from kernel_lsp.ebpf.verify.dataflow.env import Env

M64 = (1 << 64) - 1
ALL = frozenset(range(10))
ALL_SLOTS = frozenset(range(64))
TOP = "top"  # a stack pointer with an unknown offset
_MAX_OFFSETS = 8
_SPECIAL_HELPERS = frozenset({"get_local_storage", "tail_call", "loop", "ringbuf_reserve",
                              "snprintf", "for_each_map_elem", "timer_set_callback"})


def _successors(env: Env, i: int) -> list[int]:
    insn, info = env.insns[i], env.infos[i]
    k = info.kind
    if k == "exit":
        return []
    if k == "ja":
        return [i + 1 + (insn.imm if info.op == "gotol" else insn.off)]
    if k == "jcond":
        return [i + 1, i + 1 + insn.off]
    return [i + (2 if k == "lddw" else 1)]


def _may_pointer(env: Env, fps: list[dict], musts: list[dict]) -> list[frozenset]:
    """Forward: registers that may hold a pointer before each instruction (tracking which
    stack slots may hold a spilled pointer, so that a fill of plain data stays a scalar)."""
    n = len(env.insns)
    starts = list(isa.slot_starts(env.insns))
    before: list[tuple | None] = [None] * n
    for s in env.subprog_starts:
        before[s] = (frozenset(range(1, 6)) if s else frozenset({1})), frozenset()
    changed = True
    while changed:
        changed = False
        for i in starts:
            if before[i] is None:
                continue
            after = _ptr_transfer(env, i, before[i], fps[i], musts[i])
            for s in _successors(env, i):
                if 0 <= s < n:
                    new = after if before[s] is None else (before[s][0] | after[0],
                                                          before[s][1] | after[1])
                    if new != before[s]:
                        before[s], changed = new, True
    return [b[0] if b is not None else ALL for b in before]


def _ptr_transfer(env: Env, i: int, state: tuple, fps: dict, must: dict) -> tuple:
    ptrs, slots = state
    insn, info = env.insns[i], env.infos[i]
    k, x, d, s = info.kind, bool(insn.opcode & isa.X), insn.dst, insn.src
    if k == "mov":
        return (ptrs | {d} if x and s in ptrs else ptrs - {d}), slots
    if k in ("movsx", "neg", "end", "bswap"):
        return ptrs - {d}, slots
    if k == "alu":
        return (ptrs | {d} if x and s in ptrs else ptrs), slots
    if k in ("load", "loadsx"):
        if k == "loadsx" or info.size < 4:
            return ptrs - {d}, slots
        if s in must:  # surely a fill: a pointer only if one may have been spilled there
            touched = _spis(fps[s], insn.off, info.size)
            maybe = touched is None or bool(touched & slots)
            return (ptrs | {d} if maybe else ptrs - {d}), slots
        return ptrs | {d}, slots  # context fields that are pointers (data, sk...)
    if k == "store_reg" and d in fps:
        touched = _spis(fps[d], insn.off, info.size)
        if touched is None:
            return ptrs, (ALL_SLOTS if s in ptrs else slots)
        if s in ptrs:
            return ptrs, slots | touched
        return ptrs, (slots - touched if _overwrites(must, d, insn.off, info.size) else slots)
    if k == "lddw":
        is_ptr = insn.src != 0 or i in env.maps or i in env.unknown_maps
        return (ptrs | {d} if is_ptr else ptrs - {d}), slots
    if k == "call":
        return (ptrs - set(range(6))) | {0}, (ALL_SLOTS if _enters_code(env, insn) else slots)
    if k in ("ld_abs", "ld_ind"):
        return ptrs - set(range(6)), slots
    if k == "atomic":
        return ptrs | ({0} if info.op == "cmpxchg" else {s}), slots
    return ptrs, slots


def _enters_code(env: Env, insn) -> bool:
    """A bpf-to-bpf call, or a helper that calls back into the program (``bpf_loop``...):
    that code may read and write any slot of this frame through a pointer it is given."""
    if insn.src != isa.CALL_HELPER:
        return True
    proto = protos.proto_for(env.prog_type, insn.imm, env.priv, env.attach)
    return proto is None or proto.name in protos.CALLBACK


def _helper_uses(env: Env, insn) -> frozenset:
    """The argument registers of a helper call whose value can matter."""
    proto = protos.proto_for(env.prog_type, insn.imm, env.priv, env.attach)
    if proto is None or proto.name in _SPECIAL_HELPERS:
        return frozenset({1, 2, 3, 4, 5})
    return frozenset(i + 1 for i, a in enumerate(proto.args) if a.kind != "ANYTHING")


def _rel_transfer(env: Env, i: int, out: frozenset, ptrs: frozenset) -> frozenset:
    """``relevant before i`` from ``relevant after i``."""
    insn, info = env.insns[i], env.infos[i]
    k, x = info.kind, bool(insn.opcode & isa.X)
    d, s = insn.dst, insn.src
    if k == "jcond":
        return out | ({d, s} if x else {d})
    if k == "alu":
        need = set(out)
        if d in out:
            need |= {d, s} if x else {d}
        if x and (d in ptrs or s in ptrs):  # pointer arithmetic: the scalar operand matters
            need |= {d, s}
        return frozenset(need)
    if k in ("mov", "movsx"):
        rest = out - {d}
        return rest | {s} if x and d in out else rest
    if k in ("neg", "end", "bswap", "lddw"):
        return out - {d}
    if k in ("load", "loadsx"):
        return (out - {d}) | {s}
    if k == "store_imm":
        return out | {d}
    if k == "store_reg":  # a stored value only matters if a stack slot keeps it (see below)
        return out | {d}
    if k == "atomic":
        return out | {d, s} | ({0} if info.op == "cmpxchg" else set())
    if k == "call":
        if insn.src == isa.CALL_HELPER:
            return (out - set(range(6))) | _helper_uses(env, insn)
        return (out - set(range(6))) | {1, 2, 3, 4, 5}
    if k in ("ld_abs", "ld_ind"):
        return (out - set(range(6))) | {6} | ({s} if k == "ld_ind" else set())
    if k == "exit":
        return out | {0} if _exit_checks_r0(env, i) else out
    return out


def _exit_checks_r0(env: Env, i: int) -> bool:
    """Whether R0's scalar value at exit ``i`` can matter: a subprogram's or callback's R0 goes
    on to its caller; the main program's only where ``check_return_code`` has a range for the
    program type (elsewhere it only refuses a pointer, which pruning compares by type)."""
    from kernel_lsp.ebpf.verify.dataflow.calls import return_range

    return env.subprog_of(i) != 0 or return_range(env) is not None


def relevant_regs(env: Env) -> tuple[list[frozenset], list[frozenset]]:
    """``(regs, slots)``: per slot index, the registers and the current frame's stack slots
    (``spi``: slot ``k`` holds ``fp-8*(k+1) .. fp-8*k-1``) whose value may matter from there."""
    n = len(env.insns)
    if not env.bpf_capable:
        return [ALL] * n, [ALL_SLOTS] * n
    fps = _fp_offsets(env)
    musts = _fp_offsets(env, must=True)
    ptrs = _may_pointer(env, fps, musts)
    consts = _consts(env)
    starts = list(isa.slot_starts(env.insns))
    succs = {i: [s for s in _successors(env, i) if 0 <= s < n] for i in starts}
    rel: list[frozenset] = [frozenset()] * n
    slots: list[frozenset] = [frozenset()] * n
    changed = True
    while changed:
        changed = False
        for i in reversed(starts):
            out = frozenset().union(*(rel[s] for s in succs[i]))
            out_slots = frozenset().union(*(slots[s] for s in succs[i]))
            new_slots, extra = _slot_transfer(env, i, out, out_slots, fps[i], musts[i],
                                              consts[i])
            new = _rel_transfer(env, i, out, ptrs[i]) | extra
            if new != rel[i] or new_slots != slots[i]:
                rel[i], slots[i], changed = new, new_slots, True
    return rel, slots


def _fp_offsets(env: Env, must: bool = False) -> list[dict]:
    """Forward: for each register that may point into the current frame's stack, the set of
    its possible constant offsets from R10 (or ``TOP``). With ``must``: only the registers that
    point into it on every path (a store through one of them surely overwrites its slots)."""
    before = _forward(env, lambda s: {10: frozenset({0})} | (
        {r: TOP for r in range(1, 6)} if s else {}), _fp_transfer,
        _fp_meet if must else _fp_join)
    if must:
        return [b if b is not None else {} for b in before]
    return [b if b is not None else {r: TOP for r in range(11)} for b in before]


def _fp_meet(a: dict, b: dict) -> dict:
    """Where paths meet, for the ``must`` form: the registers that are stack pointers on both."""
    return {r: v for r, v in _fp_join(a, b).items() if r in a and r in b}


def _overwrites(must: dict, d: int, off: int, size: int) -> bool:
    """A store of ``size`` bytes at ``d + off`` surely overwrites one whole stack slot."""
    offsets = must.get(d)
    return (offsets is not None and offsets != TOP and len(offsets) == 1 and size == 8
            and (next(iter(offsets)) + off) % 8 == 0)


def _forward(env: Env, entry, transfer, join) -> list[dict | None]:
    """A forward fixpoint over the instructions: ``entry(start)`` at each subprogram start,
    ``transfer(env, i, state)`` through instruction ``i``, ``join(old, new)`` where paths
    meet; None where no path reaches."""
    n = len(env.insns)
    starts = list(isa.slot_starts(env.insns))
    before: list[dict | None] = [None] * n
    for s in env.subprog_starts:
        before[s] = entry(s)
    changed = True
    while changed:
        changed = False
        for i in starts:
            if before[i] is None:
                continue
            after = transfer(env, i, before[i])
            for s in _successors(env, i):
                if 0 <= s < n:
                    new = after if before[s] is None else join(before[s], after)
                    if new != before[s]:
                        before[s], changed = new, True
    return before


def _fp_join(a: dict, b: dict) -> dict:
    out = {}
    for r in set(a) | set(b):
        x, y = a.get(r), b.get(r)
        if x is None or y is None:
            out[r] = x if y is None else y
        elif x == TOP or y == TOP or len(x | y) > _MAX_OFFSETS:
            out[r] = TOP
        else:
            out[r] = x | y
    return out


def _fp_transfer(env: Env, i: int, fps: dict) -> dict:
    insn, info = env.insns[i], env.infos[i]
    k, x = info.kind, bool(insn.opcode & isa.X)
    d, s = insn.dst, insn.src
    out = dict(fps)
    if k == "mov":
        out.pop(d, None)
        if x and s in fps:
            out[d] = fps[s]
    elif k == "alu" and (d in fps or (x and s in fps)):
        cur = fps.get(d)
        if not x and info.op in ("add", "sub") and cur not in (None, TOP):
            delta = insn.imm if info.op == "add" else -insn.imm
            out[d] = frozenset(o + delta for o in cur)
        else:
            out[d] = TOP
    elif k in ("movsx", "neg", "end", "bswap", "lddw"):
        out.pop(d, None)
    elif k in ("load", "loadsx"):
        out.pop(d, None)
        if s in fps and info.size == 8 and k == "load":
            out[d] = TOP  # a spilled stack pointer may come back
    elif k in ("call", "ld_abs", "ld_ind"):
        for r in range(6):
            out.pop(r, None)
    elif k == "atomic" and d in fps:
        out[0 if info.op == "cmpxchg" else s] = TOP
    return out


def _spis(offsets, off: int, size: int) -> frozenset | None:
    """Stack slots touched by ``size`` bytes at ``base + off`` (None: cannot tell)."""
    if offsets == TOP:
        return None
    out = set()
    for o in offsets:
        lo, hi = o + off, o + off + size
        if lo < -512 or hi > 0:
            return None
        out |= {(-b - 1) // 8 for b in range(lo, hi)}
    return frozenset(out)


def _slot_transfer(env: Env, i: int, out_regs: frozenset, out: frozenset,
                   fps: dict, must: dict, consts: dict) -> tuple[frozenset, frozenset]:
    """``(slots relevant before i, extra registers relevant before i)``."""
    insn, info = env.insns[i], env.infos[i]
    k, d, s = info.kind, insn.dst, insn.src
    if k in ("load", "loadsx") and s in fps:
        touched = _spis(fps[s], insn.off, info.size)
        if touched is None:
            return ALL_SLOTS, frozenset()
        return (out | touched if d in out_regs or info.size < 8 else out), frozenset()
    if k in ("store_reg", "store_imm") and d in fps:
        touched = _spis(fps[d], insn.off, info.size)
        if touched is None:
            return out, frozenset({s}) if k == "store_reg" else frozenset()
        extra = frozenset({s}) if k == "store_reg" and touched & out else frozenset()
        return (out - touched if _overwrites(must, d, insn.off, info.size) else out), extra
    if k == "atomic" and d in fps:
        touched = _spis(fps[d], insn.off, info.size)
        return (ALL_SLOTS if touched is None else out | touched), frozenset()
    if k == "call":
        if _enters_code(env, insn):
            return ALL_SLOTS, frozenset()
        proto = protos.proto_for(env.prog_type, insn.imm, env.priv, env.attach)
        nargs = 5 if proto is None else len(proto.args)
        args = [fps[r] for r in range(1, nargs + 1) if r in fps]
        if any(a == TOP for a in args):
            return ALL_SLOTS, frozenset()
        if args:  # the bytes a helper may read or write through its stack pointers
            return out | _helper_spis(env, insn, proto, fps, consts), frozenset()
    return out, frozenset()


def _helper_spis(env: Env, insn, proto, fps: dict, consts: dict) -> frozenset:
    """Slots reachable through a helper's stack pointer arguments: ``[ptr, ptr + size)`` when
    the next argument is a constant size, else everything from the pointer to the frame top."""
    out: set[int] = set()
    for r in range(1, (5 if proto is None else len(proto.args)) + 1):
        if r not in fps:
            continue
        size = None
        if proto is not None and r < len(proto.args) and proto.args[r].is_size:
            size = consts.get(r + 1)
        for o in fps[r]:
            hi = 0 if size is None or size > 512 else min(0, o + size)
            out |= {(-b - 1) // 8 for b in range(o, hi) if -512 <= b < 0}
    return frozenset(out)


def _consts(env: Env) -> list[dict]:
    """Forward: registers known to hold one constant (for helpers' size arguments)."""
    before = _forward(env, lambda s: {}, _const_transfer,
                      lambda old, new: {r: v for r, v in old.items() if new.get(r) == v})
    return [b if b is not None else {} for b in before]


def _const_transfer(env: Env, i: int, consts: dict) -> dict:
    insn, info = env.insns[i], env.infos[i]
    k, x, d = info.kind, bool(insn.opcode & isa.X), insn.dst
    out = dict(consts)
    if k in ("call", "ld_abs", "ld_ind"):
        return {r: v for r, v in out.items() if r > 5}
    if k == "atomic":
        out.pop(0 if info.op == "cmpxchg" else insn.src, None)
        return out
    if info.dst.writes:
        out.pop(d, None)
        if k == "mov" and not x:
            out[d] = insn.imm & (M64 if info.width == 64 else 0xFFFFFFFF)
        elif k == "mov" and insn.src in consts:
            out[d] = consts[insn.src]
    return out
