"""Context regions handed to a program at R1: raw input, or a kernel-like packet context.

Raw mode (the default, the issue's calling convention): the input bytes are the context region
(read-write) and also what ``LD_ABS``/``LD_IND`` read. Packet mode (``packet=True``) mirrors what
``BPF_PROG_TEST_RUN`` builds for packet program types: the input is the packet, R1 points to an
``__sk_buff`` (socket filter, tc, cgroup skb, lwt, sk_skb) or ``xdp_md`` whose 32-bit
``data``/``data_end``/``data_meta`` fields load as full 64-bit pointers into the packet region,
as the kernel's context rewriting makes them. Non-L2 skb types see the packet after the 14-byte
Ethernet header, as the kernel's test-run does. Only ``len``, ``wire_len``, ``ifindex`` (1, loopback), the
data pointers and XDP's ``ingress_ifindex`` (1) are filled in; other fields read as zero.
"""

from __future__ import annotations

from kernel_lsp.ebpf.ctxstructs import struct_layout
from kernel_lsp.ebpf.run.memory import RW, Memory, Region

ETH_HLEN = 14
LOOPBACK_IFINDEX = 1  # the kernel's test-run attaches packets to the loopback device
SKB_TYPES = {"socket_filter", "sched_cls", "sched_act", "cgroup_skb", "lwt_in", "lwt_out",
             "lwt_xmit", "lwt_seg6local", "sk_skb", "flow_dissector"}
L2_TYPES = {"sched_cls", "sched_act"}
XDP_TYPES = {"xdp"}


def normalize_prog_type(name: str | None) -> str | None:
    """``BPF_PROG_TYPE_XDP`` / ``XDP`` / ``xdp`` -> ``xdp``."""
    if not name:
        return None
    return name.lower().removeprefix("bpf_prog_type_")


def has_packet_context(prog_type: str | None) -> bool:
    t = normalize_prog_type(prog_type)
    return t in SKB_TYPES or t in XDP_TYPES


def build_context(mem: Memory, data: bytes, prog_type: str | None,
                  packet: bool) -> tuple[Region, Region]:
    """Map the context (and packet) regions; return ``(ctx, packet_region)``."""
    ptype = normalize_prog_type(prog_type)
    if not packet or not has_packet_context(ptype):
        ctx = mem.add("context", data, RW)
        return ctx, ctx
    if ptype in XDP_TYPES:
        return _xdp(mem, data)
    return _skb(mem, data, ptype in L2_TYPES)


def _skb(mem: Memory, data: bytes, is_l2: bool) -> tuple[Region, Region]:
    payload = data if is_l2 else data[ETH_HLEN:]
    pkt = mem.add("packet", payload, RW)
    layout = struct_layout("__sk_buff")
    ctx = mem.add("context (__sk_buff)", layout.size, RW)
    ctx.data[0:4] = len(payload).to_bytes(4, "little")
    for field, value in (("wire_len", len(data)), ("ifindex", LOOPBACK_IFINDEX)):
        off = layout.offsetof(field)
        ctx.data[off : off + 4] = value.to_bytes(4, "little")
    for field, value in (("data", pkt.base), ("data_end", pkt.end), ("data_meta", pkt.base)):
        ctx.pointer_fields[layout.offsetof(field)] = value
    return ctx, pkt


def _xdp(mem: Memory, data: bytes) -> tuple[Region, Region]:
    pkt = mem.add("packet", data, RW)
    layout = struct_layout("xdp_md")
    ctx = mem.add("context (xdp_md)", layout.size, RW)
    off = layout.offsetof("ingress_ifindex")
    ctx.data[off : off + 4] = LOOPBACK_IFINDEX.to_bytes(4, "little")
    for field, value in (("data", pkt.base), ("data_end", pkt.end), ("data_meta", pkt.base)):
        ctx.pointer_fields[layout.offsetof(field)] = value
    return ctx, pkt
