"""Context layouts per program type: which fields of R1's struct may be read or written, and how.

``check(env, off, size, write)`` is the program type's ``is_valid_access`` of Linux 6.1 (facts
transcribed per type: ``__sk_buff`` for socket filters, tc, cgroup skb, lwt and sk_skb, ``xdp_md``,
``bpf_sock``, ``bpf_sock_addr``, ``bpf_sock_ops``, ``sk_msg_md``, flow dissector, ``sk_reuseport_md``,
``bpf_sk_lookup``, tracing contexts, cgroup device/sysctl/sockopt). It returns the loaded value (an
unknown scalar, or a packet/socket pointer for the pointer fields) or raises the kernel's
``invalid bpf_context access off=%d size=%d``. ``check_sock`` does the same for socket pointers.
"""

from __future__ import annotations

from kernel_lsp.ebpf.ctxstructs import struct_layout
from kernel_lsp.ebpf.verify.dataflow.env import Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    MAYBE_NULL,
    PTR_TO_FLOW_KEYS,
    PTR_TO_PACKET,
    PTR_TO_PACKET_END,
    PTR_TO_PACKET_META,
    PTR_TO_SOCK_COMMON,
    PTR_TO_SOCKET,
    PTR_TO_TCP_SOCK,
    PTR_TO_TP_BUFFER,
    PTR_TO_XDP_SOCK,
    Reg,
    pointer,
    type_str,
    unknown,
)

SKB = struct_layout("__sk_buff")
PT_REGS_SIZE = 168  # x86-64 struct pt_regs
PERF_MAX_TRACE_SIZE = 8192
MAX_BPF_FUNC_ARGS = 12


class _NotValid(Exception):
    pass


def _in(layout, off: int, first: str, last: str | None = None) -> bool:
    """``bpf_ctx_range(_till)``: ``off`` lies within members ``first`` .. ``last``."""
    lo = layout.offsetof(first)
    end_member = last or first
    hi = layout.offsetof(end_member) + layout.member_size(end_member)
    return lo <= off < hi


def _narrow(size: int, default: int) -> bool:
    """``bpf_ctx_narrow_access_ok``."""
    return size <= default and size & (size - 1) == 0


def _skb_common(off: int, size: int, write: bool) -> int | None:
    """``bpf_skb_is_valid_access``: the result type (None: scalar) or raise."""
    if off < 0 or off >= SKB.size or off % size:
        raise _NotValid
    result = None
    if _in(SKB, off, "cb"):
        if off + size > SKB.offsetof("cb") + 20:
            raise _NotValid
    elif any(_in(SKB, off, m) for m in ("remote_ip6", "local_ip6", "remote_ip4", "local_ip4",
                                        "data", "data_meta", "data_end")):
        if size != 4:
            raise _NotValid
    elif _in(SKB, off, "flow_keys"):
        raise _NotValid
    elif _in(SKB, off, "hwtstamp"):
        if write or size != 8:
            raise _NotValid
    elif _in(SKB, off, "tstamp"):
        if size != 8:
            raise _NotValid
    elif _in(SKB, off, "sk"):
        if write or size != 8:
            raise _NotValid
        result = PTR_TO_SOCK_COMMON | MAYBE_NULL
    elif off == SKB.offsetof("tstamp_type") or 181 <= off < SKB.offsetof("hwtstamp"):
        raise _NotValid
    elif write:
        if size != 4:
            raise _NotValid
    elif not _narrow(size, 4):
        raise _NotValid
    return result


def _skb_variant(env: Env, off: int, size: int, write: bool) -> int | None:
    t = env.prog_type
    ins = lambda *m: _in(SKB, off, *m)  # noqa: E731
    if t == "socket_filter":
        if (ins("tc_classid") or ins("data") or ins("data_meta") or ins("data_end")
                or ins("family", "local_port") or ins("tstamp") or ins("wire_len")
                or ins("hwtstamp")):
            raise _NotValid
        if write and not ins("cb"):
            raise _NotValid
        return _skb_common(off, size, write)
    if t == "cgroup_skb":
        if ins("tc_classid") or ins("data_meta") or ins("wire_len"):
            raise _NotValid
        if (ins("data") or ins("data_end")) and not env.bpf_capable:
            raise _NotValid
        if write and not (ins("mark") or ins("priority") or ins("cb")
                          or (ins("tstamp") and env.bpf_capable)):
            raise _NotValid
        common = _skb_common(off, size, write)  # first: it refuses a narrow pointer load
        return _pkt_fields(off) or common
    if t in ("lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local"):
        if (ins("tc_classid") or ins("family", "local_port") or ins("data_meta")
                or ins("tstamp") or ins("wire_len") or ins("hwtstamp")):
            raise _NotValid
        if write and not (ins("mark") or ins("priority") or ins("cb")):
            raise _NotValid
        common = _skb_common(off, size, write)  # first: it refuses a narrow pointer load
        return _pkt_fields(off) or common
    if t == "sk_skb":
        if (ins("tc_classid") or ins("data_meta") or ins("tstamp") or ins("wire_len")
                or ins("hwtstamp") or ins("mark")):
            raise _NotValid
        if write and not (ins("tc_index") or ins("priority")):
            raise _NotValid
        common = _skb_common(off, size, write)  # first: it refuses a narrow pointer load
        return _pkt_fields(off) or common
    if t == "flow_dissector":
        if off < 0 or off >= SKB.size or off % size or write:
            raise _NotValid
        if ins("data") or ins("data_end"):
            if size != 4:
                raise _NotValid
            return _pkt_fields(off)
        if ins("flow_keys") and size == 8:
            return PTR_TO_FLOW_KEYS
        raise _NotValid
    # sched_cls, sched_act
    if write and not (ins("mark") or ins("tc_index") or ins("priority") or ins("tc_classid")
                      or ins("cb") or ins("tstamp") or ins("queue_mapping")):
        raise _NotValid
    if ins("family", "local_port"):
        raise _NotValid
    if off == SKB.offsetof("tstamp_type"):
        if size != 1:
            raise _NotValid
        return None
    kind = _pkt_fields(off, meta=True)
    common = _skb_common(off, size, write)
    return kind or common


def _pkt_fields(off: int, meta: bool = False) -> int | None:
    if _in(SKB, off, "data"):
        return PTR_TO_PACKET
    if _in(SKB, off, "data_end"):
        return PTR_TO_PACKET_END
    if meta and _in(SKB, off, "data_meta"):
        return PTR_TO_PACKET_META
    return None


def _xdp(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("xdp_md")
    if env.options.expected_attach_type != "xdp_devmap" and off == lay.offsetof("egress_ifindex"):
        raise _NotValid
    if write or off < 0 or off >= lay.size or off % size or size != 4:
        raise _NotValid
    return {0: PTR_TO_PACKET, 4: PTR_TO_PACKET_END, 8: PTR_TO_PACKET_META}.get(off)


def sock_valid(off: int, size: int) -> bool:
    """``bpf_sock_is_valid_access`` (reads of ``struct bpf_sock``)."""
    lay = struct_layout("bpf_sock")
    if off < 0 or off >= lay.size or off % size:
        return False
    named = [lay.offsetof(m) for m in ("state", "family", "type", "protocol", "src_port",
                                       "rx_queue_mapping")]
    if off in named or any(_in(lay, off, m) for m in ("src_ip4", "src_ip6", "dst_ip4",
                                                      "dst_ip6")):
        return _narrow(size, 4)
    if _in(lay, off, "dst_port"):
        return _narrow(size, 4 if size == 4 else 2)
    if lay.offsetof("dst_port") + 2 <= off < lay.offsetof("dst_ip4"):
        return False
    return size == 4


def _cgroup_sock(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("bpf_sock")
    if not sock_valid(off, size):
        raise _NotValid
    attach = env.options.expected_attach_type or ""
    if off in (lay.offsetof("bound_dev_if"), lay.offsetof("mark"), lay.offsetof("priority")):
        if attach in ("cgroup_inet_sock_create", "cgroup_inet_sock_release", ""):
            return None
        raise _NotValid
    if _in(lay, off, "src_ip4") and attach != "cgroup_inet4_post_bind":
        raise _NotValid
    if _in(lay, off, "src_ip6") and attach != "cgroup_inet6_post_bind":
        raise _NotValid
    if _in(lay, off, "src_port") and attach not in ("cgroup_inet4_post_bind",
                                                    "cgroup_inet6_post_bind"):
        raise _NotValid
    if write:
        raise _NotValid
    return None


def _sock_addr(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("bpf_sock_addr")
    if off < 0 or off >= lay.size or off % size:
        raise _NotValid
    attach = env.options.expected_attach_type or ""
    v4 = ("cgroup_inet4_bind", "cgroup_inet4_connect", "cgroup_inet4_getpeername",
          "cgroup_inet4_getsockname", "cgroup_udp4_sendmsg", "cgroup_udp4_recvmsg")
    if _in(lay, off, "user_ip4") and attach not in v4:
        raise _NotValid
    if _in(lay, off, "user_ip6") and attach not in tuple(a.replace("4", "6") for a in v4):
        raise _NotValid
    if _in(lay, off, "msg_src_ip4") and attach != "cgroup_udp4_sendmsg":
        raise _NotValid
    if _in(lay, off, "msg_src_ip6") and attach != "cgroup_udp6_sendmsg":
        raise _NotValid
    if any(_in(lay, off, m) for m in ("user_ip4", "user_ip6", "msg_src_ip4", "msg_src_ip6",
                                      "user_port")):
        wide = size == 8 and off % 8 == 0 and any(
            _in(lay, off, m) and off + size <= lay.offsetof(m) + lay.member_size(m)
            for m in ("user_ip6", "msg_src_ip6"))
        if not wide and not (_narrow(size, 4) if not write else size == 4):
            raise _NotValid
        return None
    if _in(lay, off, "sk"):
        if write or size != 8:
            raise _NotValid
        return PTR_TO_SOCKET
    if any(_in(lay, off, m) for m in ("user_family", "family", "type", "protocol")):
        if write or size != 4:
            raise _NotValid
        return None
    raise _NotValid


def _sock_ops(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("bpf_sock_ops")
    if off < 0 or off >= lay.size or off % size:
        raise _NotValid
    if write:
        if off in (4, lay.offsetof("sk_txhash")) and size == 4:  # reply, sk_txhash
            return None
        raise _NotValid
    if _in(lay, off, "bytes_received", "bytes_acked"):
        if size != 8:
            raise _NotValid
        return None
    for member, kind in (("sk", PTR_TO_SOCKET | MAYBE_NULL), ("skb_data", PTR_TO_PACKET),
                         ("skb_data_end", PTR_TO_PACKET_END)):
        if _in(lay, off, member):
            if size != 8:
                raise _NotValid
            return kind
    if off == lay.offsetof("skb_tcp_flags"):
        if not _narrow(size, 4):
            raise _NotValid
        return None
    if size != 4:
        raise _NotValid
    return None


def _sk_msg(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("sk_msg_md")
    if write or off % size:
        raise _NotValid
    for member, kind in (("data", PTR_TO_PACKET), ("data_end", PTR_TO_PACKET_END),
                         ("sk", PTR_TO_SOCKET)):
        if _in(lay, off, member):
            if size != 8:
                raise _NotValid
            return kind
    if any(_in(lay, off, m) for m in ("family", "remote_ip4", "local_ip4", "remote_ip6",
                                      "local_ip6", "remote_port", "local_port", "size")):
        if size != 4:
            raise _NotValid
        return None
    raise _NotValid


def _sk_reuseport(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("sk_reuseport_md")
    if off < 0 or off >= lay.size or off % size or write:
        raise _NotValid
    exact = {lay.offsetof("data"): (PTR_TO_PACKET, 8), lay.offsetof("data_end"):
             (PTR_TO_PACKET_END, 8), lay.offsetof("hash"): (None, 4), lay.offsetof("sk"):
             (PTR_TO_SOCKET, 8), lay.offsetof("migrating_sk"): (PTR_TO_SOCK_COMMON | MAYBE_NULL,
                                                              8)}
    if off in exact:
        kind, want = exact[off]
        if size != want:
            raise _NotValid
        return kind
    if _in(lay, off, "eth_protocol") and size < 2:
        raise _NotValid
    if any(_in(lay, off, m) for m in ("eth_protocol", "ip_protocol", "bind_inany", "len")):
        if not _narrow(size, 4):
            raise _NotValid
        return None
    raise _NotValid


def _sk_lookup(env: Env, off: int, size: int, write: bool) -> int | None:
    lay = struct_layout("bpf_sk_lookup")
    if off < 0 or off >= lay.size or off % size or write:
        raise _NotValid
    if _in(lay, off, "sk"):
        if size != 8:
            raise _NotValid
        return PTR_TO_SOCKET | MAYBE_NULL
    if any(_in(lay, off, m) for m in ("family", "protocol", "remote_ip4", "local_ip4",
                                      "remote_ip6", "local_ip6", "local_port",
                                      "ingress_ifindex")):
        if not _narrow(size, 4):
            raise _NotValid
        return None
    port = lay.offsetof("remote_port")
    if port <= off < port + 2:
        if size != 4 and not _narrow(size, 2):
            raise _NotValid
        return None
    if port + 2 <= off < lay.offsetof("local_ip4"):
        if not _narrow(size, 2):
            raise _NotValid
        return None
    raise _NotValid


def _tracing(env: Env, off: int, size: int, write: bool) -> int | None:
    t = env.prog_type
    if write or off % size:
        raise _NotValid
    if t == "kprobe":
        if off < 0 or off + size > PT_REGS_SIZE:
            raise _NotValid
        return None
    if t == "tracepoint":
        if off < 8 or off >= PERF_MAX_TRACE_SIZE:
            raise _NotValid
        return None
    if t == "perf_event":
        lay = struct_layout("bpf_perf_event_data")
        if off < 0 or off >= lay.size:
            raise _NotValid
        if _in(lay, off, "sample_period") or _in(lay, off, "addr"):
            if not _narrow(size, 8):
                raise _NotValid
        elif size != 8:
            raise _NotValid
        return None
    result = None
    if t == "raw_tracepoint_writable" and off == 0:
        if size != 8:
            raise _NotValid
        result = PTR_TO_TP_BUFFER
    if off < 0 or off >= 8 * MAX_BPF_FUNC_ARGS:
        raise _NotValid
    return result


def _cgroup_misc(env: Env, off: int, size: int, write: bool) -> int | None:
    t, attach = env.prog_type, env.options.expected_attach_type or ""
    if t == "cgroup_device":
        if write or off < 0 or off + size > 12 or off % size:
            raise _NotValid
        if off < 4 and not _narrow(size, 4) or off >= 4 and size != 4:
            raise _NotValid
        return None
    if t == "cgroup_sysctl":
        if off < 0 or off + size > 8 or off % size:
            raise _NotValid
        if off < 4:
            if write or not _narrow(size, 4):
                raise _NotValid
        elif not (_narrow(size, 4) if not write else size == 4):
            raise _NotValid
        return None
    lay = struct_layout("bpf_sockopt")  # cgroup_sockopt
    if off < 0 or off >= lay.size or off % size:
        raise _NotValid
    names = {lay.offsetof(m): m for m in ("level", "optname", "optlen", "retval")}
    if write:
        member = names.get(off)
        if member is None or size != 4:
            raise _NotValid
        if member == "retval" and attach != "cgroup_getsockopt":
            raise _NotValid
        if member in ("level", "optname") and attach != "cgroup_setsockopt":
            raise _NotValid
        return None
    for member, kind in (("sk", PTR_TO_SOCKET), ("optval", PTR_TO_PACKET),
                         ("optval_end", PTR_TO_PACKET_END)):
        if _in(lay, off, member):
            if size != 8:
                raise _NotValid
            return kind
    if size != 4 or (names.get(off) == "retval" and attach != "cgroup_getsockopt"):
        raise _NotValid
    return None


_SKB_TYPES = ("socket_filter", "sched_cls", "sched_act", "cgroup_skb", "lwt_in", "lwt_out",
              "lwt_xmit", "lwt_seg6local", "sk_skb", "flow_dissector")
_BY_TYPE = {t: _skb_variant for t in _SKB_TYPES} | {
    "xdp": _xdp, "cgroup_sock": _cgroup_sock, "cgroup_sock_addr": _sock_addr,
    "sock_ops": _sock_ops, "sk_msg": _sk_msg, "sk_reuseport": _sk_reuseport,
    "sk_lookup": _sk_lookup, "kprobe": _tracing, "tracepoint": _tracing,
    "perf_event": _tracing, "raw_tracepoint": _tracing, "raw_tracepoint_writable": _tracing,
    "cgroup_device": _cgroup_misc, "cgroup_sysctl": _cgroup_misc,
    "cgroup_sockopt": _cgroup_misc,
}


def check(env: Env, off: int, size: int, write: bool) -> Reg | None:
    """``check_ctx_access``: the loaded value, ``None`` for a permitted store, or raise."""
    fn = _BY_TYPE.get(env.prog_type)
    if fn is None:
        raise reject("E299", f"the context of program type {env.prog_type} is described by the "
                             "kernel's BTF, which kernel-lsp does not model")
    try:
        kind = fn(env, off, size, write)
    except _NotValid:
        raise reject("E304", f"invalid bpf_context access off={off} size={size}") from None
    if write:
        return None
    return unknown() if kind is None else pointer(kind)


def check_sock(reg: Reg, regno: int, off: int, size: int) -> None:
    """``check_sock_access``: reads through sock, sock_common, tcp_sock and xdp_sock."""
    if reg.smin < 0:
        raise reject("E403", f"R{regno} min value is negative, either use unsigned index or do "
                             "a if (index >=0) check.")
    lay = struct_layout("bpf_sock")
    if reg.type == PTR_TO_SOCK_COMMON:
        ok = not (lay.offsetof("type") <= off < lay.offsetof("priority") + 4) and \
            sock_valid(off, size)
    elif reg.type == PTR_TO_SOCKET:
        ok = sock_valid(off, size)
    elif reg.type == PTR_TO_TCP_SOCK:
        tcp = struct_layout("bpf_tcp_sock")
        end = tcp.offsetof("icsk_retransmits") + 4
        ok = 0 <= off < end and not off % size and size == (
            8 if off in (tcp.offsetof("bytes_received"), tcp.offsetof("bytes_acked")) else 4)
    elif reg.type == PTR_TO_XDP_SOCK:
        ok = 0 <= off < 4 and not off % size and size == 4
    else:
        ok = False
    if not ok:
        raise reject("E310", f"R{regno} invalid {type_str(reg.type)} access off={off} "
                             f"size={size}")
