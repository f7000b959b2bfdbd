"""Tier T1: control-flow checks — subprograms, jump ranges, reachability, loops, call depth.

Follows the Linux 6.1 order and rules: ``add_subprog_and_kfunc`` (subprogram starts from
bpf-to-bpf calls and ``lddw`` of a function), ``check_subprogs`` (jumps stay inside their
subprogram; each subprogram ends with ``exit`` or ``ja``), ``check_cfg`` (a depth-first search
from insn 0 that follows calls into callees; back-edges, unreachable slots, jumps into the second
slot of a ``lddw``) and ``check_max_stack_depth`` (call chains of at most 8 frames). Unlike the
kernel, which stops at the first error, each phase reports every problem it finds: all
back-edges, and one ``unreachable insn`` per maximal run of unreachable slots.
Assumes the encoding phase found nothing fatal (known opcodes, well-formed lddw pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn

JMP, JMP32 = 0x05, 0x06
EXIT_OPS = (isa.EXIT_OPCODE, isa.JA_OPCODE, isa.GOTOL_OPCODE)
MAX_CALL_FRAMES = 8
_DISCOVERED, _EXPLORED = 1, 2


is_lddw, is_local_call, is_func_ref = isa.is_lddw, isa.is_local_call, isa.is_func_ref


def jump_target(insn: Insn, i: int) -> int | None:
    """Target slot of a jump at ``i`` (``gotol`` uses imm), ``None`` if not a jump."""
    if insn.cls not in (JMP, JMP32) or (insn.opcode & 0xF0) in (isa.CALL, isa.EXIT):
        return None
    return i + (insn.imm if insn.opcode == isa.GOTOL_OPCODE else insn.off) + 1


@dataclass(slots=True)
class Subprogs:
    """Sorted subprogram start indices plus the calls between them."""

    starts: list[int]
    count: int  # total slots

    def end(self, k: int) -> int:
        return self.starts[k + 1] if k + 1 < len(self.starts) else self.count

    def index_of(self, slot: int) -> int:
        """The subprogram containing ``slot``."""
        k = 0
        while k + 1 < len(self.starts) and self.starts[k + 1] <= slot:
            k += 1
        return k


def find_subprogs(insns: list[Insn]) -> tuple[Subprogs, list[BpfFinding]]:
    """Subprogram starts; calls to destinations outside the program are ``E106``."""
    starts, found = {0}, []
    for i, insn in enumerate(insns):
        if not (is_local_call(insn) or is_func_ref(insn)):
            continue
        dest = i + insn.imm + 1
        if not 0 <= dest < len(insns):
            found.append(finding_at("E106", i, "call to invalid destination"))
        else:
            starts.add(dest)
    return Subprogs(sorted(starts), len(insns)), found


def check_subprogs(insns: list[Insn], subs: Subprogs) -> list[BpfFinding]:
    """Jumps stay within their subprogram (``E101``); each one ends in exit/ja (``E103``)."""
    found = []
    for k, start in enumerate(subs.starts):
        end = subs.end(k)
        for i in range(start, end):
            target = jump_target(insns[i], i)
            if target is not None and not start <= target < end:
                found.append(finding_at("E101", i,
                                        f"jump out of range from insn {i} to {target}"))
        if end > start and insns[end - 1].opcode not in EXIT_OPS:
            found.append(finding_at("E103", end - 1, "last insn is not an exit or jmp"))
    return found


def _edges(insns: list[Insn], t: int) -> list[tuple[int, bool]]:
    """Successors of slot ``t`` as ``(w, loop_ok)``, in the kernel's visiting order."""
    insn = insns[t]
    size = 2 if is_lddw(insn) else 1
    if is_func_ref(insn):
        return [(t + size, False), (t + insn.imm + 1, True)]
    if insn.cls not in (JMP, JMP32):
        return [(t + size, False)]
    op = insn.opcode & 0xF0
    if op == 0x90:
        return []
    if op == 0x80:
        edges = [(t + 1, False)]
        return edges + [(t + insn.imm + 1, False)] if is_local_call(insn) else edges
    if op == 0x00:
        return [(jump_target(insn, t), True)]
    return [(t + 1, True), (jump_target(insn, t), True)]


def depth_first(insns: list[Insn], bounded_loops: bool) -> tuple[list[int], list[BpfFinding]]:
    """Iterative DFS from insn 0; returns per-slot state and the back-edge findings."""
    state = [0] * len(insns)
    found = []
    if not insns:
        return state, found
    state[0] = _DISCOVERED
    stack = [(0, iter(_edges(insns, 0)))]
    while stack:
        t, edges = stack[-1]
        for w, loop_ok in edges:
            if not 0 <= w < len(insns):
                continue  # reported by check_subprogs / find_subprogs
            if state[w] == 0:
                state[w] = _DISCOVERED
                stack.append((w, iter(_edges(insns, w))))
                break
            if state[w] == _DISCOVERED and not (loop_ok and bounded_loops):
                found.append(finding_at("E105", t, f"back-edge from insn {t} to {w}"))
        else:
            state[t] = _EXPLORED
            stack.pop()
    return state, found


def check_reachability(insns: list[Insn], state: list[int]) -> list[BpfFinding]:
    """``E104`` once per run of unreachable slots; ``E102`` for jumps into a lddw's 2nd slot."""
    found = []
    i, run_start = 0, None
    while i < len(insns):
        reached = state[i] == _EXPLORED
        if not reached and run_start is None:
            run_start = i
            found.append(finding_at("E104", i, f"unreachable insn {i}"))
        elif reached:
            run_start = None
        if is_lddw(insns[i]) and i + 1 < len(insns):
            if reached and state[i + 1] != 0:
                found.append(finding_at("E102", i, f"jump into the middle of ldimm64 insn {i}"))
            i += 2
        else:
            i += 1
    return found


def _calls_of(insns: list[Insn], subs: Subprogs, k: int) -> list[tuple[int, int]]:
    """``(call slot, callee subprogram)`` for each call or function reference in subprog k."""
    calls = []
    for i in range(subs.starts[k], subs.end(k)):
        insn = insns[i]
        if is_local_call(insn) or is_func_ref(insn):
            dest = i + insn.imm + 1
            if dest in subs.starts:
                calls.append((i, subs.starts.index(dest)))
    return calls


def check_call_depth(insns: list[Insn], subs: Subprogs) -> list[BpfFinding]:
    """``E107`` at the first call that makes a chain from the entry exceed 8 frames."""
    calls = {k: _calls_of(insns, subs, k) for k in range(len(subs.starts))}
    height: dict[int, int] = {}

    def _height(k: int, active: frozenset) -> int:
        if k in height:
            return height[k]
        best = 0
        for _, callee in calls[k]:
            if callee not in active:  # recursion is a back-edge, reported by the DFS
                best = max(best, 1 + _height(callee, active | {k}))
        height[k] = best
        return best

    if _height(0, frozenset()) < MAX_CALL_FRAMES:
        return []
    k, frame, active = 0, 0, frozenset()
    while True:
        slot, callee = max(((s, c) for s, c in calls[k] if c not in active | {k}),
                           key=lambda sc: height.get(sc[1], 0))
        frame += 1
        if frame >= MAX_CALL_FRAMES:
            return [finding_at("E107", slot,
                               f"the call stack of {frame} frames is too deep !")]
        active, k = active | {k}, callee
