"""Read eBPF programs, maps and relocations from ELF objects built by ``clang -target bpf``.

``load_elf(data, path) -> list[(Program, findings)]``; raises ``srcerror.LoadError`` (a message)
for data that is not a readable eBPF ELF object.

* Every executable (``SHF_EXECINSTR``) section with instructions is one program, named after the
  function symbol at offset 0 (else the section), ``section`` = the section name, ``prog_type``
  guessed from the section name the way libbpf does (``xdp``, ``socket``, ``kprobe/...``,
  ``tracepoint/...``, ``classifier``/``tc``, ...).
* ``.text`` holds subprograms. When another section calls into ``.text`` (a ``call`` with a
  relocation against a ``.text`` symbol), the whole ``.text`` is appended to that program — as
  libbpf does with the subprograms it uses — and the call's ``imm`` is patched to the appended
  copy. ``.text`` is a program of its own only when no other section calls into it.
* Relocations: ``Program.relocations[slot] = (symbol, kind)`` with kind ``map`` (symbol in
  ``maps`` or ``.maps``), ``data`` (``.rodata*``/``.data*``/``.bss*``), ``call`` (bpf-to-bpf) or
  ``other``. Instruction bytes are left as compiled (a map load stays ``lddw src 0``; a loader
  would turn it into ``BPF_PSEUDO_MAP_FD``/``MAP_VALUE``).
* ``Program.meta["maps"]``: symbol -> definition (legacy ``maps``: ``type key_size value_size
  max_entries flags`` from ``struct bpf_map_def``; BTF ``.maps``: ``{"btf": True}`` only, since
  their sizes live in BTF, which is not read). ``meta["globals"]``: data symbol -> ``section,
  offset, size``; ``meta["data"]``: data section name -> bytes (``.bss`` as zeros).
"""

from __future__ import annotations

import io
import struct

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from kernel_lsp.ebpf.findings import BpfFinding
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.raw import decode_raw
from kernel_lsp.ebpf.load.srcerror import LoadError

EM_BPF = 247
SHF_EXECINSTR = 0x4
MAP_SECTIONS = ("maps", ".maps")
DATA_PREFIXES = (".rodata", ".data", ".bss")

# Section-name prefixes -> program type (libbpf's section definitions, 6.1 era). First match wins.
_PROG_TYPE_PREFIXES = (
    ("socket", "socket_filter"), ("sk_reuseport", "sk_reuseport"),
    ("kprobe", "kprobe"), ("kretprobe", "kprobe"), ("uprobe", "kprobe"), ("uretprobe", "kprobe"),
    ("ksyscall", "kprobe"), ("kretsyscall", "kprobe"), ("usdt", "kprobe"),
    ("tracepoint", "tracepoint"), ("tp/", "tracepoint"),
    ("raw_tracepoint.w", "raw_tracepoint_writable"), ("raw_tp.w", "raw_tracepoint_writable"),
    ("raw_tracepoint", "raw_tracepoint"), ("raw_tp", "raw_tracepoint"),
    ("tp_btf", "tracing"), ("fentry", "tracing"), ("fexit", "tracing"), ("fmod_ret", "tracing"),
    ("iter", "tracing"), ("freplace", "ext"), ("lsm", "lsm"), ("struct_ops", "struct_ops"),
    ("xdp", "xdp"), ("perf_event", "perf_event"), ("classifier", "sched_cls"),
    ("tc", "sched_cls"), ("action", "sched_act"), ("lwt_in", "lwt_in"), ("lwt_out", "lwt_out"),
    ("lwt_xmit", "lwt_xmit"), ("lwt_seg6local", "lwt_seg6local"), ("sockops", "sock_ops"),
    ("sk_skb", "sk_skb"), ("sk_msg", "sk_msg"), ("lirc_mode2", "lirc_mode2"),
    ("flow_dissector", "flow_dissector"), ("sk_lookup", "sk_lookup"), ("syscall", "syscall"),
    ("cgroup_skb", "cgroup_skb"), ("cgroup/skb", "cgroup_skb"),
    ("cgroup/dev", "cgroup_device"), ("cgroup/sysctl", "cgroup_sysctl"),
    ("cgroup/getsockopt", "cgroup_sockopt"), ("cgroup/setsockopt", "cgroup_sockopt"),
    ("cgroup/sock", "cgroup_sock"), ("cgroup/sock_create", "cgroup_sock"),
    ("cgroup/sock_release", "cgroup_sock"), ("cgroup/post_bind4", "cgroup_sock"),
    ("cgroup/post_bind6", "cgroup_sock"),
    ("cgroup/", "cgroup_sock_addr"),
)


def prog_type_for_section(section: str) -> str | None:
    """The program type libbpf would give a section name, or ``None`` if unknown."""
    for prefix, prog_type in _PROG_TYPE_PREFIXES:
        if prefix.endswith("/"):
            if section.startswith(prefix):
                return prog_type
        elif section == prefix or section.startswith((prefix + "/", prefix + ".")):
            return prog_type
    return None


def _open(data: bytes) -> ELFFile:
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf.header["e_machine"]
    except (ELFError, struct.error, ValueError) as exc:
        raise LoadError(f"not a readable ELF object ({exc})") from exc
    if machine not in ("EM_BPF", EM_BPF):
        raise LoadError(f"not an eBPF object (ELF machine {machine})")
    return elf


def _symbols(elf: ELFFile) -> list:
    symtab = elf.get_section_by_name(".symtab")
    return list(symtab.iter_symbols()) if symtab else []


def _section_name(elf: ELFFile, index) -> str | None:
    if not isinstance(index, int) or index <= 0 or index >= elf.num_sections():
        return None
    return elf.get_section(index).name


def _map_defs(elf: ELFFile, symbols: list) -> dict[str, dict]:
    defs: dict[str, dict] = {}
    for sym in symbols:
        sec = _section_name(elf, sym["st_shndx"])
        if sec == ".maps":
            defs[sym.name] = {"btf": True}
        elif sec == "maps" and sym["st_info"]["type"] == "STT_OBJECT":
            raw = elf.get_section_by_name("maps").data()[sym["st_value"]:][:20]
            if len(raw) >= 16:
                fields = struct.unpack_from(f"<{len(raw) // 4}I", raw)
                names = ("type", "key_size", "value_size", "max_entries", "flags")
                defs[sym.name] = dict(zip(names, fields, strict=False))
    return defs


def _data(elf: ELFFile, symbols: list) -> tuple[dict, dict]:
    data, globals_ = {}, {}
    for sec in elf.iter_sections():
        if sec.name.startswith(DATA_PREFIXES) and sec["sh_flags"] & 0x2:  # SHF_ALLOC
            data[sec.name] = bytes(sec["sh_size"]) if sec["sh_type"] == "SHT_NOBITS" \
                else sec.data()
    for sym in symbols:
        sec = _section_name(elf, sym["st_shndx"])
        if sec in data and sym.name and sym["st_info"]["type"] == "STT_OBJECT":
            globals_[sym.name] = {"section": sec, "offset": sym["st_value"],
                                  "size": sym["st_size"]}
    return data, globals_


def _reloc_kind(section: str | None) -> str:
    if section in MAP_SECTIONS:
        return "map"
    if section and section.startswith(DATA_PREFIXES):
        return "data"
    return "other"


def _relocs_of(elf: ELFFile, sec_index: int, symbols: list) -> list[tuple[int, object]]:
    """``(slot, symbol)`` for each relocation applying to section ``sec_index``."""
    out = []
    for rel in elf.iter_sections():
        if rel["sh_type"] not in ("SHT_REL", "SHT_RELA") or rel["sh_info"] != sec_index:
            continue
        for r in rel.iter_relocations():
            idx = r["r_info_sym"]
            if 0 <= idx < len(symbols):
                out.append((r["r_offset"] // 8, symbols[idx]))
    return out


def _program_sections(elf: ELFFile) -> list[tuple[int, object]]:
    return [(i, sec) for i, sec in enumerate(elf.iter_sections())
            if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & SHF_EXECINSTR
            and sec["sh_size"] > 0]


def _entry_name(elf: ELFFile, symbols: list, index: int, section: str) -> str:
    for sym in symbols:
        if sym["st_shndx"] == index and sym["st_value"] == 0 \
                and sym["st_info"]["type"] == "STT_FUNC":
            return sym.name
    return section


class _Builder:
    """Assembles one program: its own section, optionally followed by ``.text``."""

    def __init__(self, elf, symbols, text_index, text_insns):
        self.elf, self.symbols = elf, symbols
        self.text_index, self.text_insns = text_index, text_insns

    def calls_text(self, index: int) -> bool:
        return any(sym["st_shndx"] == self.text_index
                   and sym["st_info"]["type"] in ("STT_FUNC", "STT_SECTION")
                   for _, sym in _relocs_of(self.elf, index, self.symbols))

    def _text_func(self, slot: int) -> str | None:
        for sym in self.symbols:
            if sym["st_shndx"] == self.text_index and sym["st_info"]["type"] == "STT_FUNC" \
                    and sym["st_value"] == slot * 8:
                return sym.name
        return None

    def build(self, index, sec, insns, with_text: bool) -> Program:
        base = len(insns)
        insns = list(insns) + (list(self.text_insns) if with_text else [])
        relocs: dict[int, tuple[str, str]] = {}
        parts = [(index, 0)] + ([(self.text_index, base)] if with_text else [])
        for part_index, offset in parts:
            for slot, sym in _relocs_of(self.elf, part_index, self.symbols):
                self._apply(insns, relocs, slot + offset, sym, with_text, base)
        name = _entry_name(self.elf, self.symbols, index, sec.name)
        return Program(name=name, insns=insns, section=sec.name, relocations=relocs,
                       prog_type=prog_type_for_section(sec.name))

    def _apply(self, insns, relocs, slot, sym, with_text, base) -> None:
        if not 0 <= slot < len(insns):
            return
        target_sec = _section_name(self.elf, sym["st_shndx"])
        insn = insns[slot]
        name = sym.name or target_sec or "?"
        if insn.opcode == 0x85 and insn.src == 1:
            relocs[slot] = (name, "call")
            if with_text and sym["st_shndx"] == self.text_index:
                offset = sym["st_value"] // 8 + insn.imm + 1  # libbpf's sub_insn_idx
                relocs[slot] = (self._text_func(offset) or name, "call")
                dest = base + offset
                insns[slot] = Insn(insn.opcode, insn.dst, insn.src, insn.off, dest - slot - 1)
            return
        relocs[slot] = (name, _reloc_kind(target_sec))


def load_elf(data: bytes, path: str) -> list[tuple[Program, list[BpfFinding]]]:
    """All programs of an eBPF ELF object (see the module docstring)."""
    elf = _open(data)
    try:
        return _load(elf)
    except (ELFError, struct.error, ValueError, KeyError) as exc:
        raise LoadError(f"malformed ELF object ({exc})") from exc


def _load(elf: ELFFile) -> list[tuple[Program, list[BpfFinding]]]:
    symbols = _symbols(elf)
    sections = _program_sections(elf)
    decoded = {i: decode_raw(sec.data(), name=sec.name, section=sec.name) for i, sec in sections}
    text_index = next((i for i, sec in sections if sec.name == ".text"), None)
    text_insns = decoded[text_index][0].insns if text_index is not None else []
    builder = _Builder(elf, symbols, text_index, text_insns)
    maps = _map_defs(elf, symbols)
    data, globals_ = _data(elf, symbols)
    result, text_used = [], False
    for i, sec in sections:
        if i == text_index:
            continue
        with_text = text_index is not None and builder.calls_text(i)
        text_used |= with_text
        program = builder.build(i, sec, decoded[i][0].insns, with_text)
        result.append((program, list(decoded[i][1])))
    if text_index is not None and not text_used:
        sec = elf.get_section(text_index)
        result.insert(0, (builder.build(text_index, sec, text_insns, False),
                          list(decoded[text_index][1])))
    for program, _ in result:
        program.meta.update(maps=maps, globals=globals_, data=data)
    return result
