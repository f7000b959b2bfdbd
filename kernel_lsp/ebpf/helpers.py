"""Helper functions and program types of Linux 6.1: ids, names, and which type may call what.

``HELPER_NAMES[i]`` is the name of helper id ``i`` in ``__BPF_FUNC_MAPPER`` of Linux 6.1's
``include/uapi/linux/bpf.h`` (id 0 is ``unspec``; ``MAX_HELPER_ID`` is ``__BPF_FUNC_MAX_ID``).

Per program type the kernel decides with a ``get_func_proto`` callback. We model that callback
exactly only where we transcribed it (``HELPER_RULES``: ``socket_filter``, ``xdp``, ``sched_cls``,
``sched_act``, as seen by a privileged loader with ``CAP_BPF``/``CAP_PERFMON``, kfunc-free and
ignoring kernel config options); for the tracing types ``HELPER_DENY`` lists helpers known to be
refused (not a complete list); for every other type we *know no list* and therefore reject
nothing but ids outside ``1..MAX_HELPER_ID-1``. ``helper_allowed`` answers ``True``, ``False``,
or ``None`` (unknown: not modelled) so callers can say so honestly.
"""

from __future__ import annotations

PROG_TYPES: tuple[str, ...] = (
    "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
    "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb",
    "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local",
    "lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable",
    "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall",
)
DEFAULT_PROG_TYPE = "socket_filter"

# The licenses the kernel counts as GPL-compatible (include/linux/license.h): only a program
# loaded with one of them may call a helper its prototype marks gpl_only.
GPL_COMPATIBLE_LICENSES = frozenset({"GPL", "GPL v2", "GPL and additional rights",
                                     "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"})

HELPER_NAMES: tuple[str, ...] = (
    "unspec", "map_lookup_elem", "map_update_elem", "map_delete_elem", "probe_read",
    "ktime_get_ns", "trace_printk", "get_prandom_u32", "get_smp_processor_id",
    "skb_store_bytes", "l3_csum_replace", "l4_csum_replace", "tail_call", "clone_redirect",
    "get_current_pid_tgid", "get_current_uid_gid", "get_current_comm", "get_cgroup_classid",
    "skb_vlan_push", "skb_vlan_pop", "skb_get_tunnel_key", "skb_set_tunnel_key",
    "perf_event_read", "redirect", "get_route_realm", "perf_event_output", "skb_load_bytes",
    "get_stackid", "csum_diff", "skb_get_tunnel_opt", "skb_set_tunnel_opt", "skb_change_proto",
    "skb_change_type", "skb_under_cgroup", "get_hash_recalc", "get_current_task",
    "probe_write_user", "current_task_under_cgroup", "skb_change_tail", "skb_pull_data",
    "csum_update", "set_hash_invalid", "get_numa_node_id", "skb_change_head", "xdp_adjust_head",
    "probe_read_str", "get_socket_cookie", "get_socket_uid", "set_hash", "setsockopt",
    "skb_adjust_room", "redirect_map", "sk_redirect_map", "sock_map_update", "xdp_adjust_meta",
    "perf_event_read_value", "perf_prog_read_value", "getsockopt", "override_return",
    "sock_ops_cb_flags_set", "msg_redirect_map", "msg_apply_bytes", "msg_cork_bytes",
    "msg_pull_data", "bind", "xdp_adjust_tail", "skb_get_xfrm_state", "get_stack",
    "skb_load_bytes_relative", "fib_lookup", "sock_hash_update", "msg_redirect_hash",
    "sk_redirect_hash", "lwt_push_encap", "lwt_seg6_store_bytes", "lwt_seg6_adjust_srh",
    "lwt_seg6_action", "rc_repeat", "rc_keydown", "skb_cgroup_id", "get_current_cgroup_id",
    "get_local_storage", "sk_select_reuseport", "skb_ancestor_cgroup_id", "sk_lookup_tcp",
    "sk_lookup_udp", "sk_release", "map_push_elem", "map_pop_elem", "map_peek_elem",
    "msg_push_data", "msg_pop_data", "rc_pointer_rel", "spin_lock", "spin_unlock",
    "sk_fullsock", "tcp_sock", "skb_ecn_set_ce", "get_listener_sock", "skc_lookup_tcp",
    "tcp_check_syncookie", "sysctl_get_name", "sysctl_get_current_value",
    "sysctl_get_new_value", "sysctl_set_new_value", "strtol", "strtoul", "sk_storage_get",
    "sk_storage_delete", "send_signal", "tcp_gen_syncookie", "skb_output", "probe_read_user",
    "probe_read_kernel", "probe_read_user_str", "probe_read_kernel_str", "tcp_send_ack",
    "send_signal_thread", "jiffies64", "read_branch_records", "get_ns_current_pid_tgid",
    "xdp_output", "get_netns_cookie", "get_current_ancestor_cgroup_id", "sk_assign",
    "ktime_get_boot_ns", "seq_printf", "seq_write", "sk_cgroup_id", "sk_ancestor_cgroup_id",
    "ringbuf_output", "ringbuf_reserve", "ringbuf_submit", "ringbuf_discard", "ringbuf_query",
    "csum_level", "skc_to_tcp6_sock", "skc_to_tcp_sock", "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock", "skc_to_udp6_sock", "get_task_stack", "load_hdr_opt",
    "store_hdr_opt", "reserve_hdr_opt", "inode_storage_get", "inode_storage_delete", "d_path",
    "copy_from_user", "snprintf_btf", "seq_printf_btf", "skb_cgroup_classid", "redirect_neigh",
    "per_cpu_ptr", "this_cpu_ptr", "redirect_peer", "task_storage_get", "task_storage_delete",
    "get_current_task_btf", "bprm_opts_set", "ktime_get_coarse_ns", "ima_inode_hash",
    "sock_from_file", "check_mtu", "for_each_map_elem", "snprintf", "sys_bpf",
    "btf_find_by_name_kind", "sys_close", "timer_init", "timer_set_callback", "timer_start",
    "timer_cancel", "get_func_ip", "get_attach_cookie", "task_pt_regs", "get_branch_snapshot",
    "trace_vprintk", "skc_to_unix_sock", "kallsyms_lookup_name", "find_vma", "loop", "strncmp",
    "get_func_arg", "get_func_ret", "get_func_arg_cnt", "get_retval", "set_retval",
    "xdp_get_buff_len", "xdp_load_bytes", "xdp_store_bytes", "copy_from_user_task",
    "skb_set_tstamp", "ima_file_hash", "kptr_xchg", "map_lookup_percpu_elem",
    "skc_to_mptcp_sock", "dynptr_from_mem", "ringbuf_reserve_dynptr", "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr", "dynptr_read", "dynptr_write", "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4", "tcp_raw_gen_syncookie_ipv6", "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6", "ktime_get_tai_ns", "user_ringbuf_drain",
)
MAX_HELPER_ID = len(HELPER_NAMES)  # __BPF_FUNC_MAX_ID
HELPER_IDS: dict[str, int] = {name: i for i, name in enumerate(HELPER_NAMES)}


def _ids(names: str) -> frozenset[int]:
    return frozenset(HELPER_IDS[n] for n in names.split())


# kernel/bpf/helpers.c bpf_base_func_proto (all three capability tiers).
_BASE = _ids("""
    map_lookup_elem map_update_elem map_delete_elem map_push_elem map_pop_elem map_peek_elem
    map_lookup_percpu_elem get_prandom_u32 get_smp_processor_id get_numa_node_id tail_call
    ktime_get_ns ktime_get_boot_ns ktime_get_tai_ns ringbuf_output ringbuf_reserve
    ringbuf_submit ringbuf_discard ringbuf_query strncmp strtol strtoul
    spin_lock spin_unlock jiffies64 per_cpu_ptr this_cpu_ptr timer_init timer_set_callback
    timer_start timer_cancel kptr_xchg for_each_map_elem loop user_ringbuf_drain
    ringbuf_reserve_dynptr ringbuf_submit_dynptr ringbuf_discard_dynptr dynptr_from_mem
    dynptr_read dynptr_write dynptr_data
    trace_printk get_current_task get_current_task_btf probe_read_user probe_read_kernel
    probe_read_user_str probe_read_kernel_str snprintf_btf snprintf task_pt_regs trace_vprintk
""")
# net/core/filter.c bpf_sk_base_func_proto.
_SK_BASE = _BASE | _ids("""
    skc_to_tcp6_sock skc_to_tcp_sock skc_to_tcp_timewait_sock skc_to_tcp_request_sock
    skc_to_udp6_sock skc_to_unix_sock skc_to_mptcp_sock ktime_get_coarse_ns
""")
_SOCKET_FILTER = _SK_BASE | _ids("""
    skb_load_bytes skb_load_bytes_relative get_socket_cookie get_socket_uid perf_event_output
""")
_XDP = _SK_BASE | _ids("""
    perf_event_output get_smp_processor_id csum_diff xdp_adjust_head xdp_adjust_meta redirect
    redirect_map xdp_adjust_tail xdp_get_buff_len xdp_load_bytes xdp_store_bytes fib_lookup
    check_mtu sk_lookup_udp sk_lookup_tcp sk_release skc_lookup_tcp tcp_check_syncookie
    tcp_gen_syncookie tcp_raw_gen_syncookie_ipv4 tcp_raw_gen_syncookie_ipv6
    tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6
""")
_TC = _SK_BASE | _ids("""
    skb_store_bytes skb_load_bytes skb_load_bytes_relative skb_pull_data csum_diff csum_update
    csum_level l3_csum_replace l4_csum_replace clone_redirect get_cgroup_classid skb_vlan_push
    skb_vlan_pop skb_change_proto skb_change_type skb_adjust_room skb_change_tail
    skb_change_head skb_get_tunnel_key skb_set_tunnel_key skb_get_tunnel_opt skb_set_tunnel_opt
    redirect redirect_neigh redirect_peer get_route_realm get_hash_recalc set_hash_invalid
    set_hash perf_event_output get_smp_processor_id skb_under_cgroup get_socket_cookie
    get_socket_uid fib_lookup check_mtu sk_fullsock sk_storage_get sk_storage_delete
    skb_get_xfrm_state skb_cgroup_classid skb_cgroup_id skb_ancestor_cgroup_id sk_lookup_tcp
    sk_lookup_udp sk_release tcp_sock get_listener_sock skc_lookup_tcp tcp_check_syncookie
    skb_ecn_set_ce tcp_gen_syncookie sk_assign skb_set_tstamp tcp_raw_gen_syncookie_ipv4
    tcp_raw_gen_syncookie_ipv6 tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6
""")

# Partly known types: helpers we know their get_func_proto refuses (not a complete list).
# Linux 6.1 offers ktime_get_coarse_ns only to socket/cgroup program types.
_TRACING_DENY = _ids("ktime_get_coarse_ns")
HELPER_DENY: dict[str, frozenset[int]] = {
    t: _TRACING_DENY for t in ("kprobe", "tracepoint", "perf_event", "raw_tracepoint",
                               "raw_tracepoint_writable")
}

HELPER_RULES: dict[str, frozenset[int]] = {
    "socket_filter": _SOCKET_FILTER,
    "xdp": _XDP,
    "sched_cls": _TC,
    "sched_act": _TC,
}


# Helpers a program type's get_func_proto offers only for some expected attach types (Linux 6.1;
# the generated ``helperavail`` table cannot read these conditions and lists them as offered).
# bpf_prog_has_trampoline(): fentry/fexit/fmod_ret tracing programs and lsm_mac LSM programs.
_TRAMPOLINE = {"tracing": frozenset({"trace_fentry", "trace_fexit", "modify_return"}),
               "lsm": frozenset({"lsm_mac"})}
# kernel/bpf/cgroup.c cgroup_common_func_proto: no retval for these hooks (an unset expected
# attach type is 0, BPF_CGROUP_INET_INGRESS, one of them).
_NO_RETVAL = frozenset({
    "cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_sock_ops", "cgroup_udp4_recvmsg",
    "cgroup_udp6_recvmsg", "cgroup_inet4_getpeername", "cgroup_inet6_getpeername",
    "cgroup_inet4_getsockname", "cgroup_inet6_getsockname"})
_CGROUP_TYPES = frozenset({"cgroup_skb", "cgroup_sock", "cgroup_sock_addr", "sock_ops",
                           "cgroup_device", "cgroup_sysctl", "cgroup_sockopt"})
# net/core/filter.c sock_addr_func_proto: setsockopt/getsockopt for every sock_addr hook.
_SOCK_ADDR_HOOKS = frozenset(
    f"cgroup_{h}" for h in ("inet4_bind", "inet6_bind", "inet4_connect", "inet6_connect",
                            "udp4_recvmsg", "udp6_recvmsg", "udp4_sendmsg", "udp6_sendmsg",
                            "inet4_getpeername", "inet6_getpeername", "inet4_getsockname",
                            "inet6_getsockname"))
# (program type, helper) -> the expected attach types that get the helper
_BY_ATTACH: dict[tuple[str, str], frozenset[str]] = {
    **{(t, h): _TRAMPOLINE.get(t, frozenset()) for t in ("tracing", "lsm", "syscall")
       for h in ("get_func_arg", "get_func_ret", "get_func_arg_cnt", "get_attach_cookie")},
    **{("tracing", h): frozenset({"trace_iter"})
       for h in ("seq_printf", "seq_write", "seq_printf_btf")},
    # bpf_lsm_func_proto: cgroup_common_func_proto only for lsm_cgroup
    **{("lsm", h): frozenset({"lsm_cgroup"})
       for h in ("get_local_storage", "get_retval", "set_retval")},
    ("cgroup_sock_addr", "bind"): frozenset({"cgroup_inet4_connect", "cgroup_inet6_connect"}),
    ("cgroup_sock_addr", "setsockopt"): _SOCK_ADDR_HOOKS,
    ("cgroup_sock_addr", "getsockopt"): _SOCK_ADDR_HOOKS,
    # kernel/bpf/cgroup.c cg_sockopt_func_proto: both only for the setsockopt hook
    ("cgroup_sockopt", "setsockopt"): frozenset({"cgroup_setsockopt"}),
    ("cgroup_sockopt", "getsockopt"): frozenset({"cgroup_setsockopt"}),
}


def attach_allows(prog_type: str, name: str, attach: str | None) -> bool:
    """Whether ``prog_type`` loaded with expected attach type ``attach`` (None: unset) gets helper
    ``name`` from its get_func_proto, for the helpers whose offer depends on the attach type;
    True for every other helper. An unset attach type gets the refusal."""
    if name in ("seq_printf", "seq_write", "seq_printf_btf") and prog_type != "tracing":
        return False  # tracing_prog_func_proto reached from lsm or syscall: not an iterator
    if name in ("get_retval", "set_retval") and prog_type in _CGROUP_TYPES:
        return attach is not None and attach not in _NO_RETVAL
    allowed = _BY_ATTACH.get((prog_type, name))
    return allowed is None or attach in allowed


def helper_name(helper_id: int) -> str:
    """The kernel's ``func_id_name``: ``bpf_`` + the helper's name, or ``unknown``."""
    if 0 <= helper_id < MAX_HELPER_ID:
        return "bpf_" + HELPER_NAMES[helper_id]
    return "unknown"


def helper_allowed(prog_type: str, helper_id: int, privileged: bool = True,
                   attach: str | None = None) -> bool | None:
    """Whether ``prog_type`` (expected attach type ``attach``) may call helper ``helper_id``;
    ``None`` when not modelled.

    Answers from the generated ``helperavail`` table (every program type's ``get_func_proto``
    of Linux 6.1, with the capability each helper needs) where it knows the type, else from the
    hand-written ``HELPER_RULES``/``HELPER_DENY`` above.
    """
    from kernel_lsp.ebpf import helperavail

    if not 0 < helper_id < MAX_HELPER_ID:
        return False
    masks = helperavail.AVAIL.get(prog_type)
    if masks is not None:
        bits = int(masks[0], 16)
        if privileged:
            bits |= int(masks[1], 16) | int(masks[2], 16)
        return bool(bits >> helper_id & 1) \
            and attach_allows(prog_type, HELPER_NAMES[helper_id], attach)
    allowed = HELPER_RULES.get(prog_type)
    if allowed is None:
        return False if helper_id in HELPER_DENY.get(prog_type, ()) else None
    return helper_id in allowed
