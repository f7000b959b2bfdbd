"""Helper prototypes: argument and return types of every Linux 6.1 helper, per program type.

``proto_for(prog_type, helper_id, privileged, attach)`` answers like the program type's
``get_func_proto`` (``None``: ``unknown func``), from the generated fact tables
``protodata.PROTOS`` and ``kernel_lsp.ebpf.helperavail``. A :class:`Proto` has the return type,
one :class:`Arg` per argument (base kind plus flags such as ``NULL``, ``RDONLY``, ``UNINIT``,
``WRITE``, ``RELEASE``, ``FIXED_SIZE``), fixed sizes, and the ``pkt_access``/``might_sleep`` flags.
The sets below name the helpers the verifier treats specially (acquire, cast, packet-changing).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from kernel_lsp.ebpf import helperavail, helpers
from kernel_lsp.ebpf.verify.dataflow.protodata import PROTOS

ACQUIRE = frozenset({"sk_lookup_tcp", "sk_lookup_udp", "skc_lookup_tcp", "ringbuf_reserve",
                     "kptr_xchg"})
PTR_CAST = frozenset({"tcp_sock", "sk_fullsock", "skc_to_tcp_sock", "skc_to_tcp6_sock",
                      "skc_to_udp6_sock", "skc_to_mptcp_sock", "skc_to_tcp_timewait_sock",
                      "skc_to_tcp_request_sock"})
CALLBACK = frozenset({"for_each_map_elem", "timer_set_callback", "find_vma", "loop",
                      "user_ringbuf_drain"})
CHANGES_PKT_DATA = frozenset({
    "skb_vlan_push", "skb_vlan_pop", "skb_store_bytes", "skb_change_proto", "skb_change_head",
    "skb_change_tail", "skb_adjust_room", "skb_pull_data", "clone_redirect", "l3_csum_replace",
    "l4_csum_replace", "xdp_adjust_head", "xdp_adjust_meta", "msg_pull_data", "msg_push_data",
    "msg_pop_data", "xdp_adjust_tail", "lwt_seg6_store_bytes", "lwt_seg6_adjust_srh",
    "lwt_seg6_action", "store_hdr_opt", "lwt_push_encap"})
RET_VALUE_REFINED = frozenset({"get_stack", "get_task_stack", "probe_read_str",
                               "probe_read_kernel_str", "probe_read_user_str"})


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument type: ``kind`` (``MEM``, ``CTX``, ``MAP_KEY``, ``SIZE``...) and flags."""

    kind: str
    flags: frozenset[str]
    size: int = 0  # MEM_FIXED_SIZE arguments

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def is_size(self) -> bool:
        return self.kind in ("SIZE", "SIZE_OR_ZERO")


@dataclass(frozen=True, slots=True)
class Proto:
    name: str  # the helper's name (without bpf_)
    proto: str  # the prototype's name in PROTOS
    ret: str  # INTEGER, VOID, MAP_VALUE, SOCKET, ALLOC_MEM, ...
    ret_null: bool
    ret_flags: frozenset[str]
    args: tuple[Arg, ...]
    pkt_access: bool
    might_sleep: bool
    gpl_only: bool = False  # callable only by a GPL-compatible program


_ALIASES = {"UNINIT_MEM": ("MEM", {"UNINIT", "WRITE"}),
            "FIXED_SIZE_MEM": ("MEM", {"FIXED_SIZE"}),
            "UNINIT_MAP_VALUE": ("MAP_VALUE", {"UNINIT", "WRITE"})}


def _arg(text: str, size: int) -> Arg:
    parts = text.split("|")
    head, flags = parts[0], set(parts[1:])
    kind = head.split(":")[-1]
    if kind.endswith("_OR_NULL") and kind != "SIZE_OR_ZERO":
        kind = kind.removesuffix("_OR_NULL")
        flags.add("NULL")
    if kind in _ALIASES:
        kind, extra = _ALIASES[kind]
        flags |= extra
    flags = {"RELEASE" if f == "OBJ_RELEASE" else f for f in flags}
    return Arg(kind, frozenset(flags), size)


# Memory arguments the helper writes although Linux 6.1's prototype says a plain ARG_PTR_TO_MEM
# (or MEM_RDONLY): taken as reads, a frozen read-only map value passed there would keep its
# "constant" bytes. Upstream marked them MEM_WRITE later ("bpf: Specify access type of
# bpf_sysctl_get_name args", "bpf: Fix memory access flags in helper prototypes").
_WRITTEN = frozenset({("sysctl_get_name", 1), ("xdp_fib_lookup", 1), ("skb_fib_lookup", 1),
                      ("read_branch_records", 1), ("get_stack_proto_raw_tp", 1)})


def _written(arg: Arg) -> Arg:
    return Arg(arg.kind, (arg.flags - {"RDONLY"}) | {"WRITE"}, arg.size)


@cache
def parse(proto_key: str, helper: str) -> Proto:
    text = PROTOS[proto_key]
    ret_text, args_text, flags, sizes = (p.strip() for p in text.split(";"))
    size_of = {int(k): int(v) for k, v in (s.split("=") for s in sizes.split())}
    args = tuple(_arg(a.strip(), size_of.get(i, 0))
                 for i, a in enumerate(args_text.split(",")) if a.strip())
    args = tuple(_written(a) if (proto_key, i) in _WRITTEN else a for i, a in enumerate(args))
    ret_parts = ret_text.split("|")
    ret = ret_parts[0].split(":")[-1]
    ret_flags = set(ret_parts[1:])
    null = False
    if ret.endswith("_OR_NULL"):
        ret, null = ret.removesuffix("_OR_NULL"), True
    if "NULL" in ret_flags:
        null = True
    return Proto(helper, proto_key, ret, null, frozenset(ret_flags), args, "p" in flags,
                 "s" in flags, "g" in flags)


@cache
def _overrides(prog_type: str) -> dict[str, str]:
    text = helperavail.PROTO_OF.get(prog_type, "")
    return dict(item.split("=") for item in text.split())


def proto_for(prog_type: str, helper_id: int, privileged: bool,
              attach: str | None = None) -> Proto | None:
    """The prototype ``prog_type``'s loader sees for ``helper_id`` with expected attach type
    ``attach``, or None (unknown func)."""
    masks = helperavail.AVAIL.get(prog_type)
    if masks is None or not 0 < helper_id < helpers.MAX_HELPER_ID:
        return None
    allowed = int(masks[0], 16)
    if privileged:
        allowed |= int(masks[1], 16) | int(masks[2], 16)
    if not allowed >> helper_id & 1:
        return None
    name = helpers.HELPER_NAMES[helper_id]
    if not helpers.attach_allows(prog_type, name, attach):
        return None
    key = _overrides(prog_type).get(name, name)
    if key not in PROTOS:
        return None
    return parse(key, name)
