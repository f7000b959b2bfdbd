"""In-memory BPF maps and the helper functions the reference interpreter implements.

Maps are simple: ``hash`` (values created on update, freed on delete) and ``array`` (every value
pre-allocated, zero-filled). Each value is its own read-write memory region, so a program that
keeps a pointer to a deleted hash value faults on its next access. A map object itself is a
zero-permission region: its address is the map pointer that ``lddw rX, map`` yields and helpers
receive, and any load or store through it faults.

Helpers are a table ``id -> (name, function)``; a call to an id not in the table stops the run
with a fault naming the helper (see :func:`helper_name`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf import helpers
from kernel_lsp.ebpf.run.memory import READ, RW, WRITE, Memory, Region, RegionFault

MASK64 = (1 << 64) - 1
EINVAL, ENOENT, E2BIG, EEXIST = 22, 2, 7, 17

BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class MapSpec:
    """What a program's map reference needs: kind, key and value sizes, capacity."""

    name: str
    kind: str  # "hash" | "array"
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    init: bytes = b""  # initial contents of array element 0 (what a test harness stored)
    # fields the value's BTF describes (ELF maps): struct bpf_spin_lock / bpf_timer offsets
    # (-1: none) and kptr offsets
    spin_lock_off: int = -1
    timer_off: int = -1
    kptr_offs: tuple[int, ...] = ()
    frozen: bool = False  # frozen before the program loads (libbpf freezes .rodata maps)
    # (offset, size) of bytes a loader may set before it freezes the map (const volatile)
    unknown_ranges: tuple[tuple[int, int], ...] = ()
    inner: MapSpec | None = None  # a map-in-map's inner map (BTF __array(values, ...))


# test_verifier's fixup_* fields -> the map the harness creates (ebpf-notes §1.3); only the plain
# hash/array ones are emulated.
# test_verifier's update_map(): struct test_val { .index = 28, .foo[6] = 0xabcdef12 }
_TEST_VAL = (28).to_bytes(4, "little") + bytes(24) + (0xABCDEF12).to_bytes(4, "little") + bytes(16)
BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG = 0x80, 0x100
FIXUP_MAPS: dict[str, MapSpec] = {
    "fixup_map_hash_8b": MapSpec("map_hash_8b", "hash", 8, 8, 1),
    "fixup_map_hash_48b": MapSpec("map_hash_48b", "hash", 8, 48, 1),
    "fixup_map_hash_16b": MapSpec("map_hash_16b", "hash", 8, 16, 1),
    "fixup_map_array_48b": MapSpec("map_array_48b", "array", 4, 48, 1, 0, _TEST_VAL),
    "fixup_map_array_ro": MapSpec("map_array_ro", "array", 4, 48, 1, BPF_F_RDONLY_PROG,
                                  _TEST_VAL),
    "fixup_map_array_wo": MapSpec("map_array_wo", "array", 4, 48, 1, BPF_F_WRONLY_PROG,
                                  _TEST_VAL),
    "fixup_map_array_small": MapSpec("map_array_small", "array", 4, 1, 1, 0, _TEST_VAL[:1]),
}


class RuntimeMap:
    """One live map: its object region and its values."""

    def __init__(self, spec: MapSpec, mem: Memory):
        self.spec = spec
        self.mem = mem
        self.obj: Region = mem.add(f"map '{spec.name}' object", 8, 0)
        self.values: dict[bytes, Region] = {}
        if spec.kind == "array":
            for i in range(min(spec.max_entries, 4096)):
                self.values[i.to_bytes(4, "little")] = self._new_value(i)

    def _new_value(self, label) -> Region:
        flags = self.spec.flags
        perms = READ if flags & BPF_F_RDONLY_PROG else WRITE if flags & BPF_F_WRONLY_PROG else RW
        region = self.mem.add(f"map '{self.spec.name}' value {label}", self.spec.value_size, perms)
        if label == 0 and self.spec.init:
            region.data[: len(self.spec.init)] = self.spec.init[: self.spec.value_size]
        return region

    def _key(self, key: bytes) -> bytes:
        return key[:4] if self.spec.kind == "array" else key

    def lookup(self, key: bytes) -> int:
        region = self.values.get(self._key(key))
        return region.base if region else 0

    def update(self, key: bytes, value: bytes, flags: int) -> int:
        key = self._key(key)
        exists = key in self.values
        if flags > BPF_EXIST:
            return -EINVAL
        if self.spec.kind == "array":
            if not exists:
                return -E2BIG
            if flags == BPF_NOEXIST:
                return -EEXIST
        elif flags == BPF_NOEXIST and exists:
            return -EEXIST
        elif flags == BPF_EXIST and not exists:
            return -ENOENT
        elif not exists and len(self.values) >= self.spec.max_entries:
            return -E2BIG
        if not exists:
            self.values[key] = self._new_value(key.hex())
        self.values[key].data[:] = value
        return 0

    def delete(self, key: bytes) -> int:
        if self.spec.kind == "array":
            return -EINVAL
        region = self.values.pop(self._key(key), None)
        if region is None:
            return -ENOENT
        self.mem.remove(region)
        return 0


class HelperFault(Exception):
    """A helper call that cannot be carried out (unknown map pointer, unimplemented helper)."""


def _map_of(vm, addr: int) -> RuntimeMap:
    runtime = vm.maps_by_addr.get(addr)
    if runtime is None:
        raise HelperFault(f"R1={addr:#x} is not a map pointer")
    return runtime


def _lookup(vm, r1, r2, r3, r4, r5):
    m = _map_of(vm, r1)
    return m.lookup(vm.mem.read_bytes(r2, m.spec.key_size))


def _update(vm, r1, r2, r3, r4, r5):
    m = _map_of(vm, r1)
    key = vm.mem.read_bytes(r2, m.spec.key_size)
    return m.update(key, vm.mem.read_bytes(r3, m.spec.value_size), r4)


def _delete(vm, r1, r2, r3, r4, r5):
    m = _map_of(vm, r1)
    return m.delete(vm.mem.read_bytes(r2, m.spec.key_size))


def _ktime(vm, *args):
    vm.clock += 1000
    return vm.clock


def _prandom(vm, *args):
    # xorshift32, deterministic from the run's seed
    x = vm.rand_state
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    vm.rand_state = x
    return x


def _zero(vm, *args):
    return 0


def _pid_tgid(vm, *args):
    return (4242 << 32) | 4242


EFAULT = 14


def _csum_diff(vm, r1, r2, r3, r4, r5):
    """bpf_csum_diff: one's-complement sum of ``to`` minus ``from``, seeded, 32 bits (x86)."""
    if r2 % 4 or r4 % 4 or r2 + r4 > 512 or (r2 and not r1) or (r4 and not r3):
        return -EINVAL
    total = r5 & 0xFFFFFFFF
    words = [~w & 0xFFFFFFFF for w in _words(vm.mem.read_bytes(r1, r2))] if r2 else []
    words += _words(vm.mem.read_bytes(r3, r4)) if r4 else []
    for w in words:
        total += w
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def _skb_load_bytes(vm, r1, r2, r3, r4, r5):
    """bpf_skb_load_bytes(skb, offset, to, len): copy packet bytes, -EFAULT outside it."""
    pkt = vm.packet
    r2, r4 = r2 & 0xFFFFFFFF, r4 & 0xFFFFFFFF  # u32 offset and len
    if r4 and vm.mem.find(r3, r4) is None:
        raise RegionFault(f"write of {r4} bytes at {r3:#x} outside any writable region")
    if pkt is None or r4 == 0 or r2 + r4 > pkt.size or r2 >= 1 << 31:
        if r4:
            vm.mem.write_bytes(r3, bytes(r4))  # the kernel zeroes the buffer on failure
        return -EFAULT
    vm.mem.write_bytes(r3, bytes(pkt.data[r2:r2 + r4]))
    return 0


def _no_socket(vm, *args):
    """bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp: the test run has no socket to find (NULL)."""
    return 0


def _skb_vlan_push(vm, r1, r2, r3, r4, r5):
    """bpf_skb_vlan_push(skb, proto, tci): insert an 802.1Q tag after the MAC addresses.

    The packet moves to a new region (pointers into the old one fault, as the verifier makes
    them unusable after this helper); the context's data/data_end/len follow it.
    """
    pkt, ctx = vm.packet, getattr(vm, "ctx", None)
    if pkt is None or ctx is None or pkt is ctx or pkt.size < 12:
        return -EINVAL
    tag = (r2 & 0xFFFF).to_bytes(2, "big") + (r3 & 0xFFFF).to_bytes(2, "big")
    data = bytes(pkt.data[:12]) + tag + bytes(pkt.data[12:])
    vm.mem.remove(pkt)
    new = vm.mem.add(pkt.name, data, RW)
    for off, value in list(ctx.pointer_fields.items()):
        ctx.pointer_fields[off] = new.end if value == pkt.end else new.base
    ctx.data[0:4] = len(data).to_bytes(4, "little")
    vm.packet = new
    return 0


HELPERS = {
    1: ("map_lookup_elem", _lookup),
    2: ("map_update_elem", _update),
    3: ("map_delete_elem", _delete),
    5: ("ktime_get_ns", _ktime),
    6: ("trace_printk", _zero),
    7: ("get_prandom_u32", _prandom),
    8: ("get_smp_processor_id", _zero),
    14: ("get_current_pid_tgid", _pid_tgid),
    18: ("skb_vlan_push", _skb_vlan_push),
    26: ("skb_load_bytes", _skb_load_bytes),
    28: ("csum_diff", _csum_diff),
    118: ("jiffies64", _ktime),
    84: ("sk_lookup_tcp", _no_socket),
    85: ("sk_lookup_udp", _no_socket),
    86: ("sk_release", _zero),
    99: ("skc_lookup_tcp", _no_socket),
    125: ("ktime_get_boot_ns", _ktime),
}


def call_helper(vm, helper_id: int, args: tuple[int, ...]) -> int:
    """Run helper ``helper_id`` with R1..R5; its R0 as an unsigned 64-bit value."""
    entry = HELPERS.get(helper_id)
    if entry is None:
        raise HelperFault(f"helper {helper_name(helper_id)}#{helper_id} is not implemented "
                          "by the interpreter")
    return entry[1](vm, *args) & MASK64


def helper_name(helper_id: int) -> str:
    """The helper's kernel name (``bpf_map_lookup_elem``), from the shared helper table."""
    name = helpers.helper_name(helper_id)
    return name if name.startswith("bpf_") or name == "unknown" else f"bpf_{name}"


_ELF_MAP_KINDS = {1: "hash", 2: "array", 5: "hash", 6: "array", 9: "hash", 10: "hash"}


def _spec_from_def(name: str, d) -> MapSpec:
    if isinstance(d, MapSpec):
        return d
    kind = d.get("kind") or _ELF_MAP_KINDS.get(d.get("type", 1), "hash")
    return MapSpec(name, kind, int(d.get("key_size", 4)), int(d.get("value_size", 8)),
                   int(d.get("max_entries", 1)), int(d.get("flags", 0)))


def program_maps(program) -> dict[int, MapSpec]:
    """The maps a program's lddw slots refer to, keyed by slot index.

    Sources: test_verifier ``fixup_map_*`` lists in ``meta`` (only plain hash/array fixups),
    ``meta["maps"]`` (symbol -> definition dict or MapSpec, e.g. from an ELF ``maps`` section)
    matched through ``relocations``, and ``meta["slot_maps"]`` (slot -> MapSpec) set by callers.
    """
    specs: dict[int, MapSpec] = {}
    meta = program.meta or {}
    for field, spec in FIXUP_MAPS.items():
        for slot in meta.get(field) or ():
            specs[int(slot)] = spec
    defs = meta.get("maps") or {}
    for slot, (symbol, _kind) in (program.relocations or {}).items():
        if symbol in defs:
            specs[slot] = _spec_from_def(symbol, defs[symbol])
    specs.update(meta.get("slot_maps") or {})
    return specs
