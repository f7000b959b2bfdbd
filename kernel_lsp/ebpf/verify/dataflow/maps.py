"""Maps as the verifier sees them: map references in ``lddw``, map/helper compatibility, locks.

``map_infos(program)`` turns the loader's map specs (``run.maps.program_maps``: slot -> MapSpec)
into :class:`~kernel_lsp.ebpf.verify.dataflow.regs.MapInfo`. ``load_map`` is ``check_ld_imm`` for
the map pseudo sources; ``compatible`` is ``check_map_func_compatibility`` (both directions);
``spin_lock``/``timer_arg``/``const_str`` are the map-value arguments of those helpers.
"""

from __future__ import annotations

from kernel_lsp.ebpf.verify.dataflow.env import Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    CONST_PTR_TO_MAP,
    PTR_TO_MAP_VALUE,
    MapInfo,
    Reg,
    pointer,
)
from kernel_lsp.ebpf.verify.dataflow.state import VState

MAP_TYPES = ("unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
             "percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash",
             "lpm_trie", "array_of_maps", "hash_of_maps", "devmap", "sockmap", "cpumap",
             "xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
             "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
             "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
             "user_ringbuf")
# Which helpers may take a map of each type (first direction of the kernel's check).
_MAP_ONLY = {
    "prog_array": {"tail_call"},
    "perf_event_array": {"perf_event_read", "perf_event_output", "skb_output",
                         "perf_event_read_value", "xdp_output"},
    "ringbuf": {"ringbuf_output", "ringbuf_reserve", "ringbuf_query", "ringbuf_reserve_dynptr",
                "ringbuf_submit_dynptr", "ringbuf_discard_dynptr"},
    "user_ringbuf": {"user_ringbuf_drain"}, "stack_trace": {"get_stackid"},
    "cgroup_array": {"skb_under_cgroup", "current_task_under_cgroup"},
    "cgroup_storage": {"get_local_storage"}, "percpu_cgroup_storage": {"get_local_storage"},
    "devmap": {"redirect_map", "map_lookup_elem"}, "devmap_hash": {"redirect_map",
                                                                    "map_lookup_elem"},
    "cpumap": {"redirect_map"}, "xskmap": {"redirect_map", "map_lookup_elem"},
    "array_of_maps": {"map_lookup_elem"}, "hash_of_maps": {"map_lookup_elem"},
    "sockmap": {"sk_redirect_map", "sock_map_update", "msg_redirect_map", "sk_select_reuseport",
                "map_lookup_elem"},
    "sockhash": {"sk_redirect_hash", "sock_hash_update", "msg_redirect_hash",
                 "sk_select_reuseport", "map_lookup_elem"},
    "reuseport_sockarray": {"sk_select_reuseport"},
    "queue": {"map_peek_elem", "map_pop_elem", "map_push_elem"},
    "stack": {"map_peek_elem", "map_pop_elem", "map_push_elem"},
    "sk_storage": {"sk_storage_get", "sk_storage_delete"},
    "inode_storage": {"inode_storage_get", "inode_storage_delete"},
    "task_storage": {"task_storage_get", "task_storage_delete"},
    "bloom_filter": {"map_peek_elem", "map_push_elem"},
}
# Which map types each helper accepts (second direction).
_FUNC_ONLY = {
    "tail_call": {"prog_array"},
    **{f: {"perf_event_array"} for f in ("perf_event_read", "perf_event_output",
                                         "perf_event_read_value", "skb_output", "xdp_output")},
    **{f: {"ringbuf"} for f in ("ringbuf_output", "ringbuf_reserve", "ringbuf_query",
                                "ringbuf_reserve_dynptr", "ringbuf_submit_dynptr",
                                "ringbuf_discard_dynptr")},
    "user_ringbuf_drain": {"user_ringbuf"}, "get_stackid": {"stack_trace"},
    "current_task_under_cgroup": {"cgroup_array"}, "skb_under_cgroup": {"cgroup_array"},
    "redirect_map": {"devmap", "devmap_hash", "cpumap", "xskmap"},
    **{f: {"sockmap"} for f in ("sk_redirect_map", "msg_redirect_map", "sock_map_update")},
    **{f: {"sockhash"} for f in ("sk_redirect_hash", "msg_redirect_hash", "sock_hash_update")},
    "get_local_storage": {"cgroup_storage", "percpu_cgroup_storage"},
    "sk_select_reuseport": {"reuseport_sockarray", "sockmap", "sockhash"},
    "map_pop_elem": {"queue", "stack"}, "map_peek_elem": {"queue", "stack", "bloom_filter"},
    "map_push_elem": {"queue", "stack", "bloom_filter"},
    "map_lookup_percpu_elem": {"percpu_array", "percpu_hash", "lru_percpu_hash"},
    "sk_storage_get": {"sk_storage"}, "sk_storage_delete": {"sk_storage"},
    "inode_storage_get": {"inode_storage"}, "inode_storage_delete": {"inode_storage"},
    "task_storage_get": {"task_storage"}, "task_storage_delete": {"task_storage"},
}
_SOCKMAP_UPDATE_TYPES = {"socket_filter", "sched_cls", "sched_act", "xdp", "sk_reuseport",
                         "flow_dissector", "sk_lookup"}
_ELF_KINDS = {"hash": "hash", "array": "array"}


def from_spec(spec) -> MapInfo:
    """A ``run.maps.MapSpec`` (or a MapInfo) as the verifier's MapInfo."""
    if isinstance(spec, MapInfo):
        return spec
    return MapInfo(spec.name, spec.kind, spec.key_size, spec.value_size, spec.max_entries,
                   spec.flags, init=spec.init, spin_lock_off=getattr(spec, "spin_lock_off", -1),
                   timer_off=getattr(spec, "timer_off", -1),
                   kptr_offs=tuple(getattr(spec, "kptr_offs", ())),
                   frozen=getattr(spec, "frozen", False),
                   unknown_ranges=tuple(getattr(spec, "unknown_ranges", ())),
                   inner=from_spec(spec.inner) if getattr(spec, "inner", None) else None)


def map_infos(program) -> tuple[dict[int, MapInfo], dict[int, int], dict[int, str]]:
    """``(maps, value_offsets, unknown)`` of a program's ``lddw`` slots.

    ``maps``: slot -> map, from the harness fixups and ``meta["slot_maps"]`` (through
    ``run.maps.program_maps``) and from ELF map definitions with known sizes (their type number
    kept, so a ring buffer stays a ring buffer); relocations against global data become the
    array map libbpf makes of the section (``.rodata`` read-only and frozen), with
    ``value_offsets[slot]`` the symbol's offset. ``unknown``: slot -> symbol of a map whose
    key/value sizes the loader did not read (BTF-defined maps).
    """
    from kernel_lsp.ebpf.run.maps import program_maps

    meta = program.meta or {}
    defs = meta.get("maps") or {}
    relocs = program.relocations or {}
    slot_maps = meta.get("slot_maps") or {}  # the ELF loader's: lddw already rewritten (src 1/2)
    out = {slot: from_spec(spec) for slot, spec in program_maps(program).items()
           if slot in slot_maps or relocs.get(slot, ("", ""))[0] not in defs}
    offsets: dict[int, int] = {}
    unknown: dict[int, str] = {}
    sections = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    symbols = meta.get("globals") if isinstance(meta.get("globals"), dict) else {}
    for slot, (symbol, kind) in relocs.items():
        if slot in slot_maps:
            continue
        if kind == "map" and symbol in defs:
            info = _from_def(symbol, defs[symbol])
            if info is None:
                unknown[slot] = symbol
            else:
                out[slot] = info
        elif kind == "data":
            where = symbols.get(symbol, {"section": symbol, "offset": 0})
            data = sections.get(where.get("section"))
            if data is None:
                unknown[slot] = symbol
                continue
            name = where["section"]
            ro = name.startswith(".rodata")
            out[slot] = MapInfo(name, "array", 4, max(len(data), 1), 1,
                                0x80 if ro else 0, frozen=ro, init=bytes(data))
            offsets[slot] = int(where.get("offset", 0))
    return out, offsets, unknown


# kernel/bpf/syscall.c map_check_btf: the map types that may hold each BTF-described field
_SPIN_LOCK_KINDS = ("hash", "array", "cgroup_storage", "sk_storage", "inode_storage",
                    "task_storage")
_TIMER_KINDS = ("hash", "lru_hash", "array")
_KPTR_KINDS = ("hash", "lru_hash", "array", "percpu_array")


def _check_created(m: MapInfo) -> None:
    """``map_check_btf``: a value with a spin lock, timer or kptr in a map type or with flags
    that cannot hold it makes map creation fail, so no program can use the map."""
    ro, wo = m.flags & 0x80, m.flags & 0x100  # BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG
    for present, kinds, flags, what in (
            (m.spin_lock_off >= 0, _SPIN_LOCK_KINDS, ro, "bpf_spin_lock"),
            (m.timer_off >= 0, _TIMER_KINDS, ro, "bpf_timer"),
            (bool(m.kptr_offs), _KPTR_KINDS, ro or wo, "kptr")):
        if present and (m.kind not in kinds or flags):
            raise reject("E313", f"map '{m.name}' of type {m.kind} (flags {m.flags:#x}) cannot "
                                 f"hold a {what}: Linux refuses to create it")


def _from_def(name: str, d) -> MapInfo | None:
    if not isinstance(d, dict):
        return from_spec(d)
    if "key_size" not in d or "value_size" not in d:
        return None
    t = int(d.get("type", 1))
    kind = MAP_TYPES[t] if 0 <= t < len(MAP_TYPES) else "unspec"
    return MapInfo(name, kind, int(d["key_size"]), int(d["value_size"]),
                   int(d.get("max_entries", 1)), int(d.get("flags", 0)))


def type_id(m: MapInfo) -> int:
    return MAP_TYPES.index(m.kind) if m.kind in MAP_TYPES else 0


# map types with map_for_each_callback (array_map_ops, percpu_array_map_ops, the four htab ops)
FOR_EACH_MAPS = ("hash", "lru_hash", "percpu_hash", "lru_percpu_hash", "array", "percpu_array")
_TRACING = ("kprobe", "tracepoint", "perf_event", "raw_tracepoint", "raw_tracepoint_writable")


def resolve(env: Env, insn, idx: int) -> MapInfo:
    """``resolve_pseudo_ldimm64`` for one map reference (before the path walk)."""
    m = env.maps.get(idx)
    if m is None and idx in env.unknown_maps:
        raise reject("E299", f"map '{env.unknown_maps[idx]}' is described by BTF that the "
                             "loader did not read (key and value sizes unknown)")
    if m is None:
        raise reject("E313", f"fd {insn.imm} is not pointing to valid bpf_map")
    t = env.prog_type
    if m.kind not in MAP_TYPES[1:]:  # map_create refuses the type: no such map exists
        raise reject("E313", f"map '{m.name}' has type {m.kind}, which Linux 6.1 cannot create")
    if m.kind == "struct_ops":  # its lookup returns ERR_PTR(-EINVAL), not NULL or a value
        raise reject("E313", "bpf_struct_ops map cannot be used in prog")
    _check_created(m)
    if m.spin_lock_off >= 0:
        if t == "socket_filter":
            raise reject("E314", "socket filter progs cannot use bpf_spin_lock yet")
        if t in _TRACING:
            raise reject("E314", "tracing progs cannot use bpf_spin_lock yet")
        if env.options.sleepable:
            raise reject("E314", "sleepable progs cannot use bpf_spin_lock yet")
    if m.timer_off >= 0 and t in _TRACING:
        raise reject("E314", "tracing progs cannot use bpf_timer yet")
    if insn.src in (2, 6):
        off = env.insns[idx + 1].imm & 0xFFFFFFFF
        if off >= 1 << 29:
            raise reject("E313", f"direct value offset of {off} is not allowed")
        if m.kind != "array":
            raise reject("E313", "no direct value access support for this map type")
        if m.max_entries != 1 or off >= m.value_size:
            raise reject("E313", f"invalid access to map value pointer, value_size="
                                 f"{m.value_size} off={off}")
    return m


def load_map(env: Env, st: VState, insn, idx: int) -> Reg:
    """The register a ``lddw`` of a map (src 1, 2, 5 or 6) produces (``check_ld_imm``)."""
    m = env.maps[idx]
    if insn.src == 0:  # an ELF relocation the loader turns into a map or a map value
        if idx not in env.value_off:
            return pointer(CONST_PTR_TO_MAP, map=m)
        off = env.value_off[idx] + ((env.insns[idx + 1].imm & 0xFFFFFFFF) << 32
                                    | insn.imm & 0xFFFFFFFF)
        if not 0 <= off < m.value_size:
            raise reject("E313", f"invalid access to map value pointer, value_size="
                                 f"{m.value_size} off={off}")
        return pointer(PTR_TO_MAP_VALUE, map=m, off=off)
    if insn.src in (2, 6):
        r = pointer(PTR_TO_MAP_VALUE, map=m, off=env.insns[idx + 1].imm & 0xFFFFFFFF)
        if m.spin_lock_off >= 0:
            r.id = env.new_id()
        return r
    return pointer(CONST_PTR_TO_MAP, map=m)


def compatible(env: Env, m: MapInfo | None, func: str, fid: int) -> None:
    """``check_map_func_compatibility``."""
    if m is None:
        return
    ok = True
    allowed = _MAP_ONLY.get(m.kind)
    if allowed is not None and func not in allowed:
        ok = m.kind in ("sockmap", "sockhash") and func in ("map_update_elem",
                                                           "map_delete_elem") \
            and _may_update_sockmap(env, func)
    kinds = _FUNC_ONLY.get(func)
    if kinds is not None and m.kind not in kinds:
        ok = False
    if not ok:
        raise reject("E309", f"cannot pass map_type {type_id(m)} into func bpf_{func}#{fid}")
    if func == "tail_call" and len(env.subprog_starts) > 1 and not env.options.jit:
        raise reject("E309", "tail_calls are not allowed in non-JITed programs with bpf-to-bpf "
                             "calls")


def _may_update_sockmap(env: Env, func: str) -> bool:
    t = env.prog_type
    if t == "sock_ops" and func == "map_delete_elem":
        return True
    if t == "tracing" and env.options.expected_attach_type == "trace_iter":
        return True
    if t in _SOCKMAP_UPDATE_TYPES:
        return True
    raise reject("E309", "cannot update sockmap in this context")


def spin_lock(env: Env, st: VState, regno: int, is_lock: bool) -> None:
    """``process_spin_lock``."""
    reg = st.regs[regno]
    m = reg.map
    if not reg.var.is_const:
        raise reject("E314", f"R{regno} doesn't have constant offset. bpf_spin_lock has to be "
                             "at the constant offset")
    if m.spin_lock_off < 0:
        raise reject("E314", f"map '{m.name}' has to have BTF in order to use bpf_spin_lock")
    if m.spin_lock_off != reg.var.value + reg.off:
        raise reject("E314", f"off {reg.var.value + reg.off} doesn't point to 'struct "
                             "bpf_spin_lock'")
    if not reg.id:  # the held lock is the id of the value locked: 0 would hold nothing
        raise reject("E314", f"R{regno} has no id naming its element: kernel-lsp cannot tell "
                             "which bpf_spin_lock it is")
    if is_lock:
        if st.active_spin_lock:
            raise reject("E505", "Locking two bpf_spin_locks are not allowed")
        st.active_spin_lock = reg.id
    else:
        if not st.active_spin_lock:
            raise reject("E505", "bpf_spin_unlock without taking a lock")
        if st.active_spin_lock != reg.id:
            raise reject("E505", "bpf_spin_unlock of different lock")
        st.active_spin_lock = 0


def timer_arg(reg: Reg, regno: int) -> None:
    """``process_timer_func`` (the timer must be at its constant offset in the value)."""
    m = reg.map
    if not reg.var.is_const:
        raise reject("E314", f"R{regno} doesn't have constant offset. bpf_timer has to be at "
                             "the constant offset")
    if m.timer_off < 0:
        raise reject("E314", f"map '{m.name}' has to have BTF in order to use bpf_timer")
    if m.timer_off != reg.var.value + reg.off:
        raise reject("E314", f"off {reg.var.value + reg.off} doesn't point to 'struct "
                             f"bpf_timer' that is at {m.timer_off}")


def const_str(reg: Reg, regno: int) -> None:
    """``ARG_PTR_TO_CONST_STR``: a frozen read-only map whose contents hold the string."""
    m = reg.map
    if not (m.frozen and m.flags & 0x80):
        raise reject("E303", f"R{regno} does not point to a readonly map'")
    if not reg.var.is_const:
        raise reject("E303", f"R{regno} is not a constant address'")
    if m.max_entries != 1:  # map_direct_value_addr: only element 0's bytes are known
        raise reject("E303", "direct value access on string failed")
    from kernel_lsp.ebpf.verify.dataflow.mem import map_access
    map_access(reg, regno, reg.off, m.value_size - reg.off, False)  # from there to the end
    at = reg.off + reg.var.value
    data = m.init.ljust(m.value_size, b"\0")
    if b"\0" not in data[at:m.value_size]:
        raise reject("E303", "string is not zero-terminated")
    end = data.index(b"\0", at) + 1
    if any(at < o + n and o < end for o, n in m.unknown_ranges):
        raise reject("E303", f"R{regno} points to a const volatile variable of '{m.name}', "
                             "which a loader may set before load: its string is not known")
