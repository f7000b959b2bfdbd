"""Program type, expected attach type and flags of an ELF section name, as libbpf decides them.

The table is libbpf 1.1's ``section_defs`` (the copy in Linux 6.1's ``tools/lib/bpf/libbpf.c``),
transcribed as facts: pattern, program type, expected attach type, flags. libbpf 1.x matches a
name strictly, first row wins:

* ``type`` — the name must equal ``type`` (``SEC("xdp")``, ``SEC("socket")``);
* ``type+`` — ``type`` itself or ``type/extras`` (``SEC("kprobe/do_sys_open")``);
* a leading ``?`` (``SEC("?xdp")``: not auto-loaded) is ignored.

Objects written for older loaders (libbpf < 1.0, ``samples/bpf``'s ``bpf_load.c``, iproute2)
name sections like ``socket1``, ``xdp_fwd`` or ``kprobe_x``: libbpf 1.x knows no type for them.
:func:`section_def` then falls back to the old prefix convention — a table pattern followed by a
word boundary (a character that is not a letter: digit, ``_``, ``.``, ``/``, ``-``) — and says
so (``how == "legacy"``); ``xdpfoo`` or ``tcp_x`` match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

ATTACHABLE, EXP_ATTACH_OPT, ATTACH_BTF, SLEEPABLE, XDP_FRAGS = 2, 1, 4, 8, 16

# (pattern, program type, expected attach type or "", flags) in libbpf 1.1's order.
_A, _AO, _BTF, _S = ATTACHABLE, ATTACHABLE | EXP_ATTACH_OPT, ATTACH_BTF, SLEEPABLE
SECTION_DEFS: tuple[tuple[str, str, str, int], ...] = (
    ("socket", "socket_filter", "", 0),
    ("sk_reuseport/migrate", "sk_reuseport", "sk_reuseport_select_or_migrate", _A),
    ("sk_reuseport", "sk_reuseport", "sk_reuseport_select", _A),
    ("kprobe+", "kprobe", "", 0),
    ("uprobe+", "kprobe", "", 0),
    ("uprobe.s+", "kprobe", "", _S),
    ("kretprobe+", "kprobe", "", 0),
    ("uretprobe+", "kprobe", "", 0),
    ("uretprobe.s+", "kprobe", "", _S),
    ("kprobe.multi+", "kprobe", "trace_kprobe_multi", 0),
    ("kretprobe.multi+", "kprobe", "trace_kprobe_multi", 0),
    ("ksyscall+", "kprobe", "", 0),
    ("kretsyscall+", "kprobe", "", 0),
    ("usdt+", "kprobe", "", 0),
    ("tc", "sched_cls", "", 0),
    ("classifier", "sched_cls", "", 0),
    ("action", "sched_act", "", 0),
    ("tracepoint+", "tracepoint", "", 0),
    ("tp+", "tracepoint", "", 0),
    ("raw_tracepoint+", "raw_tracepoint", "", 0),
    ("raw_tp+", "raw_tracepoint", "", 0),
    ("raw_tracepoint.w+", "raw_tracepoint_writable", "", 0),
    ("raw_tp.w+", "raw_tracepoint_writable", "", 0),
    ("tp_btf+", "tracing", "trace_raw_tp", _BTF),
    ("fentry+", "tracing", "trace_fentry", _BTF),
    ("fmod_ret+", "tracing", "modify_return", _BTF),
    ("fexit+", "tracing", "trace_fexit", _BTF),
    ("fentry.s+", "tracing", "trace_fentry", _BTF | _S),
    ("fmod_ret.s+", "tracing", "modify_return", _BTF | _S),
    ("fexit.s+", "tracing", "trace_fexit", _BTF | _S),
    ("freplace+", "ext", "", _BTF),
    ("lsm+", "lsm", "lsm_mac", _BTF),
    ("lsm.s+", "lsm", "lsm_mac", _BTF | _S),
    ("lsm_cgroup+", "lsm", "lsm_cgroup", _BTF),
    ("iter+", "tracing", "trace_iter", _BTF),
    ("iter.s+", "tracing", "trace_iter", _BTF | _S),
    ("syscall", "syscall", "", _S),
    ("xdp.frags/devmap", "xdp", "xdp_devmap", XDP_FRAGS),
    ("xdp/devmap", "xdp", "xdp_devmap", _A),
    ("xdp.frags/cpumap", "xdp", "xdp_cpumap", XDP_FRAGS),
    ("xdp/cpumap", "xdp", "xdp_cpumap", _A),
    ("xdp.frags", "xdp", "xdp", XDP_FRAGS),
    ("xdp", "xdp", "xdp", _AO),
    ("perf_event", "perf_event", "", 0),
    ("lwt_in", "lwt_in", "", 0),
    ("lwt_out", "lwt_out", "", 0),
    ("lwt_xmit", "lwt_xmit", "", 0),
    ("lwt_seg6local", "lwt_seg6local", "", 0),
    ("sockops", "sock_ops", "cgroup_sock_ops", _AO),
    ("sk_skb/stream_parser", "sk_skb", "sk_skb_stream_parser", _AO),
    ("sk_skb/stream_verdict", "sk_skb", "sk_skb_stream_verdict", _AO),
    ("sk_skb", "sk_skb", "", 0),
    ("sk_msg", "sk_msg", "sk_msg_verdict", _AO),
    ("lirc_mode2", "lirc_mode2", "lirc_mode2", _AO),
    ("flow_dissector", "flow_dissector", "flow_dissector", _AO),
    ("cgroup_skb/ingress", "cgroup_skb", "cgroup_inet_ingress", _AO),
    ("cgroup_skb/egress", "cgroup_skb", "cgroup_inet_egress", _AO),
    ("cgroup/skb", "cgroup_skb", "", 0),
    ("cgroup/sock_create", "cgroup_sock", "cgroup_inet_sock_create", _A),
    ("cgroup/sock_release", "cgroup_sock", "cgroup_inet_sock_release", _A),
    ("cgroup/sock", "cgroup_sock", "cgroup_inet_sock_create", _AO),
    ("cgroup/post_bind4", "cgroup_sock", "cgroup_inet4_post_bind", _A),
    ("cgroup/post_bind6", "cgroup_sock", "cgroup_inet6_post_bind", _A),
    ("cgroup/bind4", "cgroup_sock_addr", "cgroup_inet4_bind", _A),
    ("cgroup/bind6", "cgroup_sock_addr", "cgroup_inet6_bind", _A),
    ("cgroup/connect4", "cgroup_sock_addr", "cgroup_inet4_connect", _A),
    ("cgroup/connect6", "cgroup_sock_addr", "cgroup_inet6_connect", _A),
    ("cgroup/sendmsg4", "cgroup_sock_addr", "cgroup_udp4_sendmsg", _A),
    ("cgroup/sendmsg6", "cgroup_sock_addr", "cgroup_udp6_sendmsg", _A),
    ("cgroup/recvmsg4", "cgroup_sock_addr", "cgroup_udp4_recvmsg", _A),
    ("cgroup/recvmsg6", "cgroup_sock_addr", "cgroup_udp6_recvmsg", _A),
    ("cgroup/getpeername4", "cgroup_sock_addr", "cgroup_inet4_getpeername", _A),
    ("cgroup/getpeername6", "cgroup_sock_addr", "cgroup_inet6_getpeername", _A),
    ("cgroup/getsockname4", "cgroup_sock_addr", "cgroup_inet4_getsockname", _A),
    ("cgroup/getsockname6", "cgroup_sock_addr", "cgroup_inet6_getsockname", _A),
    ("cgroup/sysctl", "cgroup_sysctl", "cgroup_sysctl", _A),
    ("cgroup/getsockopt", "cgroup_sockopt", "cgroup_getsockopt", _A),
    ("cgroup/setsockopt", "cgroup_sockopt", "cgroup_setsockopt", _A),
    ("cgroup/dev", "cgroup_device", "cgroup_device", _AO),
    ("struct_ops+", "struct_ops", "", 0),
    ("sk_lookup", "sk_lookup", "sk_lookup", _A),
)


@dataclass(frozen=True, slots=True)
class SectionDef:
    """What a loader derives from a section name."""

    pattern: str  # the table row that matched (``kprobe+``)
    prog_type: str  # kernel name without ``BPF_PROG_TYPE_``, lower case
    attach_type: str  # expected attach type without ``BPF_``, lower case; "" for none
    flags: int
    how: str  # "libbpf" (libbpf 1.x match) or "legacy" (old prefix convention)

    @property
    def sleepable(self) -> bool:
        return bool(self.flags & SLEEPABLE)

    @property
    def xdp_frags(self) -> bool:
        return bool(self.flags & XDP_FRAGS)


def _strict(pattern: str, name: str) -> bool:
    if pattern.endswith("+"):
        stem = pattern[:-1]
        return name == stem or name.startswith(stem + "/")
    return name == pattern


def _legacy(pattern: str, name: str) -> bool:
    stem = pattern.rstrip("+")
    if not name.startswith(stem) or len(name) == len(stem):
        return False
    return not name[len(stem)].isalpha()


def section_def(section: str) -> SectionDef | None:
    """The table row ``section`` matches (libbpf 1.x first, then the legacy prefix rule)."""
    name = section[1:] if section.startswith("?") else section
    for how, match in (("libbpf", _strict), ("legacy", _legacy)):
        for pattern, prog_type, attach, flags in SECTION_DEFS:
            if match(pattern, name):
                return SectionDef(pattern, prog_type, attach, flags, how)
    return None


def prog_type_for_section(section: str) -> str | None:
    """The program type a loader would give ``section``, or ``None`` if it knows none."""
    found = section_def(section)
    return found.prog_type if found else None
