"""Which scalar registers can matter for safety: a static stand-in for Linux's precision marks.

Linux prunes a path when a stored state covers it, and ignores scalars whose exact value never
influenced a safety decision (``precise`` marks, found by backtracking). Without them, a program
that computes a value through many independent branches (a hash, a flag word) doubles its paths
at each branch. ``relevant_regs(env)`` computes, per instruction, the registers whose value *as
a scalar* may influence, on some path from there, any decision the verifier makes: a branch,
pointer arithmetic, a memory access, a helper argument (other than ``ARG_ANYTHING``), a value
stored to memory, a call's arguments, the value returned at an exit. It is a backward analysis
that over-approximates (``may``), using a forward analysis of which registers may hold pointers
to spot pointer arithmetic. Two scalars in a register outside that set are interchangeable, so
pruning may treat them as equal; everything else is compared exactly. Unprivileged programs
compare every scalar exactly, as Linux does.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow import protos
from kernel_lsp.ebpf.verify.dataflow.env import Env

ALL = frozenset(range(10))
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


def _may_pointer(env: Env) -> list[frozenset]:
    """Forward: registers that may hold a pointer before each instruction."""
    n = len(env.insns)
    starts = list(isa.slot_starts(env.insns))
    before: list[frozenset | None] = [None] * n
    for s in env.subprog_starts:
        before[s] = frozenset(range(1, 6)) if s else frozenset({1})
    changed = True
    while changed:
        changed = False
        for i in starts:
            if before[i] is None:
                continue
            after = _ptr_transfer(env, i, before[i])
            for s in _successors(env, i):
                if 0 <= s < n:
                    new = after if before[s] is None else before[s] | after
                    if new != before[s]:
                        before[s], changed = new, True
    return [b if b is not None else ALL for b in before]


def _ptr_transfer(env: Env, i: int, ptrs: frozenset) -> frozenset:
    insn, info = env.insns[i], env.infos[i]
    k, x = info.kind, bool(insn.opcode & isa.X)
    if k == "mov":
        return ptrs | {insn.dst} if x and insn.src in ptrs else ptrs - {insn.dst}
    if k in ("movsx", "neg", "end", "bswap"):
        return ptrs - {insn.dst}
    if k == "alu":
        return ptrs | {insn.dst} if x and insn.src in ptrs else ptrs
    if k in ("load", "loadsx"):
        return ptrs | {insn.dst} if info.size >= 4 and k == "load" else ptrs - {insn.dst}
    if k == "lddw":
        is_ptr = insn.src != 0 or i in env.maps or i in env.unknown_maps
        return ptrs | {insn.dst} if is_ptr else ptrs - {insn.dst}
    if k == "call":
        return (ptrs - set(range(6))) | {0}
    if k in ("ld_abs", "ld_ind"):
        return ptrs - set(range(6))
    if k == "atomic":
        return ptrs | ({0} if info.op == "cmpxchg" else {insn.src})
    return ptrs


def _helper_uses(env: Env, insn) -> frozenset:
    """The argument registers of a helper call whose value can matter."""
    proto = protos.proto_for(env.prog_type, insn.imm, env.priv)
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
        if d in out or d in ptrs or (x and s in ptrs):
            need |= {d, s} if x else {d}
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
    if k == "store_reg":
        return out | {d, s}
    if k == "atomic":
        return out | {d, s} | ({0} if info.op == "cmpxchg" else set())
    if k == "call":
        if insn.src == isa.CALL_HELPER:
            return (out - set(range(6))) | _helper_uses(env, insn)
        return (out - set(range(6))) | {1, 2, 3, 4, 5}
    if k in ("ld_abs", "ld_ind"):
        return (out - set(range(6))) | {6} | ({s} if k == "ld_ind" else set())
    if k == "exit":
        return out | {0}
    return out


def relevant_regs(env: Env) -> list[frozenset]:
    """``relevant[i]``: registers whose scalar value may matter from slot ``i`` on."""
    n = len(env.insns)
    if not env.bpf_capable:
        return [ALL] * n
    ptrs = _may_pointer(env)
    starts = list(isa.slot_starts(env.insns))
    succs = {i: [s for s in _successors(env, i) if 0 <= s < n] for i in starts}
    rel: list[frozenset] = [frozenset()] * n
    changed = True
    while changed:
        changed = False
        for i in reversed(starts):
            out = frozenset().union(*(rel[s] for s in succs[i]))
            new = _rel_transfer(env, i, out, ptrs[i])
            if new != rel[i]:
                rel[i], changed = new, True
    return rel
