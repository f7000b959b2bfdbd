"""Layouts of the UAPI context structs (and test_verifier's value structs) for offsetof/sizeof.

A small data table, not a C compiler: each struct is a list of ``type name[count]`` members laid
out with natural C alignment on a 64-bit little-endian target. ``a|b`` names members sharing one
offset (an anonymous union of equally sized members). Used by the C-array decoder to evaluate
``offsetof(struct __sk_buff, data)`` and by the interpreter's context builder.
"""

from __future__ import annotations

_SIZES = {"u8": 1, "u16": 2, "u32": 4, "s32": 4, "u64": 8, "ptr": 8, "pad8": 1, "pad16": 2,
          "pad24": 3}

_STRUCTS_SRC: dict[str, str] = {
    "__sk_buff": """u32 len; u32 pkt_type; u32 mark; u32 queue_mapping; u32 protocol;
        u32 vlan_present; u32 vlan_tci; u32 vlan_proto; u32 priority; u32 ingress_ifindex;
        u32 ifindex; u32 tc_index; u32 cb[5]; u32 hash; u32 tc_classid; u32 data; u32 data_end;
        u32 napi_id; u32 family; u32 remote_ip4; u32 local_ip4; u32 remote_ip6[4];
        u32 local_ip6[4]; u32 remote_port; u32 local_port; u32 data_meta; ptr flow_keys;
        u64 tstamp; u32 wire_len; u32 gso_segs; ptr sk; u32 gso_size; u8 tstamp_type; pad24 _p;
        u64 hwtstamp""",
    "xdp_md": """u32 data; u32 data_end; u32 data_meta; u32 ingress_ifindex; u32 rx_queue_index;
        u32 egress_ifindex""",
    "bpf_sock": """u32 bound_dev_if; u32 family; u32 type; u32 protocol; u32 mark; u32 priority;
        u32 src_ip4; u32 src_ip6[4]; u32 src_port; u16 dst_port; pad16 _p; u32 dst_ip4;
        u32 dst_ip6[4]; u32 state; s32 rx_queue_mapping""",
    "bpf_sk_lookup": """ptr sk|cookie; u32 family; u32 protocol; u32 remote_ip4;
        u32 remote_ip6[4]; u16 remote_port; pad16 _p; u32 local_ip4; u32 local_ip6[4];
        u32 local_port; u32 ingress_ifindex""",
    "sk_msg_md": """ptr data; ptr data_end; u32 family; u32 remote_ip4; u32 local_ip4;
        u32 remote_ip6[4]; u32 local_ip6[4]; u32 remote_port; u32 local_port; u32 size; ptr sk""",
    "bpf_tcp_sock": """u32 snd_cwnd; u32 srtt_us; u32 rtt_min; u32 snd_ssthresh; u32 rcv_nxt;
        u32 snd_nxt; u32 snd_una; u32 mss_cache; u32 ecn_flags; u32 rate_delivered;
        u32 rate_interval_us; u32 packets_out; u32 retrans_out; u32 total_retrans; u32 segs_in;
        u32 data_segs_in; u32 segs_out; u32 data_segs_out; u32 lost_out; u32 sacked_out;
        u64 bytes_received; u64 bytes_acked; u32 dsack_dups; u32 delivered; u32 delivered_ce;
        u32 icsk_retransmits""",
    "bpf_sock_addr": """u32 user_family; u32 user_ip4; u32 user_ip6[4]; u32 user_port;
        u32 family; u32 type; u32 protocol; u32 msg_src_ip4; u32 msg_src_ip6[4]; ptr sk""",
    "bpf_xdp_sock": "u32 queue_id",
    "bpf_sock_tuple": "u32 saddr[4]; u32 daddr[4]; u16 sport; u16 dport",
    # x86-64 pt_regs is 21 u64 registers
    "bpf_perf_event_data": "u64 regs[21]; u64 sample_period; u64 addr",
    "bpf_sock_ops": """u32 op; u32 args[4]; u32 family; u32 remote_ip4; u32 local_ip4;
        u32 remote_ip6[4]; u32 local_ip6[4]; u32 remote_port; u32 local_port; u32 is_fullsock;
        u32 snd_cwnd; u32 srtt_us; u32 bpf_sock_ops_cb_flags; u32 state; u32 rtt_min;
        u32 snd_ssthresh; u32 rcv_nxt; u32 snd_nxt; u32 snd_una; u32 mss_cache; u32 ecn_flags;
        u32 rate_delivered; u32 rate_interval_us; u32 packets_out; u32 retrans_out;
        u32 total_retrans; u32 segs_in; u32 data_segs_in; u32 segs_out; u32 data_segs_out;
        u32 lost_out; u32 sacked_out; u32 sk_txhash; u64 bytes_received; u64 bytes_acked;
        ptr sk; ptr skb_data; ptr skb_data_end; u32 skb_len; u32 skb_tcp_flags""",
    "bpf_sockopt": "ptr sk; ptr optval; ptr optval_end; s32 level; s32 optname; s32 optlen; "
                   "s32 retval",
    "bpf_sysctl": "u32 write; u32 file_pos",
    "bpf_cgroup_dev_ctx": "u32 access_type; u32 major; u32 minor",
    "sk_reuseport_md": """ptr data; ptr data_end; u32 len; u32 eth_protocol; u32 ip_protocol;
        u32 bind_inany; u32 hash; ptr sk; ptr migrating_sk""",
    # test_verifier.c's map value types
    "test_val": "u32 index; u32 foo[11]",
    "other_val": "u64 foo; u64 bar",
}


class Layout:
    """Member offsets and the total size of one struct."""

    def __init__(self, name: str, members: list[tuple[str, int, int, int]], size: int):
        self.name = name
        self.members = {m[0]: m for m in members}  # name -> (name, offset, elem size, count)
        self.size = size

    def offsetof(self, member: str, index: int = 0) -> int | None:
        entry = self.members.get(member)
        if entry is None:
            return None
        return entry[1] + index * entry[2]

    def member_size(self, member: str) -> int | None:
        entry = self.members.get(member)
        return None if entry is None else entry[2] * entry[3]


def _layout(name: str, text: str) -> Layout:
    members, offset, align_max = [], 0, 1
    for decl in filter(None, (d.strip() for d in text.split(";"))):
        ctype, rest = decl.split(None, 1)
        count = 1
        if "[" in rest:
            rest, cnt = rest.rstrip("]").split("[")
            count = int(cnt)
        size = _SIZES[ctype]
        align = 1 if ctype.startswith("pad") else size
        offset = (offset + align - 1) // align * align
        align_max = max(align_max, align)
        for alias in rest.split("|"):
            members.append((alias.strip(), offset, size, count))
        offset += size * count
    total = (offset + align_max - 1) // align_max * align_max
    return Layout(name, members, total)


STRUCTS: dict[str, Layout] = {n: _layout(n, t) for n, t in _STRUCTS_SRC.items()}

BASE_SIZES = {"char": 1, "short": 2, "int": 4, "long": 8, "long long": 8, "unsigned int": 4,
              "unsigned long": 8, "unsigned long long": 8, "__u8": 1, "__u16": 2, "__u32": 4,
              "__u64": 8, "__s8": 1, "__s16": 2, "__s32": 4, "__s64": 8, "u8": 1, "u16": 2,
              "u32": 4, "u64": 8, "void *": 8}


def struct_layout(name: str) -> Layout | None:
    """The layout of ``struct name`` or None when the table does not know it."""
    return STRUCTS.get(name)
