"""State pruning: when a path's state is covered by one already proven safe, stop exploring it.

``states_equal(env, old, cur, live)`` is the Linux verifier's comparison (``regsafe``,
``stacksafe``, ``refsafe``): ``old`` covers ``cur`` when every register and stack slot that the
rest of the program may read is at least as constrained in ``old``. Where Linux knows which
registers the continuation really read (liveness marks) and which scalars matter (precision
marks), we use a static over-approximation: the registers possibly read before being written
on some path from the instruction (:func:`live_regs`), and every scalar treated as precise. Both
only make fewer states equal, so pruning stays sound; it may explore more states than Linux.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow.bounds import range_within
from kernel_lsp.ebpf.verify.dataflow.env import Env
from kernel_lsp.ebpf.verify.dataflow.regs import (
    MAYBE_NULL,
    NOT_INIT,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_PACKET,
    PTR_TO_PACKET_META,
    PTR_TO_STACK,
    SCALAR,
    Reg,
)
from kernel_lsp.ebpf.verify.dataflow.state import INVALID, MISC, REG_SIZE, ZERO, FuncState, VState

ALL_REGS = frozenset(range(10))


def _uses_defs(insn, info) -> tuple[frozenset, frozenset]:
    """Registers an instruction reads and writes (R10 ignored: it never changes)."""
    if info is None:
        return frozenset(), frozenset()
    k, x = info.kind, bool(insn.opcode & isa.X)
    if k in ("alu", "neg", "end", "bswap"):
        return frozenset({insn.dst, insn.src} if x and k == "alu" else {insn.dst}), \
            frozenset({insn.dst})
    if k in ("mov", "movsx"):
        return frozenset({insn.src} if x else set()), frozenset({insn.dst})
    if k == "jcond":
        return frozenset({insn.dst, insn.src} if x else {insn.dst}), frozenset()
    if k in ("load", "loadsx"):
        return frozenset({insn.src}), frozenset({insn.dst})
    if k == "store_imm":
        return frozenset({insn.dst}), frozenset()
    if k == "store_reg":
        return frozenset({insn.dst, insn.src}), frozenset()
    if k == "atomic":
        uses = {insn.dst, insn.src} | ({0} if info.op == "cmpxchg" else set())
        defs = {0} if info.op == "cmpxchg" else ({insn.src} if insn.imm & 1 else set())
        return frozenset(uses), frozenset(defs)
    if k == "lddw":
        return frozenset(), frozenset({insn.dst})
    if k in ("ld_abs", "ld_ind"):
        return frozenset({6} | ({insn.src} if k == "ld_ind" else set())), frozenset(range(6))
    if k == "call":
        return frozenset({1, 2, 3, 4, 5}), frozenset(range(6))
    if k == "exit":
        return frozenset({0}), frozenset()
    return frozenset(), frozenset()


def live_regs(env: Env) -> list[frozenset]:
    """``live[i]``: registers possibly read before written on some path from slot ``i``."""
    insns, infos = env.insns, env.infos
    n = len(insns)
    succs: list[list[int]] = [[] for _ in range(n)]
    ud = [(frozenset(), frozenset())] * n
    for i in isa.slot_starts(insns):
        insn, info = insns[i], infos[i]
        ud[i] = _uses_defs(insn, info)
        k = info.kind if info else ""
        size = 2 if k == "lddw" else 1
        if k == "exit":
            continue
        if k == "ja":
            succs[i] = [i + 1 + (insn.imm if info.op == "gotol" else insn.off)]
        elif k == "jcond":
            succs[i] = [i + 1, i + 1 + insn.off]
        else:
            succs[i] = [i + size]
    live = [frozenset()] * n
    changed = True
    while changed:
        changed = False
        for i in reversed(range(n)):
            out = frozenset().union(*(live[s] for s in succs[i] if 0 <= s < n))
            uses, defs = ud[i]
            new = uses | (out - defs)
            if new != live[i]:
                live[i], changed = new, True
    return live


def _ids(idmap: dict, old: int, cur: int) -> bool:
    """``check_ids``: the registers ``old`` links by one id are linked by one id in ``cur``.
    An id of 0 in ``cur`` links nothing, so it stands for an id of its own (Linux 6.5's
    ``check_scalar_ids``): two registers linked in ``old`` but in neither in ``cur`` differ."""
    if not old:
        return True
    if not cur:
        cur = object()
    if old in idmap:
        return idmap[old] == cur
    idmap[old] = cur
    return True


def _head(r: Reg) -> tuple:
    """The fields before ``id`` in ``bpf_reg_state`` (type, off and the union)."""
    return (r.type, r.off, r.range, r.map, r.map_uid, r.mem_size, r.subprogno, r.btf_name)


def regsafe(env: Env, old: Reg, cur: Reg, idmap: dict) -> bool:
    equal = old.same(cur)
    if old.type == PTR_TO_STACK:
        return equal and old.frameno == cur.frameno
    if old.type == NOT_INIT:
        return True
    if equal:  # the ids too must map as the others' do (Linux 6.5's fix: regs_exact)
        return _ids(idmap, old.id, cur.id)
    if cur.type == NOT_INIT:
        return False
    base = old.base
    if base == SCALAR:
        if env.explore_alu_limits or cur.type != SCALAR:
            return False
        if old.id and not _ids(idmap, old.id, cur.id):
            return False  # linked scalars must stay linked (Linux 6.4's fix of regsafe)
        return range_within(old, cur) and old.var.contains(cur.var)
    if base in (PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE):
        if old.type & MAYBE_NULL:
            return bool(cur.type & MAYBE_NULL) and _head(old) == _head(cur) and \
                _ids(idmap, old.id, cur.id)
        # the id of a value with a bpf_spin_lock names the lock (Linux 6.5 compares it too)
        return _head(old) == _head(cur) and range_within(old, cur) and \
            old.var.contains(cur.var) and _ids(idmap, old.id, cur.id)
    if base in (PTR_TO_PACKET, PTR_TO_PACKET_META):
        if cur.type != old.type:
            return False
        if old.range < 0 or cur.range < 0:
            if old.range != cur.range:
                return False
        elif old.range > cur.range:
            return False
        if old.off != cur.off or (old.id and not _ids(idmap, old.id, cur.id)):
            return False
        return range_within(old, cur) and old.var.contains(cur.var)
    return False


def stacksafe(env: Env, old: FuncState, cur: FuncState, idmap: dict,
              slots: frozenset | None = None) -> bool:
    """``stacksafe``; ``slots`` (when known) are the only slots whose value the rest may
    observe. A fill of another slot still hands over its type (a pointer where the other has
    a scalar), so a slot where either state spilled a pointer is compared all the same."""
    for i in range(old.allocated):
        spi, j = divmod(i, REG_SIZE)
        if slots is not None and spi not in slots and not _spills_pointer(old, spi) and \
                not _spills_pointer(cur, spi):
            continue
        kind = old.stack[spi].types[j]
        if kind == INVALID or (env.allow_uninit_stack and kind == MISC):
            continue
        if i >= cur.allocated:
            return False
        ckind = cur.stack[spi].types[j]
        if kind == MISC and ckind == ZERO:
            continue
        if kind != ckind:
            return False
        if j == REG_SIZE - 1 and old.stack[spi].is_spill and not regsafe(
                env, old.stack[spi].spilled, cur.stack[spi].spilled, idmap):
            return False
    return True


def _spills_pointer(frame: FuncState, spi: int) -> bool:
    return spi < len(frame.stack) and frame.stack[spi].is_spill and \
        frame.stack[spi].spilled.type != SCALAR


def func_equal(env: Env, old: FuncState, cur: FuncState, live, relevant,
               slots: frozenset | None = None, idmap: dict | None = None) -> bool:
    """``func_states_equal``; ``idmap`` is shared by the frames of one state, since a scalar
    id links registers of different frames (an argument and the caller's copy of it)."""
    idmap = {} if idmap is None else idmap
    for i in range(11):
        if i < 10 and i not in live:
            continue
        o, c = old.regs[i], cur.regs[i]
        if i < 10 and i not in relevant and o.type == SCALAR and c.type == SCALAR:
            continue  # an imprecise scalar: its value cannot matter from here on
        if not regsafe(env, o, c, idmap):
            return False
    return stacksafe(env, old, cur, idmap, slots) and old.refs == cur.refs


def frame_live(live: list[frozenset], st: VState, insn_idx: int, frame: int) -> frozenset:
    """Live registers of frame ``frame`` of a state about to run ``insn_idx``."""
    if frame == st.curframe:
        return live[insn_idx] if insn_idx < len(live) else ALL_REGS
    ret = st.frames[frame + 1].callsite + 1
    after = live[ret] if 0 <= ret < len(live) else ALL_REGS
    return after - {0, 1, 2, 3, 4, 5}


def states_equal(env: Env, old: VState, cur: VState, live: list[frozenset],
                 insn_idx: int, relevant: tuple | None = None) -> bool:
    """``states_equal``; ``relevant`` (:func:`relevance.relevant_regs`: registers, slots) names
    the scalars and the current frame's stack slots that can still matter."""
    if old.curframe != cur.curframe:
        return False
    if old.speculative and not cur.speculative:
        return False
    if old.active_spin_lock != cur.active_spin_lock:
        return False
    idmap: dict = {}
    if old.active_spin_lock:  # the held lock is the value of that id in both states
        _ids(idmap, old.active_spin_lock, cur.active_spin_lock)
    for i, (fo, fc) in enumerate(zip(old.frames, cur.frames, strict=True)):
        if fo.callsite != fc.callsite:
            return False
        rel = ALL_REGS if relevant is None else frame_live(relevant[0], cur, insn_idx, i)
        slots = None
        if relevant is not None and i == cur.curframe and insn_idx < len(relevant[1]):
            slots = relevant[1][insn_idx]
        if not func_equal(env, fo, fc, frame_live(live, cur, insn_idx, i), rel, slots, idmap):
            return False
    return True


def maybe_looping(old: VState, cur: VState) -> bool:
    """``states_maybe_looping``: the current frames' registers are identical.

    Not when a callback frame of ``cur`` is another call of the callback than ``old``'s (each
    entry, the first or one made by :func:`calls.callback_reentry`, has its own
    ``callback_entry`` tuple): the path between them left the callback and the helper called
    it again, which the helper bounds (``bpf_loop``'s count, the map's elements). A loop inside
    one call is still seen, its states sharing their entry."""
    if old.curframe != cur.curframe:
        return False
    for a, b in zip(old.frames, cur.frames, strict=True):
        if a.callback_entry is not b.callback_entry:
            return False
    for a, b in zip(old.cur.regs, cur.cur.regs, strict=True):
        if not a.same(b):
            return False
    return True
