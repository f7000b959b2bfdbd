"""Calls, exits and the other instructions that end or redirect a frame.

* ``local_call``: a bpf-to-bpf call pushes a frame whose R1-R5 are the caller's (``check_func_call``);
  the callback helpers (``bpf_loop``, ``bpf_for_each_map_elem``, ``bpf_timer_set_callback``) verify
  their callback the same way, with the arguments the kernel passes it.
* ``exit``: reference leaks, return to the caller or the program's return-value range per type
  (``prepare_func_exit``, ``check_return_code``).
* ``ld_abs``: the legacy packet loads (``check_ld_abs``); ``ld_imm``: 64-bit immediates, map
  references and function pointers (``check_ld_imm``).
"""

from __future__ import annotations

from kernel_lsp.ebpf import helpers, isa, lsmhooks
from kernel_lsp.ebpf.verify.dataflow import maps
from kernel_lsp.ebpf.verify.dataflow.alu import read_reg
from kernel_lsp.ebpf.verify.dataflow.bounds import range_within
from kernel_lsp.ebpf.verify.dataflow.env import Env, reject
from kernel_lsp.ebpf.verify.dataflow.memarg import global_mem_arg
from kernel_lsp.ebpf.verify.dataflow.regs import (
    CONST_PTR_TO_MAP,
    MAYBE_NULL,
    NOT_INIT,
    PTR_TO_CTX,
    PTR_TO_FUNC,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_MEM,
    PTR_TO_STACK,
    SCALAR,
    Reg,
    const,
    not_init,
    pointer,
    pointer_value,
    type_str,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.state import (
    CALLER_SAVED,
    INVALID,
    MISC,
    SPILL,
    FuncState,
    Slot,
    VState,
)
from kernel_lsp.ebpf.verify.dataflow.tnum import Tnum, trange

MAX_CALL_FRAMES = 8
_LD_ABS_TYPES = ("socket_filter", "sched_cls", "sched_act")


def check_reference_leak(st: VState) -> None:
    frame = st.cur
    if frame.frameno and not frame.in_callback_fn:
        return
    for rid, insn, cb in frame.refs:
        if frame.in_callback_fn and cb != frame.frameno:
            continue
        raise reject("E503", f"Unreleased reference id={rid} alloc_insn={insn}")


def push_frame(env: Env, st: VState, call_idx: int, target: int) -> FuncState:
    """``__check_func_call``'s frame set-up (the caller's R1-R5 are cleared by the caller)."""
    if st.curframe + 1 >= MAX_CALL_FRAMES:
        raise reject("E107", f"the call stack of {st.curframe + 2} frames is too deep")
    callee = FuncState(call_idx, st.curframe + 1, env.subprog_of(target))
    callee.refs = list(st.cur.refs)
    return callee


def local_call(env: Env, st: VState, insn, idx: int) -> int:
    """``check_func_call``; returns the next instruction (the callee's first)."""
    if st.active_spin_lock:
        raise reject("E505", "function calls are not allowed while holding a lock")
    target = idx + insn.imm + 1
    callee = push_frame(env, st, idx, target)
    glob = env.global_funcs.get(target)
    if glob is not None:  # verified as Linux does, on its own with BTF-typed arguments
        _global_args(env, st, callee, glob, target)
    else:
        for i in range(1, 6):
            callee.regs[i] = st.regs[i].copy()
    for i in CALLER_SAVED:
        st.regs[i] = not_init()
    st.frames.append(callee)
    return target


# The context struct a global function's parameter names to receive the program's context
# (btf_get_prog_ctx_type: the user-visible ctx type of include/linux/bpf_types.h, by name).
CTX_STRUCTS = {
    **{t: "__sk_buff" for t in ("socket_filter", "sched_cls", "sched_act", "cgroup_skb",
                                "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "sk_skb",
                                "flow_dissector")},
    "xdp": "xdp_md", "cgroup_sock": "bpf_sock", "cgroup_sock_addr": "bpf_sock_addr",
    "sock_ops": "bpf_sock_ops", "sk_msg": "sk_msg_md", "cgroup_device": "bpf_cgroup_dev_ctx",
    "cgroup_sysctl": "bpf_sysctl", "cgroup_sockopt": "bpf_sockopt",
    "sk_reuseport": "sk_reuseport_md", "sk_lookup": "bpf_sk_lookup",
    "perf_event": "bpf_perf_event_data", "raw_tracepoint": "bpf_raw_tracepoint_args",
}


def _global_args(env: Env, st: VState, callee: FuncState, glob: tuple, target: int) -> None:
    """``btf_check_subprog_arg_match`` for a global function of scalar and context parameters
    (see ``dataflow._global_call``), then the callee's state as ``do_check_common`` starts it:
    unknown scalars and the context as arguments, no references."""
    name, params, _ = glob
    ctx = CTX_STRUCTS.get(env.prog_type)
    for i, kind in enumerate(params, start=1):
        reg = st.regs[i]
        if kind == "scalar":
            if reg.type != SCALAR:
                raise reject("E303", f"R{i} is not a scalar; Caller passes invalid args into "
                                     f"func {name}")
            callee.regs[i] = unknown()
        elif kind.split("@")[0] != f"struct:{ctx}":  # memory of the pointed type's size
            size = int(kind.split("@")[1])
            global_mem_arg(env, st, i, size)
            callee.regs[i] = pointer(PTR_TO_MEM | MAYBE_NULL, mem_size=size, id=env.new_id())
        else:  # check_ctx_reg: the context itself, at offset 0
            if reg.type != PTR_TO_CTX or reg.off or not reg.var.is_const or reg.var.value:
                raise reject("E303", f"R{i} type={type_str(reg.type)} expected=ctx; Caller "
                                     f"passes invalid args into func {name}")
            callee.regs[i] = reg.copy()
    callee.refs = []
    env.global_entered.add(target)


def global_exit(env: Env, st: VState, callee: FuncState) -> bool:
    """Whether ``callee`` is a global function's frame: it must return a scalar and hold no
    reference (it was verified as a program of its own); the caller gets an unknown scalar."""
    if env.subprog_starts[callee.subprogno] not in env.global_funcs:
        return False
    if callee.regs[0].type == NOT_INIT:
        raise reject("E201", "R0 !read_ok")
    if callee.regs[0].type != SCALAR:
        raise reject("E315", f"At subprogram exit the register R0 is not a scalar value "
                             f"({type_str(callee.regs[0].type)})")
    for rid, insn, _ in callee.refs:
        raise reject("E503", f"Unreleased reference id={rid} alloc_insn={insn}")
    st.frames[-2].regs[0] = unknown()
    return True


def check_globals_walked(env: Env) -> None:
    """Linux verifies every global function, called on a walked path or not."""
    for start, glob in sorted(env.global_funcs.items()):
        if start not in env.global_entered:
            raise reject("E299", f"global function {glob[0]} is called on no path the walk "
                                 "took; Linux verifies it anyway, kernel-lsp did not")


def callback_call(env: Env, st: VState, func: str, subprog_target: int, idx: int) -> int:
    """Verify a helper's callback as a call into ``subprog_target`` (bpf_loop & co)."""
    caller = st.cur
    callee = push_frame(env, st, idx, subprog_target)
    r = caller.regs
    if func == "loop":
        callee.regs[1] = unknown()
        callee.regs[2] = r[3].copy()
    elif func == "for_each_map_elem":
        m = r[1].map
        if m is None or m.kind not in maps.FOR_EACH_MAPS:
            raise reject("E309", "callback function not allowed for map")
        callee.regs[1] = r[1].copy()
        callee.regs[2] = pointer(PTR_TO_MAP_KEY, map=m)
        callee.regs[3] = pointer(PTR_TO_MAP_VALUE, map=m)
        if m is not None and m.spin_lock_off >= 0:  # its id names the element's lock
            callee.regs[3].id = env.new_id()
        callee.regs[4] = r[3].copy()
    else:
        raise reject("E299", f"callbacks of bpf_{func} are not modelled by kernel-lsp")
    callee.in_callback_fn = True
    callee.callback_ret = (0, 1)
    callee.callback_entry = _entry(subprog_target, callee.regs[1:6], st.frames)
    for i in CALLER_SAVED:
        caller.regs[i] = not_init()
    st.frames.append(callee)
    return subprog_target


def _entry(target: int, args, frames) -> tuple:
    return (target, tuple(r.copy() for r in args),
            tuple(tuple(slot.copy() for slot in f.stack) for f in frames))


def callback_reentry(env: Env, st: VState) -> tuple[VState, int]:
    """The state of the callback called once more, from the one about to leave it.

    The helper may call a callback any number of times, and each call starts from the outer
    frames as the previous call left them (bpf_loop's ctx on the caller's stack). Linux 6.1
    walks one call only, so a callback that takes a branch on what an earlier call wrote was
    accepted with the other side never walked. Here every exit also enters the callback again,
    from the outer stacks joined with those of its previous entry (:func:`_join_slot`), so the
    entries grow until one is covered by an earlier one (see ``Walker._visited``)."""
    callee = st.cur
    target, args, stacks = callee.callback_entry
    again = st.copy()
    again.frames.pop()
    for frame, before in zip(again.frames, stacks, strict=True):
        for spi, slot in enumerate(frame.stack):
            frame.stack[spi] = _join_slot(env, before[spi] if spi < len(before) else Slot(),
                                          slot)
    fresh = FuncState(callee.callsite, callee.frameno, callee.subprogno)
    for i, r in enumerate(args, 1):
        fresh.regs[i] = r.copy()
    fresh.refs = list(again.cur.refs)
    fresh.in_callback_fn, fresh.callback_ret = True, callee.callback_ret
    fresh.callback_entry = _entry(target, args, again.frames)
    again.frames.append(fresh)
    again.reentry = True
    return again, target


def _join_slot(env: Env, old: Slot, cur: Slot) -> Slot:
    """A stack slot holding what either ``old`` or ``cur`` holds (the spilled scalar of both,
    widened to unknown unless ``old``'s covers ``cur``'s; else byte by byte: uninitialised
    where either is, or is a spilled pointer, plain data otherwise)."""
    if old.types == cur.types and (not cur.is_spill or old.spilled.same(cur.spilled)):
        return cur
    if old.types == cur.types and cur.is_spill and old.spilled.type == SCALAR == \
            cur.spilled.type:
        out = cur.copy()
        covered = range_within(old.spilled, cur.spilled) and old.spilled.var.contains(
            cur.spilled.var)
        out.spilled = old.spilled.copy() if covered else unknown()
        out.spilled.id = 0
        return out
    if not env.allow_uninit_stack and (_holds_pointer(old) or _holds_pointer(cur)):
        raise reject("E299", "a callback called again may find a pointer or data in the same "
                             "stack slot, which kernel-lsp does not model: not proven safe")
    out = Slot()
    for j, (a, b) in enumerate(zip(_data(old), _data(cur), strict=True)):
        out.types[j] = a if a == b and a != INVALID else (INVALID if INVALID in (a, b)
                                                          else MISC)
    return out


def _holds_pointer(slot: Slot) -> bool:
    return slot.is_spill and slot.spilled.type != SCALAR


def _data(slot: Slot) -> list[str]:
    """The slot's bytes as data: a spilled scalar's are plain data, a pointer's unknown."""
    if not slot.is_spill:
        return [t if t != SPILL else MISC for t in slot.types]
    byte = MISC if slot.spilled.type == SCALAR else INVALID
    return [byte if t == SPILL else t for t in slot.types]


def exit_frame(env: Env, st: VState) -> int | None:
    """``BPF_EXIT``: return into the caller (the next instruction) or None at program exit."""
    if st.active_spin_lock:
        raise reject("E505", "bpf_spin_unlock is missing")
    check_reference_leak(st)
    if st.curframe == 0:
        check_return(env, st)
        return None
    callee = st.frames[-1]
    r0 = callee.regs[0]
    if r0.type == PTR_TO_STACK:
        raise reject("E315", "cannot return stack pointer to the caller")
    caller = st.frames[-2]
    if global_exit(env, st, callee):
        pass
    elif callee.in_callback_fn:
        if r0.type != SCALAR:
            raise reject("E315", "R0 not a scalar value")
        lo, hi = callee.callback_ret
        if not trange(lo, hi).contains(r0.var):
            raise reject("E404", _invalid_scalar(r0, trange(lo, hi), "callback return"))
        caller.regs[0] = unknown()
    else:
        if r0.type not in (SCALAR, NOT_INIT) and callee.subprogno in tail_calling(env):
            raise reject("E315", f"R0 is {type_str(r0.type)} at the exit of a subprogram that "
                                 "makes a tail call: when the tail call succeeds the caller "
                                 "gets the target program's scalar instead")
        caller.regs[0] = r0.copy()
        caller.refs = list(callee.refs)
    st.frames.pop()
    return callee.callsite + 1


def tail_calling(env: Env) -> set[int]:
    """The subprograms holding a ``bpf_tail_call`` (a successful one returns from them)."""
    if env.tail_calling is None:
        tail_id = helpers.HELPER_IDS["tail_call"]
        env.tail_calling = {env.subprog_of(i) for i, insn in enumerate(env.insns)
                            if isa.is_helper_call(insn) and insn.imm == tail_id}
    return env.tail_calling


def check_stack_depth(env: Env) -> None:
    """``check_max_stack_depth``: the frames of any call chain share 512 bytes of stack, and a
    subprogram that tail-calls may be entered with at most 255 bytes of its callers' frames."""
    calls_of: dict[int, list[int]] = {k: [] for k in range(len(env.subprog_starts))}
    tail_calls = tail_calling(env)
    for i, insn in enumerate(env.insns):
        if isa.is_local_call(insn) or isa.is_func_ref(insn):
            calls_of[env.subprog_of(i)].append(env.subprog_of(i + insn.imm + 1))

    def size(k: int) -> int:
        return (max(env.stack_depth.get(k, 0), 1) + 31) // 32 * 32

    def walk(k: int, depth: int, frame: int, seen: frozenset) -> None:
        if k and k in tail_calls and depth >= 256:
            raise reject("E207", f"tail_calls are not allowed when call stack of previous "
                                 f"frames is {depth} bytes. Too large")
        depth += size(k)
        if depth > 512:
            raise reject("E207", f"combined stack size of {frame + 1} calls is {depth}. Too "
                                 "large")
        for callee in calls_of[k]:
            if callee not in seen:
                walk(callee, depth, frame + 1, seen | {callee})

    walk(0, 0, 0, frozenset({0}))


def _invalid_scalar(reg: Reg, rng: Tnum, where: str) -> str:
    value = f"has value {reg.var.text()}" if not reg.var.is_unknown else \
        "has unknown scalar value"
    return f"At {where} the register R0 {value} should have been in {rng.text()}"


def return_range(env: Env) -> Tnum | None:
    t, attach = env.prog_type, env.options.expected_attach_type or ""
    if t == "cgroup_sock_addr":
        if attach.endswith(("recvmsg", "getpeername", "getsockname")):
            return trange(1, 1)
        if attach.endswith("_bind"):
            return trange(0, 3)
        return trange(0, 1)
    if t == "cgroup_skb":
        return trange(0, 3) if attach == "cgroup_inet_egress" else trange(0, 1)
    if t in ("cgroup_sock", "sock_ops", "cgroup_device", "cgroup_sysctl", "cgroup_sockopt",
             "sk_lookup"):
        return trange(0, 1)
    if t == "tracing" and attach in ("trace_fentry", "trace_fexit"):
        return trange(0, 0)
    return None


def check_return(env: Env, st: VState) -> None:
    """``check_return_code`` at the main program's exit."""
    r0 = read_reg(st, 0)
    if pointer_value(r0, env.allow_ptr_leaks):
        raise reject("E306", "R0 leaks addr as return value")
    frame = st.frames[0]
    if frame.in_async_callback_fn:
        return
    if frame.subprogno:
        if r0.type != SCALAR:
            raise reject("E315", f"At subprogram exit the register R0 is not a scalar value "
                                 f"({type_str(r0.type)})")
        return
    if env.prog_type == "lsm":
        _check_lsm_return(env, r0)
        return
    rng = return_range(env)
    if rng is None:
        return
    if r0.type != SCALAR:
        raise reject("E404", f"At program exit the register R0 is not a known value "
                             f"({type_str(r0.type)})")
    if not rng.contains(r0.var):
        raise reject("E404", _invalid_scalar(r0, rng, "program exit"))


def _check_lsm_return(env: Env, r0: Reg) -> None:
    """Linux 6.12's ranges: a void hook takes any value, a truth-valued one 0 or 1, the others
    0 or a negative errno (checked on the low 32 bits, an int); an ``lsm_cgroup`` program
    allows (1) or denies (0), and must allow on a void hook (Linux 6.1's rule)."""
    cgroup = env.options.expected_attach_type == "lsm_cgroup"
    rng = lsmhooks.return_range(env.options.attach_target or "", cgroup)
    if rng is None:
        return
    if r0.type != SCALAR:
        raise reject("E404", f"At program exit the register R0 is not a known value "
                             f"({type_str(r0.type)})")
    lo, hi = rng
    if cgroup:
        if not trange(lo, hi).contains(r0.var):
            raise reject("E404", _invalid_scalar(r0, trange(lo, hi), "program exit"))
    elif r0.s32min < lo or r0.s32max > hi:
        raise reject("E404", f"At program exit the register R0 has smin={r0.s32min} "
                             f"smax={r0.s32max} should have been in [{lo}, {hi}]")


def ld_abs(env: Env, st: VState, insn, info) -> bool:
    """``check_ld_abs``; True when the state must also explore the hidden ``exit`` (subprog)."""
    if env.prog_type not in _LD_ABS_TYPES:
        raise reject("E316", "BPF_LD_[ABS|IND] instructions not allowed for this program type")
    read_reg(st, 6)
    try:
        check_reference_leak(st)
    except Exception:
        raise reject("E504", "BPF_LD_[ABS|IND] cannot be mixed with socket references") from None
    if st.active_spin_lock:
        raise reject("E505", "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region")
    if st.regs[6].type != PTR_TO_CTX:
        raise reject("E316", "at the time of BPF_LD_ABS|IND R6 != pointer to skb")
    if info.kind == "ld_ind":
        read_reg(st, insn.src)
    from kernel_lsp.ebpf.verify.dataflow.mem import ptr_off_check
    ptr_off_check(st.regs[6], 6)
    for i in CALLER_SAVED:
        st.regs[i] = not_init()
    st.regs[0] = unknown()
    return st.curframe > 0


def ld_imm(env: Env, st: VState, insn, idx: int) -> None:
    """``check_ld_imm``."""
    if insn.src == 0 and idx in env.load_time_imms:  # a kernel symbol's address
        st.regs[insn.dst] = unknown()
        return
    if insn.src == 0 and idx not in env.maps:
        st.regs[insn.dst] = const((env.insns[idx + 1].imm & 0xFFFFFFFF) << 32
                                  | insn.imm & 0xFFFFFFFF)
        return
    if insn.src == 3:
        raise reject("E299", "ld_imm64 of a kernel BTF object needs the kernel's BTF, which "
                             "kernel-lsp does not model")
    if insn.src == 4:
        if not env.options.func_info:
            raise reject("E315", "missing btf func_info")
        sub = env.subprog_of(idx + insn.imm + 1)
        if sub == 0:
            raise reject("E315", "callback function cannot be the main program")
        st.regs[insn.dst] = pointer(PTR_TO_FUNC, subprogno=sub)
        return
    st.regs[insn.dst] = maps.load_map(env, st, insn, idx)


__all__ = ["CONST_PTR_TO_MAP", "callback_call", "check_return", "exit_frame", "ld_abs",
           "ld_imm", "local_call"]
