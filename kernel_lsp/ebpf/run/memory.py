"""Region memory of the reference interpreter: every access must lie inside one permitted region.

This is the isolation model of the verified femto-container VM (CertrBPF ``check_mem``): memory is
a list of regions ``(base, size, permissions)``; a load or store is admitted only when all of its
bytes fall inside a single region whose permissions cover the access, otherwise the program stops
with a :class:`RegionFault`. Regions live at disjoint high addresses (each at its own multiple of
``REGION_SPACING``), so pointers are plain 64-bit integers and pointer arithmetic is ordinary
integer arithmetic; a pointer that wanders out of its region simply matches no region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ = 1
WRITE = 2
RW = READ | WRITE

REGION_SPACING = 1 << 32  # regions never exceed 4 GiB, so ranges never overlap
_FIRST_SLOT = 0x10  # region k starts at (0x10 + k) << 32: far from 0 so NULL never matches
MASK64 = (1 << 64) - 1


class RegionFault(Exception):
    """A load or store that does not lie wholly inside one region with the right permission."""


@dataclass(slots=True)
class Region:
    """One contiguous block of guest memory."""

    name: str
    base: int
    data: bytearray
    perms: int
    # 4-byte context fields that the kernel rewrites into 64-bit pointer loads (skb->data, ...):
    # offset -> full pointer value returned by a 4-byte load at that offset.
    pointer_fields: dict[int, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def contains(self, addr: int, size: int) -> bool:
        return self.base <= addr and addr + size <= self.base + len(self.data)


def _perm_text(perms: int) -> str:
    return "readable" if perms == READ else "writable"


class Memory:
    """The region list plus allocation of fresh, disjoint address ranges."""

    def __init__(self) -> None:
        self.regions: list[Region] = []
        self._next_slot = _FIRST_SLOT

    def add(self, name: str, data: bytes | bytearray | int, perms: int) -> Region:
        """Map a new region holding ``data`` (or that many zero bytes) and return it."""
        buf = bytearray(data) if not isinstance(data, int) else bytearray(data)
        region = Region(name, self._next_slot * REGION_SPACING, buf, perms)
        self._next_slot += 1
        self.regions.append(region)
        return region

    def remove(self, region: Region) -> None:
        """Unmap ``region``; later accesses through stale pointers into it fault."""
        self.regions = [r for r in self.regions if r is not region]

    def find(self, addr: int, size: int) -> Region | None:
        """The region holding all of ``[addr, addr + size)``, or None."""
        slot_base = addr - addr % REGION_SPACING
        for region in self.regions:
            if region.base == slot_base and region.contains(addr, size):
                return region
        return None

    def _check(self, addr: int, size: int, perm: int, what: str) -> Region:
        region = self.find(addr, size)
        if region is None or not region.perms & perm:
            where = "outside any" if region is None else f"in region '{region.name}' not"
            raise RegionFault(
                f"{what} of {size} bytes at {addr:#x} {where} {_perm_text(perm)} region"
            )
        return region

    def load(self, addr: int, size: int) -> int:
        """Little-endian unsigned load of ``size`` bytes."""
        region = self._check(addr, size, READ, "read")
        off = addr - region.base
        if size == 4 and off in region.pointer_fields:
            return region.pointer_fields[off]
        return int.from_bytes(region.data[off : off + size], "little")

    def store(self, addr: int, size: int, value: int) -> None:
        """Little-endian store of the low ``size`` bytes of ``value``."""
        region = self._check(addr, size, WRITE, "write")
        off = addr - region.base
        region.data[off : off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def read_bytes(self, addr: int, size: int) -> bytes:
        """Bytes for a helper argument (e.g. a map key); faults like a load."""
        if size == 0:
            return b""
        region = self._check(addr, size, READ, "read")
        off = addr - region.base
        return bytes(region.data[off : off + size])

    def write_bytes(self, addr: int, data: bytes) -> None:
        """Copy ``data`` into guest memory; faults like a store."""
        if not data:
            return
        region = self._check(addr, len(data), WRITE, "write")
        off = addr - region.base
        region.data[off : off + len(data)] = data
