"""The path walk: explore every path of the program on abstract states, with state pruning.

``Walker.run()`` is ``do_check`` of Linux 6.1: it executes one instruction at a time on the
current path's :class:`~kernel_lsp.ebpf.verify.dataflow.state.VState`, keeps the other side of
each undecided branch on a stack, and at prune points (jump targets, branches, call returns)
compares the state with the checkpoints already stored there: a state covered by a fully
explored checkpoint is safe and its path ends; one equal to a checkpoint of the same loop still
being explored is an infinite loop. Bounded loops are walked iteration by iteration, up to the
kernel's limit of 1,000,000 processed instructions. The first violation raises ``Reject``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.disasm import format_insn
from kernel_lsp.ebpf.helpers import HELPER_IDS
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.ebpf.verify.dataflow import (
    alu,
    branch,
    calls,
    helpercall,
    log,
    mem,
    prune,
    relevance,
)
from kernel_lsp.ebpf.verify.dataflow.env import (
    COMPLEXITY_LIMIT_INSNS,
    COMPLEXITY_LIMIT_JMP_SEQ,
    Env,
    reject,
)
from kernel_lsp.ebpf.verify.dataflow.regs import (
    PTR_TO_BTF_ID,
    PTR_TO_CTX,
    PTR_TO_FLOW_KEYS,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_TCP_SOCK,
    PTR_TO_XDP_SOCK,
    SOCK_TYPES,
    base,
    const,
    pointer_value,
    type_str,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.state import VState, initial_state

_NO_MIX = (PTR_TO_CTX, PTR_TO_SOCKET, PTR_TO_SOCK_COMMON, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK,
           PTR_TO_BTF_ID)
COMPLEXITY_LIMIT_STATES = 64


@dataclass(frozen=True, slots=True)
class AbstractState:
    """One abstract state before an instruction: the log text and register -> value."""

    text: str
    registers: dict[str, str]


@dataclass(slots=True)
class Checkpoint:
    state: VState
    hit: int = 0
    miss: int = 0


class Walker:
    def __init__(self, env: Env, program: Program):
        self.env = env
        self.program = program
        self.live = prune.live_regs(env)
        self.relevant = relevance.relevant_regs(env)
        self.prune_points = _prune_points(env)
        self.explored: dict[int, list[Checkpoint]] = defaultdict(list)
        self.stack: list[tuple[VState, int, int]] = []

    # ---- the main loop ----------------------------------------------------------------------
    def run(self) -> None:
        env = self.env
        st, idx = initial_state(), 0
        limit, points = env.options.max_processed, self.prune_points
        while True:
            env.processed += 1
            if env.processed > limit:
                raise _too_large(env.processed, limit)
            env.insn_idx = idx
            if idx in points and self._visited(st, idx):
                self._note(f"{idx}: safe")
                nxt = self._path_done(st)
            else:
                st.reentry = False
                self._record(st, idx)
                nxt = self._step(st, idx)
                if env.spec_pushes:
                    self._speculate(st)
            if nxt is None:
                nxt = self._path_done(st)
                if nxt is None:
                    return
            if isinstance(nxt, tuple):
                st, idx = nxt
            else:
                env.prev_insn_idx, idx = idx, nxt

    def _path_done(self, st: VState):
        """The current path ended: count it down, then continue with a pushed branch."""
        p = st.parent
        while p is not None:
            p.branches -= 1
            if p.branches:
                break
            p = p.parent
        if not self.stack:
            return None
        nst, idx, prev = self.stack.pop()
        self._note(f"from {prev} to {idx}{' (speculative execution)' if nst.speculative else ''}:"
                   f" {log.state_text(nst)}")
        return nst, idx

    def _push(self, st: VState, idx: int, prev: int, speculative: bool = False) -> VState:
        new = st.copy()
        new.speculative |= speculative
        if new.parent is not None:
            new.parent.branches += 1
        self.stack.append((new, idx, prev))
        if len(self.stack) > COMPLEXITY_LIMIT_JMP_SEQ:
            raise reject("E502", f"The sequence of {len(self.stack)} jumps is too complex.")
        return new

    # ---- pruning ----------------------------------------------------------------------------
    def _visited(self, st: VState, idx: int) -> bool:
        env = self.env
        add_new = env.options.test_state_freq or st.reentry or (
            env.jmps_processed - env.prev_jmps >= 2 and env.processed - env.prev_processed >= 8)
        kept: list[Checkpoint] = []
        checkpoints = self.explored[idx]
        for n, cp in enumerate(checkpoints):
            old = cp.state
            if old.branches and st.reentry:
                # a callback called again: an entry covered by one still being walked adds
                # nothing (the helper, not the callback, bounds the number of calls)
                if prune.states_equal(env, old, st, self.live, idx, self.relevant):
                    cp.hit += 1
                    self.explored[idx] = kept + checkpoints[n:]
                    return True
            elif old.branches:
                if prune.maybe_looping(old, st) and prune.states_equal(
                        env, old, st, self.live, idx, self.relevant):
                    raise reject("E501", f"infinite loop detected at insn {idx}")
                if (env.jmps_processed - env.prev_jmps < 20
                        and env.processed - env.prev_processed < 100):
                    add_new = False
            elif prune.states_equal(env, old, st, self.live, idx, self.relevant):
                cp.hit += 1
                self.explored[idx] = kept + checkpoints[n:]
                return True
            if add_new:
                cp.miss += 1
            if cp.miss <= cp.hit * 3 + 3:
                kept.append(cp)
        self.explored[idx] = kept
        if not env.bpf_capable and len(kept) > COMPLEXITY_LIMIT_STATES:
            return False
        if add_new:
            new = st.copy()
            new.branches = 1
            new.parent = st.parent
            st.parent = new
            env.prev_jmps, env.prev_processed = env.jmps_processed, env.processed
            self.explored[idx].insert(0, Checkpoint(new))
        return False

    # ---- one instruction --------------------------------------------------------------------
    def _step(self, st: VState, idx: int):
        env = self.env
        insn, info = env.insns[idx], env.infos[idx]
        kind = info.kind
        if kind in ("alu", "mov", "movsx", "neg", "end", "bswap"):
            alu.check_alu(env, st, insn, info)
        elif kind in ("load", "loadsx"):
            alu.read_reg(st, insn.src)
            src_type = st.regs[insn.src].type
            mem.mem_access(env, st, insn.src, insn.off, info.size, False, insn.dst)
            if kind == "loadsx":
                st.regs[insn.dst] = unknown()
            self._same_type(idx, src_type)
        elif kind == "store_reg":
            alu.read_reg(st, insn.src)
            alu.read_reg(st, insn.dst)
            dst_type = st.regs[insn.dst].type
            mem.mem_access(env, st, insn.dst, insn.off, info.size, True, insn.src)
            self._same_type(idx, dst_type)
        elif kind == "store_imm":
            alu.read_reg(st, insn.dst)
            if st.regs[insn.dst].type == PTR_TO_CTX:
                raise reject("E308", f"BPF_ST stores into R{insn.dst} ctx is not allowed")
            mem.mem_access(env, st, insn.dst, insn.off, info.size, True, -1, imm=insn.imm)
        elif kind == "atomic":
            self._atomic(st, insn, info)
        elif kind == "lddw":
            calls.ld_imm(env, st, insn, idx)
            return idx + 2
        elif kind in ("ld_abs", "ld_ind"):
            if calls.ld_abs(env, st, insn, info):
                self._push(st, idx + 1, idx)
                st.regs[0] = const(0)
                return self._exit(st, idx)  # the hidden exit (a callback's too: called again)
        else:
            return self._jump(st, idx, insn, info)
        return idx + 1

    def _same_type(self, idx: int, t: int) -> None:
        prev = self.env.ptr_type.setdefault(idx, t)
        if prev != t and (base(prev) in _NO_MIX or base(t) in _NO_MIX):
            raise reject("E311", "same insn cannot be used with different pointers")

    def _atomic(self, st: VState, insn, info) -> None:
        env = self.env
        alu.read_reg(st, insn.src)
        alu.read_reg(st, insn.dst)
        if info.op == "cmpxchg":
            alu.read_reg(st, 0)
            if pointer_value(st.regs[0], env.allow_ptr_leaks):
                raise reject("E306", "R0 leaks addr into mem")
        if pointer_value(st.regs[insn.src], env.allow_ptr_leaks):
            raise reject("E306", f"R{insn.src} leaks addr into mem")
        dst = st.regs[insn.dst]
        if dst.type in (PTR_TO_CTX, PTR_TO_FLOW_KEYS) or dst.is_pkt or dst.type in SOCK_TYPES:
            raise reject("E308", f"BPF_ATOMIC stores into R{insn.dst} {type_str(dst.type)} is "
                                 "not allowed")
        fetch = info.op.startswith("fetch_") or info.op in ("xchg", "cmpxchg")
        load_reg = (0 if info.op == "cmpxchg" else insn.src) if fetch else -1
        mem.mem_access(env, st, insn.dst, insn.off, info.size, False, -1, True)
        if load_reg >= 0:
            mem.mem_access(env, st, insn.dst, insn.off, info.size, False, load_reg, True)
        mem.mem_access(env, st, insn.dst, insn.off, info.size, True, -1, True)

    def _jump(self, st: VState, idx: int, insn, info):
        env = self.env
        kind = info.kind
        env.jmps_processed += 1
        if kind == "ja":
            return idx + 1 + (insn.imm if info.op == "gotol" else insn.off)
        if kind == "exit":
            return self._exit(st, idx)
        if kind == "call":
            if insn.src == isa.CALL_PSEUDO:
                return calls.local_call(env, st, insn, idx)
            if insn.src == isa.CALL_KFUNC:
                raise reject("E299", "kfunc calls need the kernel's BTF, which kernel-lsp does "
                                     "not model")
            if st.active_spin_lock and insn.imm != HELPER_IDS["spin_unlock"]:
                raise reject("E505", "function calls are not allowed while holding a lock")
            target = helpercall.helper_call(env, st, insn, idx)
            if target is None:
                return idx + 1
            self._push(st, idx + 1, idx).frames.pop()  # the callback may never be called
            return target
        taken, fall, decided = branch.cond_jump(env, st, insn, info.op, info.width == 32)
        target = idx + 1 + insn.off
        if decided:
            if not env.bypass_spec_v1:
                other = target if fall is not None else idx + 1
                spec = self._push(st, other, idx, speculative=True)
                spec.regs[insn.dst] = unknown()
                if insn.opcode & isa.X:
                    spec.regs[insn.src] = unknown()
            return target if taken is not None else idx + 1
        self._push_state(taken, target, idx)
        return idx + 1

    def _exit(self, st: VState, idx: int):
        """An exit (or ld_abs's hidden one): a callback's also enters it again."""
        again = None
        if st.curframe and st.cur.callback_entry is not None:
            again = calls.callback_reentry(self.env, st)
        nxt = calls.exit_frame(self.env, st)
        if again is not None:
            self._push_state(again[0], again[1], idx)
        return nxt

    def _push_state(self, other: VState, idx: int, prev: int) -> None:
        if other.parent is not None:
            other.parent.branches += 1
        self.stack.append((other, idx, prev))
        if len(self.stack) > COMPLEXITY_LIMIT_JMP_SEQ:
            raise reject("E502", f"The sequence of {len(self.stack)} jumps is too complex.")

    def _speculate(self, st: VState) -> None:
        for idx, regno, value in self.env.spec_pushes:
            spec = self._push(st, idx, idx - 1, speculative=True)
            spec.regs[regno] = value
        self.env.spec_pushes.clear()

    # ---- explain ------------------------------------------------------------------------------
    def _record(self, st: VState, idx: int) -> None:
        env = self.env
        if env.log is None and env.states_at is None:
            return
        text = log.state_text(st)
        if env.states_at is not None:
            seen = env.states_at.setdefault(idx, [])
            if all(text != s.text for s in seen):
                seen.append(AbstractState(text, log.state_fields(st)))
        self._note(f"{idx}: {text}")
        self._note(f"{idx}: ({env.insns[idx].opcode:02x}) {format_insn(self.program, idx)}")

    def _note(self, line: str) -> None:
        if self.env.log is not None:
            self.env.log.append(line)


def _too_large(processed: int, limit: int):
    if limit >= COMPLEXITY_LIMIT_INSNS:
        return reject("E502", f"BPF program is too large. Processed {processed} insn")
    return reject("E299", f"verification stopped after {limit} processed instructions (a "
                          f"budget below the kernel's {COMPLEXITY_LIMIT_INSNS}): not proven safe")


def _prune_points(env: Env) -> set[int]:
    """Where Linux's ``check_cfg`` marks prune points."""
    points = set()
    for i in isa.slot_starts(env.insns):
        insn, info = env.insns[i], env.infos[i]
        if info is None:
            continue
        if isa.is_func_ref(insn):
            points |= {i, i + 2, i + insn.imm + 1}
        elif info.kind == "call":
            points.add(i + 1)
            if insn.src == isa.CALL_PSEUDO:
                points |= {i, i + insn.imm + 1}
            if insn.src == 0 and insn.imm == HELPER_IDS["timer_set_callback"]:
                points.add(i)
        elif info.kind == "ja":
            points.add(i + 1 + (insn.imm if info.op == "gotol" else insn.off))
        elif info.kind == "jcond":
            points |= {i, i + 1 + insn.off}
    return points


__all__ = ["Walker", "base", "type_str"]
