"""Read the ``.BTF`` section of an eBPF object: types, names, sizes, map definitions, externs.

Only what a loader needs: the header, the type section and the string section (format:
``Documentation/bpf/btf.rst``), sizes of types (following typedefs, qualifiers, pointers and
arrays, like libbpf's ``btf__resolve_size``), the members of a BTF-defined map (``__uint(name,
N)`` is a pointer to an array of ``N`` elements; ``__type(name, T)`` a pointer to ``T``), and the
linkage and data section of each variable and function.

``Btf.parse(data)`` raises :class:`BtfError` for a malformed section; callers turn that into a
load error or ignore BTF.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

BTF_MAGIC = 0xEB9F
(INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
 FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64) = range(1, 20)
MODIFIERS = frozenset((TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG))
LINKAGE = {0: "static", 1: "global", 2: "extern"}
_MAX_DEPTH = 64  # chains of modifiers/arrays deeper than this are treated as malformed


class BtfError(ValueError):
    """A ``.BTF`` section that cannot be read."""


@dataclass(slots=True)
class BtfType:
    """One type record. ``members`` holds (name, type id, offset) for struct/union, (name, type
    id, 0) for func_proto params, (type id, offset, size) for datasec entries."""

    kind: int
    name: str
    size_or_type: int
    vlen: int
    nelems: int = 0  # arrays
    elem_type: int = 0  # arrays
    linkage: int = 0  # var / func
    members: list[tuple] = field(default_factory=list)
    kind_flag: bool = False  # struct/union: member offsets hold bitfield size << 24 | bit offset


_EXTRA = {INT: 4, ARRAY: 12, VAR: 4, DECL_TAG: 4}
_PER_MEMBER = {STRUCT: 12, UNION: 12, ENUM: 8, FUNC_PROTO: 8, DATASEC: 12, ENUM64: 12}


class Btf:
    """The types of one ``.BTF`` section, indexed by type id (0 is ``void``)."""

    def __init__(self, types: list[BtfType | None]):
        self.types = types

    @classmethod
    def parse(cls, data: bytes) -> Btf:
        if len(data) < 24:
            raise BtfError("BTF section shorter than its header")
        magic = struct.unpack_from("<H", data)[0]
        order = "<" if magic == BTF_MAGIC else ">"
        if struct.unpack_from(order + "H", data)[0] != BTF_MAGIC:
            raise BtfError(f"bad BTF magic {magic:#x}")
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(order + "5I", data, 4)
        base = hdr_len
        if base + max(type_off + type_len, str_off + str_len) > len(data):
            raise BtfError("BTF header points past the section end")
        strings = data[base + str_off: base + str_off + str_len]
        types = _parse_types(data[base + type_off: base + type_off + type_len], strings, order)
        return cls([None, *types])

    def get(self, type_id: int) -> BtfType | None:
        return self.types[type_id] if 0 < type_id < len(self.types) else None

    def skip_mods(self, type_id: int) -> tuple[int, BtfType | None]:
        """Follow typedefs and qualifiers to the first other type."""
        for _ in range(_MAX_DEPTH):
            t = self.get(type_id)
            if t is None or t.kind not in MODIFIERS:
                return type_id, t
            type_id = t.size_or_type
        return type_id, None

    def resolve_size(self, type_id: int) -> int | None:
        """Size in bytes of a type (``None`` for void, functions, forward declarations)."""
        count = 1
        for _ in range(_MAX_DEPTH):
            t = self.get(type_id)
            if t is None:
                return None
            if t.kind in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC):
                return count * t.size_or_type
            if t.kind == PTR:
                return count * 8
            if t.kind == ARRAY:
                count *= t.nelems
                type_id = t.elem_type
            elif t.kind in MODIFIERS or t.kind == VAR:
                type_id = t.size_or_type
            else:
                return None
        return None

    def by_name(self, name: str, kinds: tuple[int, ...]) -> tuple[int, BtfType] | None:
        for i, t in enumerate(self.types):
            if t is not None and t.kind in kinds and t.name == name:
                return i, t
        return None

    def datasec_of(self, type_id: int) -> str | None:
        """The name of the data section that lists variable/function ``type_id``."""
        for t in self.types:
            if t is not None and t.kind == DATASEC and any(m[0] == type_id for m in t.members):
                return t.name
        return None

    def datasec_vars(self, section: str) -> list[tuple[str, int]]:
        """(variable name, variable's type id) of each entry of data section ``section``."""
        out = []
        for t in self.types:
            if t is None or t.kind != DATASEC or t.name != section:
                continue
            for var_id, _off, _size in t.members:
                var = self.get(var_id)
                if var is not None and var.kind == VAR:
                    out.append((var.name, var.size_or_type))
        return out

    def volatile_vars(self, section: str) -> set[str]:
        """The variables of data section ``section`` whose type is ``volatile``-qualified
        (``const volatile`` settings a skeleton writes before load). By name: clang leaves the
        offsets of a DATASEC to the loader (libbpf takes them from the ELF symbols)."""
        return {name for name, type_id in self.datasec_vars(section)
                if self._is_volatile(type_id)}

    def _is_volatile(self, type_id: int) -> bool:
        """Whether the type, or the element type of an array, is ``volatile``-qualified."""
        for _ in range(_MAX_DEPTH):
            t = self.get(type_id)
            if t is None or t.kind not in MODIFIERS | {ARRAY}:
                return False
            if t.kind == VOLATILE:
                return True
            type_id = t.elem_type if t.kind == ARRAY else t.size_or_type
        return False

    def func_signature(self, name: str) -> tuple[bool, list[str], bool] | None:
        """``(global, parameter kinds, returns a scalar)`` of BTF function ``name``, or None
        when BTF has no such function. A parameter is ``scalar`` (an int or enum after typedefs
        and qualifiers, as ``btf_prepare_func_args`` asks), ``struct:NAME`` (a pointer to a
        struct), ``mem`` (a pointer to another type), or ``other``; a pointer's kind ends in
        ``@SIZE`` when the size of what it points to resolves (``btf_resolve_size``)."""
        hit = self.by_name(name, (FUNC,))
        if hit is None:
            return None
        _, proto = self.skip_mods(hit[1].size_or_type)
        if proto is None or proto.kind != FUNC_PROTO:
            return None
        return (hit[1].linkage == 1, [self._param_kind(ty) for _, ty, _ in proto.members],
                self._is_scalar(proto.size_or_type))

    def _is_scalar(self, type_id: int) -> bool:
        _, t = self.skip_mods(type_id)
        return t is not None and t.kind in (INT, ENUM, ENUM64)

    def _param_kind(self, type_id: int) -> str:
        if self._is_scalar(type_id):
            return "scalar"
        _, t = self.skip_mods(type_id)
        if t is None or t.kind != PTR:
            return "other"
        _, target = self.skip_mods(t.size_or_type)
        size = self.resolve_size(t.size_or_type) if target is not None else None
        kind = f"struct:{target.name}" if target is not None and target.kind == STRUCT else \
            "mem" if size is not None else "other"
        return kind if size is None else f"{kind}@{size}"

    def map_field_int(self, type_id: int) -> tuple[int | None, str]:
        """The ``N`` of a ``__uint(name, N)`` member (a pointer to an array of ``N`` elements),
        or ``None`` and libbpf's complaint (``expected PTR, got int``)."""
        _, t = self.skip_mods(type_id)
        if t is None or t.kind != PTR:
            return None, f"expected PTR, got {kind_name(t)}"
        _, arr = self.skip_mods(t.size_or_type)
        if arr is None or arr.kind != ARRAY:
            return None, f"expected ARRAY, got {kind_name(arr)}"
        return arr.nelems, ""

    def value_fields(self, type_id: int) -> tuple[int, int, tuple[int, ...]]:
        """``(spin_lock_off, timer_off, kptr_offs)`` of map value type ``type_id`` as Linux 6.1's
        ``map_check_btf`` finds them (``btf_find_field``): among the top-level members of a
        struct value, the one member whose own type is the struct ``bpf_spin_lock`` (4 bytes) or
        ``bpf_timer`` (16 bytes), -1 when there is none, more than one, or a member of that name
        is misaligned; ``kptr_offs``: members that point through a ``kptr``/``kptr_ref`` type tag
        (every such member, alignment aside, so callers can refuse to model them)."""
        _, t = self.skip_mods(type_id)
        if t is None or t.kind != STRUCT:
            return -1, -1, ()
        members = []
        for _, member_type, raw in t.members:
            bits = raw & 0xFFFFFF if t.kind_flag else raw
            members.append((self.get(member_type), bits))
        return (self._one_struct(members, "bpf_spin_lock", 4, 4),
                self._one_struct(members, "bpf_timer", 16, 8),
                tuple(bits // 8 for mt, bits in members if self._is_kptr(mt)))

    @staticmethod
    def _one_struct(members: list, name: str, size: int, align: int) -> int:
        found = []
        for mt, bits in members:
            if mt is None or mt.name != name:
                continue
            if bits % 8 or bits // 8 % align:
                return -1  # -EINVAL: map created without the field
            if mt.kind == STRUCT and mt.size_or_type == size:
                found.append(bits // 8)
        return found[0] if len(found) == 1 else -1  # none, or -E2BIG

    def _is_kptr(self, t: BtfType | None) -> bool:
        if t is None or t.kind != PTR:
            return False
        tag = self.get(t.size_or_type)
        return tag is not None and tag.kind == TYPE_TAG and tag.name in ("kptr", "kptr_ref")

    def map_field_type_size(self, type_id: int) -> int | None:
        """The size of ``T`` of a ``__type(name, T)`` member: a pointer to ``T``."""
        _, t = self.skip_mods(type_id)
        if t is None or t.kind != PTR:
            return None
        return self.resolve_size(t.size_or_type)


KIND_NAMES = ("unkn", "int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef",
              "volatile", "const", "restrict", "func", "func_proto", "var", "datasec", "float",
              "decl_tag", "type_tag", "enum64")


def kind_name(t: BtfType | None) -> str:
    """libbpf's ``btf_kind_str``: ``int``, ``ptr``, ... (``void`` for type 0)."""
    return "void" if t is None else KIND_NAMES[t.kind]


def _name(strings: bytes, off: int) -> str:
    if off >= len(strings):
        raise BtfError(f"BTF name offset {off} outside the string section")
    end = strings.find(b"\0", off)
    return strings[off: end if end >= 0 else len(strings)].decode("utf-8", errors="replace")


def _parse_types(data: bytes, strings: bytes, order: str) -> list[BtfType]:
    types, pos = [], 0
    while pos + 12 <= len(data):
        name_off, info, size_or_type = struct.unpack_from(order + "3I", data, pos)
        pos += 12
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        if not INT <= kind <= ENUM64:
            raise BtfError(f"unknown BTF kind {kind} (type #{len(types) + 1})")
        t = BtfType(kind, _name(strings, name_off), size_or_type, vlen,
                    kind_flag=bool(info >> 31))
        extra = _EXTRA.get(kind, 0) + _PER_MEMBER.get(kind, 0) * vlen
        if pos + extra > len(data):
            raise BtfError(f"BTF type #{len(types) + 1} runs past the type section")
        _fill(t, data, pos, strings, order)
        pos += extra
        types.append(t)
    if pos != len(data):
        raise BtfError("trailing bytes in the BTF type section")
    return types


def _fill(t: BtfType, data: bytes, pos: int, strings: bytes, order: str) -> None:
    if t.kind == ARRAY:
        t.elem_type, _index, t.nelems = struct.unpack_from(order + "3I", data, pos)
    elif t.kind == VAR:
        t.linkage = struct.unpack_from(order + "I", data, pos)[0]
    elif t.kind == FUNC:
        t.linkage = t.vlen
    elif t.kind in (STRUCT, UNION):
        t.members = [(_name(strings, n), ty, off) for n, ty, off in
                     struct.iter_unpack(order + "3I", data[pos: pos + 12 * t.vlen])]
    elif t.kind == FUNC_PROTO:
        t.members = [(_name(strings, n), ty, 0) for n, ty in
                     struct.iter_unpack(order + "2I", data[pos: pos + 8 * t.vlen])]
    elif t.kind == DATASEC:
        t.members = list(struct.iter_unpack(order + "3I", data[pos: pos + 12 * t.vlen]))
