"""The maps of an eBPF ELF object, in libbpf's order: legacy ``maps``, BTF ``.maps``, global data.

* Legacy ``maps`` section (``struct bpf_map_def``, also iproute2's ``struct bpf_elf_map``, whose
  first five fields are the same): each map symbol's definition is ``section size / number of
  map symbols`` bytes, of which the first 20 are ``type key_size value_size max_entries
  map_flags`` (libbpf < 1.0 read them so; libbpf 1.x refuses the section, old loaders need it).
* BTF-defined maps in ``.maps``: the variable of the same name in BTF's ``.maps`` data section is
  a struct whose members ``type``, ``max_entries``, ``map_flags``, ``key_size``/``key``,
  ``value_size``/``value`` give the definition (see :mod:`kernel_lsp.ebpf.load.btf`); the
  value type's ``bpf_spin_lock``, ``bpf_timer`` and kptr members give ``MapSpec.spin_lock_off``,
  ``timer_off`` and ``kptr_offs``; a map-in-map's ``__array(values, struct {...})`` its inner
  map (``MapSpec.inner``).
* Global data: every ``.data``, ``.data.*``, ``.rodata``, ``.rodata.*`` (non-empty, allocated)
  section and ``.bss`` is a one-element array map of the section's size, key 4 bytes, as libbpf
  creates them; ``.rodata*`` maps are read-only for programs (``BPF_F_RDONLY_PROG``) and frozen
  (libbpf freezes them once their contents are stored, before it loads the programs): with BTF,
  their bytes are known constants except those of ``const volatile`` variables, which a
  skeleton may set before load (``MapSpec.unknown_ranges``); without BTF none is known. Their
  ``MapSpec.init`` is the section's bytes (``.bss``: zeros).
* ``.kconfig`` externs (``extern int CONFIG_X __kconfig``): libbpf's read-only ``.kconfig`` map,
  whose values, set from the kernel configuration at load time, are all unknown
  (``ObjectMaps.externs``: name -> map index and offset).

``MapSpec.kind`` is the kernel's map type name without ``BPF_MAP_TYPE_`` in lower case
(``hash``, ``array``, ``perf_event_array``, ``ringbuf`` ...). A map whose definition cannot be
read is listed in ``ObjectMaps.problems`` (name -> libbpf-style message) instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from kernel_lsp.ebpf.load.btf import ARRAY, ENUM, ENUM64, INT, PTR, STRUCT, UNION, Btf
from kernel_lsp.ebpf.run.maps import MapSpec

MAP_TYPES: tuple[str, ...] = (
    "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
    "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
    "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
    "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage",
    "devmap_hash", "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
    "user_ringbuf",
)
BPF_F_RDONLY_PROG, BPF_F_MMAPABLE = 0x80, 0x400
LEGACY_FIELDS = ("type", "key_size", "value_size", "max_entries", "flags")
_BTF_INT_FIELDS = {"type": "type", "max_entries": "max_entries", "map_flags": "flags",
                   "key_size": "key_size", "value_size": "value_size"}


def map_kind(map_type: int) -> str:
    """The map type's kernel name (``hash``), or ``type_N`` for an id Linux 6.1 does not have."""
    return MAP_TYPES[map_type] if 0 <= map_type < len(MAP_TYPES) else f"type_{map_type}"


def data_kind(section: str) -> str | None:
    """``data``/``rodata``/``bss`` for a section libbpf turns into a global data map."""
    if section == ".bss":
        return "bss"
    for prefix in (".data", ".rodata"):
        if section == prefix or section.startswith(prefix + "."):
            return prefix[1:]
    return None


@dataclass(slots=True)
class ObjectMaps:
    """Every map of one object; ``index`` is the map's position (used as its fd in ``lddw``)."""

    specs: list[MapSpec] = field(default_factory=list)
    at: dict[tuple[int, int], int] = field(default_factory=dict)  # (shndx, offset) -> index
    data: dict[int, int] = field(default_factory=dict)  # data section index -> map index
    problems: dict[tuple[int, int], str] = field(default_factory=dict)  # (shndx, off) -> why
    externs: dict[str, tuple[int, int]] = field(default_factory=dict)  # .kconfig: (index, off)

    def add(self, spec: MapSpec) -> int:
        self.specs.append(spec)
        return len(self.specs) - 1

    def by_name(self) -> dict[str, MapSpec]:
        return {spec.name: spec for spec in self.specs}


def _spec(name: str, d: dict) -> MapSpec:
    inner = d.get("inner")
    return MapSpec(name, map_kind(d.get("type", 0)), d.get("key_size", 0),
                   d.get("value_size", 0), d.get("max_entries", 0), d.get("flags", 0),
                   spin_lock_off=d.get("spin_lock_off", -1), timer_off=d.get("timer_off", -1),
                   kptr_offs=d.get("kptr_offs", ()),
                   inner=_spec(f"{name}.inner", inner) if inner is not None else None)


def legacy_maps(maps: ObjectMaps, shndx: int, data: bytes, symbols: list) -> None:
    """Definitions from a legacy ``maps`` section (``symbols`` are the ELF symbols in it)."""
    syms = sorted((s for s in symbols if s["st_info"]["type"] != "STT_SECTION" and s.name),
                  key=lambda s: s["st_value"])
    if not syms:
        return
    size = len(data) // len(syms)
    for sym in syms:
        off = sym["st_value"]
        raw = data[off: off + min(size, 20)]
        if size < 4 or len(raw) < min(size, 20):
            maps.problems[(shndx, off)] = (f"map '{sym.name}': legacy map definition of "
                                           f"{size} bytes cannot be read")
            continue
        raw = raw + bytes(20 - len(raw))
        fields = dict(zip(LEGACY_FIELDS, struct.unpack("<5I", raw), strict=True))
        maps.at[(shndx, off)] = maps.add(_spec(sym.name, fields))


def btf_maps(maps: ObjectMaps, shndx: int, btf: Btf | None, symbols: list) -> None:
    """BTF-defined maps of the ``.maps`` section, matched to BTF by variable name."""
    types = dict(btf.datasec_vars(".maps")) if btf is not None else {}
    for sym in sorted(symbols, key=lambda s: s["st_value"]):
        if sym["st_info"]["type"] == "STT_SECTION" or not sym.name:
            continue
        where = (shndx, sym["st_value"])
        if btf is None or sym.name not in types:
            why = "DATASEC '.maps' not found" if not types else "no BTF variable for it"
            maps.problems[where] = f"map '{sym.name}': {why} (BTF-defined map without BTF)"
            continue
        fields, problem = btf_map_def(btf, types[sym.name])
        if problem:
            maps.problems[where] = f"map '{sym.name}': {problem}"
        else:
            maps.at[where] = maps.add(_spec(sym.name, fields))


def btf_map_def(btf: Btf, type_id: int, inner: bool = False) -> tuple[dict, str | None]:
    """The definition fields of a BTF map struct, or a message saying why there are none.
    A map-in-map's ``__array(values, struct {...})`` gives ``fields["inner"]``, the inner
    map's definition, as libbpf reads it (value size 4, one level only)."""
    _, t = btf.skip_mods(type_id)
    if t is None or t.kind not in (STRUCT, UNION):
        return {}, "map definition is not a struct"
    fields: dict = {}
    for i, (name, member_type, _off) in enumerate(t.members):
        if name == "values" and map_kind(fields.get("type", 0)) in ("array_of_maps",
                                                                     "hash_of_maps"):
            if inner or i != len(t.members) - 1:
                return {}, "'values' of a map-in-map must be the last member, one level deep"
            if fields.get("value_size", 4) != 4:
                return {}, f"conflicting value size {fields['value_size']} != 4"
            inner_def, problem = _inner_def(btf, member_type)
            if problem:
                return {}, f"map-in-map inner: {problem}"
            fields.update(value_size=4, inner=inner_def)
            continue
        if name in _BTF_INT_FIELDS:
            value, why = btf.map_field_int(member_type)
            if value is None:
                return {}, f"attr '{name}': {why}"
            key = _BTF_INT_FIELDS[name]
            if key in ("key_size", "value_size") and fields.get(key, value) != value:
                return {}, f"conflicting {key[:-5]} size {fields[key]} != {value}"
            fields[key] = value
        elif name in ("key", "value"):
            size = btf.map_field_type_size(member_type)
            if size is None:
                return {}, f"can't determine {name} size for type [{member_type}]"
            if fields.get(f"{name}_size", size) != size:
                return {}, f"conflicting {name} size {fields[name + '_size']} != {size}"
            fields[f"{name}_size"] = size
            if name == "value":  # the value type libbpf passes as btf_value_type_id
                _, ptr = btf.skip_mods(member_type)
                lock, timer, kptrs = btf.value_fields(ptr.size_or_type)
                fields.update(spin_lock_off=lock, timer_off=timer, kptr_offs=kptrs)
    return fields, None


def _inner_def(btf: Btf, member_type: int) -> tuple[dict, str | None]:
    """The inner map definition of ``values``: a zero-sized array of pointers to a struct."""
    _, arr = btf.skip_mods(member_type)
    if arr is None or arr.kind != ARRAY or arr.nelems:
        return {}, "spec is not a zero-sized array"
    _, ptr = btf.skip_mods(arr.elem_type)
    if ptr is None or ptr.kind != PTR:
        return {}, "def is not a pointer"
    return btf_map_def(btf, ptr.size_or_type, inner=True)


def data_maps(maps: ObjectMaps, sections: list[tuple[int, str, bytes]],
              btf: Btf | None = None, symbols: dict | None = None) -> None:
    """One array map per global data section: ``(index, name, contents)``. A ``.rodata*`` map
    is frozen with known contents only when BTF tells which of its variables are ``const
    volatile`` (settings a skeleton may write before load: their bytes, placed by the ELF
    ``symbols`` of the section, stay unknown)."""
    for index, name, contents in sections:
        kind = data_kind(name)
        if kind is None or not contents:
            continue
        flags = BPF_F_MMAPABLE | (BPF_F_RDONLY_PROG if kind == "rodata" else 0)
        unknown = _volatile_ranges(btf, name, (symbols or {}).get(index, ())) \
            if kind == "rodata" else None
        spec = MapSpec(name, "array", 4, len(contents), 1, flags, bytes(contents),
                       frozen=unknown is not None, unknown_ranges=unknown or ())
        maps.data[index] = maps.add(spec)


def kconfig_map(maps: ObjectMaps, btf: Btf | None, externs: dict[str, str]) -> None:
    """The ``.kconfig`` map libbpf creates for the object's ``.kconfig`` externs: one read-only,
    frozen array element whose bytes come from the kernel configuration at load time (all
    unknown here), laid out as libbpf 1.x does (``cmp_externs``: alignment descending, then
    size ascending, then name; each at its natural alignment). A type libbpf refuses (not an
    int, enum or array of them) leaves them unresolved."""
    names = [n for n, sec in externs.items() if sec == ".kconfig"]
    if btf is None or not names:
        return
    types = dict(btf.datasec_vars(".kconfig"))
    shapes = {n: _kconfig_shape(btf, types.get(n, 0)) for n in names}
    if not all(shapes.values()):
        return
    layout, off = {}, 0
    for name in sorted(names, key=lambda n: (-shapes[n][0], shapes[n][1], n)):
        align, size = shapes[name]
        off = (off + align - 1) // align * align
        layout[name], off = off, off + size
    index = maps.add(MapSpec(".kconfig", "array", 4, off, 1, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG,
                             bytes(off), frozen=True, unknown_ranges=((0, off),)))
    maps.externs = {name: (index, at) for name, at in layout.items()}


def _kconfig_shape(btf: Btf, type_id: int) -> tuple[int, int] | None:
    """``(alignment, size)`` of a ``.kconfig`` extern's type, or None when libbpf refuses it."""
    size = btf.resolve_size(type_id)
    _, t = btf.skip_mods(type_id)
    if t is not None and t.kind == ARRAY:
        _, t = btf.skip_mods(t.elem_type)
    if not size or t is None or t.kind not in (INT, ENUM, ENUM64):
        return None
    return min(t.size_or_type, 8), size


def _volatile_ranges(btf: Btf | None, section: str, symbols) -> tuple | None:
    """``(offset, size)`` of the section's ``const volatile`` variables; None (nothing known)
    without BTF or when one of them has no symbol to place it."""
    if btf is None:
        return None
    names = btf.volatile_vars(section)
    placed = {s.name: (s["st_value"], s["st_size"]) for s in symbols if s.name in names}
    return tuple(placed.values()) if len(placed) == len(names) else None
