"""Helper calls: argument checking against the prototype, then the effect on the state.

``helper_call(env, st, insn)`` is ``check_helper_call`` of Linux 6.1 for the helpers this module
models: every argument is checked (``check_func_arg``: register type, offset, memory it points to
and its size, map key and value, references to release), R1-R5 become unreadable, R0 gets the
prototype's return type (a scalar, or a ``*_or_null`` pointer with a fresh id), references are
acquired and released, packet pointers are invalidated by helpers that may move the packet.
Callback helpers (``bpf_loop``, ``bpf_for_each_map_elem``...) are left to :mod:`calls`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf import helpers
from kernel_lsp.ebpf.verify.dataflow import bounds, maps, mem, protos
from kernel_lsp.ebpf.verify.dataflow.alu import read_reg
from kernel_lsp.ebpf.verify.dataflow.env import MAX_VAR_SIZ, Env, Reject, reject
from kernel_lsp.ebpf.verify.dataflow.memarg import helper_mem
from kernel_lsp.ebpf.verify.dataflow.regs import (
    ALLOC,
    CONST_PTR_TO_MAP,
    MAYBE_NULL,
    PTR_TO_BTF_ID,
    PTR_TO_CTX,
    PTR_TO_FUNC,
    PTR_TO_MAP_KEY,
    PTR_TO_MAP_VALUE,
    PTR_TO_MEM,
    PTR_TO_PACKET,
    PTR_TO_PACKET_META,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_STACK,
    PTR_TO_TCP_SOCK,
    PTR_TO_XDP_SOCK,
    RDONLY,
    SCALAR,
    Reg,
    not_init,
    pointer,
    pointer_value,
    type_str,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.state import CALLER_SAVED, VState

_MEM_TYPES = (PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE,
              PTR_TO_MEM, PTR_TO_MEM | RDONLY, PTR_TO_MEM | ALLOC)
_KEY_TYPES = (PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE)
_SOCK = (PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK)
COMPATIBLE = {
    "MAP_KEY": _KEY_TYPES, "MAP_VALUE": _KEY_TYPES, "SIZE": (SCALAR,),
    "SIZE_OR_ZERO": (SCALAR,), "ALLOC_SIZE_OR_ZERO": (SCALAR,), "MAP_PTR": (CONST_PTR_TO_MAP,),
    "CTX": (PTR_TO_CTX,), "SOCK_COMMON": _SOCK, "BTF_ID_SOCK_COMMON": _SOCK + (PTR_TO_BTF_ID,),
    "SOCKET": (PTR_TO_SOCKET,), "BTF_ID": (PTR_TO_BTF_ID,), "SPIN_LOCK": (PTR_TO_MAP_VALUE,),
    "MEM": _MEM_TYPES, "ALLOC_MEM": (PTR_TO_MEM | ALLOC,), "FUNC": (PTR_TO_FUNC,),
    "STACK": (PTR_TO_STACK,), "CONST_STR": (PTR_TO_MAP_VALUE,), "TIMER": (PTR_TO_MAP_VALUE,),
}
_RET_TYPES = {"MAP_VALUE": PTR_TO_MAP_VALUE, "SOCKET": PTR_TO_SOCKET,
              "SOCK_COMMON": PTR_TO_SOCK_COMMON, "TCP_SOCK": PTR_TO_TCP_SOCK,
              "ALLOC_MEM": PTR_TO_MEM}
_OFF_OK = (PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE,
           PTR_TO_MEM, PTR_TO_MEM | RDONLY, PTR_TO_MEM | ALLOC, SCALAR)


@dataclass(slots=True)
class Meta:
    """``bpf_call_arg_meta``."""

    func: str
    pkt_access: bool
    map: object = None
    map_uid: int = 0
    raw_mode: bool = False
    access_size: int = 0
    regno: int = 0
    release_regno: int = 0
    ref_obj_id: int = 0
    msize_max: int = 0
    mem_size: int = 0
    subprogno: int = -1


def get_proto(env: Env, insn) -> protos.Proto:
    fid = insn.imm
    name = helpers.helper_name(fid)
    if not 0 <= fid < helpers.MAX_HELPER_ID:
        raise reject("E108", f"invalid func {name}#{fid}")
    proto = protos.proto_for(env.prog_type, fid, env.priv, env.attach)
    if proto is None:
        if env.prog_type not in protos.helperavail.AVAIL:
            raise reject("E299", f"the helpers of program type {env.prog_type} are not modelled "
                                 f"by kernel-lsp (call to {name}#{fid})")
        raise reject("E109", f"unknown func {name}#{fid}")
    if proto.gpl_only and not env.options.gpl_compatible:
        raise reject("E309", "cannot call GPL-restricted function from non-GPL compatible "
                             "program")
    if proto.might_sleep and not env.options.sleepable:
        raise reject("E309", "helper call might sleep in a non-sleepable prog")
    return proto


def _check_type(env: Env, st: VState, regno: int, arg: protos.Arg, meta: Meta) -> None:
    """``check_reg_type`` + ``check_func_arg_reg_off``."""
    reg = st.regs[regno]
    allowed = COMPATIBLE.get(arg.kind)
    if allowed is None:
        raise reject("E299", f"helper argument kind {arg.kind} of {meta.func} is not modelled "
                             "by kernel-lsp")
    t = reg.type
    if arg.has("RDONLY"):
        t &= ~RDONLY
    if arg.has("NULL"):
        t &= ~MAYBE_NULL
    if t not in allowed:
        names = ", ".join(type_str(a) for a in allowed)
        raise reject("E303", f"R{regno} type={type_str(reg.type)} expected={names}")
    if reg.type == PTR_TO_BTF_ID:
        raise reject("E299", f"R{regno} is a BTF pointer; kernel-lsp does not model BTF types")
    if reg.type in _OFF_OK and arg.kind != "ALLOC_MEM":
        return
    mem.ptr_off_check(reg, regno)


def check_arg(env: Env, st: VState, i: int, arg: protos.Arg, meta: Meta,
              proto: protos.Proto) -> None:
    """``check_func_arg`` for R(i+1)."""
    regno = i + 1
    reg = read_reg(st, regno)
    if arg.kind == "ANYTHING":
        if pointer_value(reg, env.allow_ptr_leaks):
            raise reject("E306", f"R{regno} leaks addr into helper function")
        return
    if reg.is_pkt and not mem.may_access_pkt(env, False, meta.pkt_access):
        raise reject("E303", "helper access to the packet is not allowed")
    if arg.kind == "MAP_VALUE" and meta.map is not None and meta.map.kind in ("sockmap",
                                                                            "sockhash"):
        arg = protos.Arg("BTF_ID_SOCK_COMMON", arg.flags - {"UNINIT", "WRITE"})
    if not (reg.is_null and arg.has("NULL")):
        _check_type(env, st, regno, arg, meta)
    if arg.has("RELEASE"):
        if not reg.ref_obj_id and not reg.is_null:
            raise reject("E504", f"R{regno} must be referenced when passed to release function")
        meta.release_regno = regno
    if reg.ref_obj_id:
        meta.ref_obj_id = reg.ref_obj_id
    _check_arg_kind(env, st, regno, reg, arg, meta, proto, i)


def _check_arg_kind(env: Env, st: VState, regno: int, reg: Reg, arg: protos.Arg, meta: Meta,
                    proto: protos.Proto, i: int) -> None:
    kind = arg.kind
    if kind == "MAP_PTR":
        if meta.map is not None and (meta.map is not reg.map or meta.map_uid != reg.map_uid):
            raise reject("E314", f"timer pointer in R1 map_uid={meta.map_uid} doesn't match "
                                 f"map pointer in R2 map_uid={reg.map_uid}")
        meta.map, meta.map_uid = reg.map, reg.map_uid
    elif kind == "MAP_KEY":
        helper_mem(env, st, regno, meta.map.key_size, False, False, None)
    elif kind == "MAP_VALUE":
        if arg.has("NULL") and reg.is_null:
            return
        meta.raw_mode = arg.has("UNINIT")
        helper_mem(env, st, regno, meta.map.value_size, arg.has("WRITE"), False, meta)
    elif kind == "MEM":
        meta.raw_mode = arg.has("UNINIT")
        if arg.has("FIXED_SIZE"):
            helper_mem(env, st, regno, arg.size, arg.has("WRITE"), False, meta)
            if arg.has("ALIGNED"):
                mem.check_alignment(env, reg, 0, arg.size, True)
    elif kind in ("SIZE", "SIZE_OR_ZERO"):
        write = proto.args[i - 1].has("WRITE")
        mem_size_reg(env, st, regno, write, kind == "SIZE_OR_ZERO", meta)
    elif kind == "ALLOC_SIZE_OR_ZERO":
        if not reg.var.is_const:
            raise reject("E303", f"R{regno} is not a known constant'")
        # Linux keeps the size in an int, then in the u32 mem_size of R0: its low 32 bits
        # (a larger request fails at run time, bpf_ringbuf_reserve returning NULL)
        meta.mem_size = reg.var.value & 0xFFFFFFFF
    elif kind == "SPIN_LOCK":
        maps.spin_lock(env, st, regno, meta.func == "spin_lock")
    elif kind == "TIMER":
        maps.timer_arg(reg, regno)
    elif kind == "FUNC":
        meta.subprogno = reg.subprogno
    elif kind == "CONST_STR":
        maps.const_str(reg, regno)


def mem_size_reg(env: Env, st: VState, regno: int, write: bool, zero_ok: bool,
                 meta: Meta) -> None:
    """``check_mem_size_reg``: R<regno> is the size of the buffer in R<regno - 1>."""
    reg = st.regs[regno]
    meta.msize_max = reg.umax
    use_meta = meta if reg.var.is_const else None
    if reg.smin < 0:
        raise reject("E403", f"R{regno} min value is negative, either use unsigned or "
                             "'var &= const'")
    if reg.umin == 0:
        helper_mem(env, st, regno - 1, 0, write, zero_ok, use_meta)
    if reg.umax >= MAX_VAR_SIZ:
        raise reject("E403", f"R{regno} unbounded memory access, use 'var &= const' or "
                             "'if (var < const)'")
    helper_mem(env, st, regno - 1, reg.umax, write, zero_ok, use_meta)


def set_return(env: Env, frame, proto: protos.Proto, meta: Meta, insn_idx: int,
               cb_frame: int = 0) -> None:
    """R0 after the call (``check_helper_call``'s return-type switch and references);
    ``cb_frame``: the frame of the innermost callback being walked (0: none)."""
    regs = frame.regs
    ret = proto.ret
    if ret == "INTEGER":
        r0 = unknown()
    elif ret == "VOID":
        r0 = not_init()
    elif ret in _RET_TYPES:
        r0 = pointer(_RET_TYPES[ret])
        if ret == "MAP_VALUE":
            if meta.map is None:
                raise reject("E299", "kernel subsystem misconfigured verifier")
            if meta.map.kind in ("array_of_maps", "hash_of_maps") and meta.map.inner is None:
                raise reject("E299", f"the inner map of map-in-map '{meta.map.name}' is not "
                                     "known (the loader did not describe it): a lookup returns "
                                     "that map, which kernel-lsp cannot model")
            r0.map, r0.map_uid = meta.map, meta.map_uid
            if not proto.ret_null and meta.map.spin_lock_off >= 0:
                r0.id = env.new_id()
        elif ret == "ALLOC_MEM":
            r0.mem_size = meta.mem_size
            r0.type |= ALLOC
        if proto.ret_null:
            r0.type |= MAYBE_NULL
        if "RDONLY" in proto.ret_flags:
            r0.type |= RDONLY
    else:
        raise reject("E299", f"return type {ret} of {helpers.helper_name(proto_id(proto))} "
                             "needs the kernel's BTF, which kernel-lsp does not model")
    if r0.type & MAYBE_NULL:
        r0.id = env.new_id()
    if proto.name in protos.PTR_CAST:
        r0.ref_obj_id = meta.ref_obj_id
    elif proto.name in protos.ACQUIRE or (proto.name == "map_lookup_elem" and meta.map
                                          and meta.map.kind in ("sockmap", "sockhash")):
        rid = env.new_id()
        # tagged with the innermost callback's frame (acquire_reference_state tags the callback's
        # own; a function it calls hands its references back to it): that exit must release it
        frame.refs.append((rid, insn_idx, cb_frame))
        r0.id = r0.ref_obj_id = rid
    if ret == "INTEGER" and proto.name in protos.RET_VALUE_REFINED:
        r0.smax = r0.s32max = meta.msize_max
        r0.smin = r0.s32min = -4095
        bounds.sync(r0)
    regs[0] = r0


def proto_id(proto: protos.Proto) -> int:
    return helpers.HELPER_IDS.get(proto.name, 0)


__all__ = ["Meta", "check_arg", "get_proto", "helper_call", "helper_mem", "set_return"]


def _release(env: Env, st: VState, ref_obj_id: int) -> None:
    """``release_reference``: drop the reference and every register that holds it."""
    refs = st.cur.refs
    if not any(r[0] == ref_obj_id for r in refs):
        raise reject("E504", "reference has not been acquired before")
    # Cannot release caller references in callbacks (release_reference_state): the callback
    # may run any number of times, and its references are not handed back to the caller
    cb_frame = next((f.frameno for f in reversed(st.frames) if f.in_callback_fn), 0)
    if cb_frame and any(r[0] == ref_obj_id and r[2] != cb_frame for r in refs):
        raise reject("E504", "Cannot release caller references in callbacks")
    st.cur.refs = [r for r in refs if r[0] != ref_obj_id]
    st.replace_regs(lambda r: (not_init() if not env.allow_ptr_leaks else unknown())
                    if r.ref_obj_id == ref_obj_id else None)


def helper_call(env: Env, st: VState, insn, idx: int) -> int | None:
    """``check_helper_call``; returns a callback's first instruction when one must be walked."""
    from kernel_lsp.ebpf.verify.dataflow import calls

    proto = get_proto(env, insn)
    meta = Meta(proto.name, proto.pkt_access)
    for i, arg in enumerate(proto.args):
        check_arg(env, st, i, arg, meta, proto)
    name, fid = proto.name, insn.imm
    if name in _RECORD_MAP and meta.map is not None:  # record_func_map
        seen = env.call_maps.setdefault(idx, meta.map)
        if seen is not meta.map and seen != meta.map:
            env.call_maps[idx] = _POISON
    if meta.map is not None and meta.map.flags & mem.BPF_F_RDONLY_PROG and name in (
            "map_delete_elem", "map_update_elem", "map_push_elem", "map_pop_elem"):
        raise reject("E308", "write into map forbidden")
    for i in range(meta.access_size):
        mem.mem_access(env, st, meta.regno, i, 1, True, -1)
    regs = st.regs
    if meta.release_regno:
        if meta.ref_obj_id:
            try:
                _release(env, st, meta.ref_obj_id)
            except Reject as e:
                why = f" ({e.message})" if "callbacks" in e.message else ""
                raise reject("E504", f"func bpf_{name}#{fid} reference has not been acquired "
                                     f"before{why}") from None
        elif not regs[meta.release_regno].is_null:
            raise reject("E504", f"func bpf_{name}#{fid} reference has not been acquired before")
    if name == "tail_call":
        try:
            calls.check_reference_leak(st)
        except Exception:
            raise reject("E504", "tail_call would lead to reference leak") from None
    elif name == "get_local_storage" and not regs[2].is_null:
        raise reject("E309", "get_local_storage() doesn't support non-zero flags")
    elif name.startswith("dynptr") or name.endswith("dynptr") or name in ("snprintf",
                                                                          "kptr_xchg"):
        raise reject("E299", f"bpf_{name} is not modelled by kernel-lsp (dynptr, kptr and "
                             "format-string helpers need the kernel's BTF or formats)")
    callback = None
    caller = st.cur
    if name in protos.CALLBACK:
        callback = calls.callback_call(env, st, name, _func_target(env, st, caller, meta), idx)
    clear_caller_saved_frame(caller)
    set_return(env, caller, proto, meta, idx,
               next((f.frameno for f in reversed(st.frames) if f.in_callback_fn), 0))
    maps.compatible(env, meta.map, name, fid)
    if name == "get_func_ip" and env.prog_type not in ("kprobe", "tracing"):
        raise reject("E309", f"func bpf_get_func_ip#{fid} not supported for program type "
                             f"{env.prog_type}")
    if name in protos.CHANGES_PKT_DATA or (name == "tail_call" and st.curframe):
        # a tail call made in a subprogram returns, when it succeeds, into the subprogram's
        # caller after the target program ran and may have changed the packet (Linux 6.13
        # counts tail calls as changing packet data; 6.1 did not: an unsafe accept there)
        st.replace_regs(lambda r: unknown() if r.is_pkt_any else None)
    return callback


_RECORD_MAP = frozenset({"tail_call", "map_lookup_elem", "map_update_elem", "map_delete_elem",
                         "map_push_elem", "map_pop_elem", "map_peek_elem", "for_each_map_elem",
                         "redirect_map", "map_lookup_percpu_elem"})
_POISON = "poison"


def check_poisoned_tail_calls(env: Env) -> None:
    """``do_misc_fixups``: an unprivileged tail call must always use the same program array."""
    if env.bypass_spec_v1:
        return
    for idx, m in sorted(env.call_maps.items()):
        insn = env.insns[idx]
        if m == _POISON and insn.imm == helpers.HELPER_IDS["tail_call"]:
            env.insn_idx = idx
            raise reject("E309", "tail_call abusing map_ptr")


def _func_target(env: Env, st: VState, caller, meta: Meta) -> int:
    if meta.subprogno < 0 or meta.subprogno >= len(env.subprog_starts):
        raise reject("E315", "callback is not a function of this program")
    return env.subprog_starts[meta.subprogno]


def clear_caller_saved_frame(frame) -> None:
    for i in CALLER_SAVED:
        frame.regs[i] = not_init()
