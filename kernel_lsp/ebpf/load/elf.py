"""Read the programs of an eBPF ELF object (``clang -target bpf``) the way libbpf 1.x opens one.

``load_elf(data, path) -> list[(Program, findings)]``; raises ``srcerror.LoadError`` (a message)
for data that is not a readable eBPF ELF object.

* The header: ``EM_BPF``; ``EM_NONE``, which old LLVM wrote, is accepted as libbpf accepts it,
  with a warning on every program (``E004``). Big-endian objects (``-target bpfeb``) are refused.
* Programs: every function symbol (``STT_FUNC``) of an executable section other than ``.text``
  is a program of its own, named after the function, in section and offset order; a section
  without function symbols (hand-assembled code) is one program named after the section. (A
  static function there is a program too; libbpf refuses such an object as not supported.)
  Functions in ``.text`` are subprograms, appended to the programs that call them (see
  :mod:`kernel_lsp.ebpf.load.elflink`). An object with no program outside ``.text`` (built
  without ``SEC()``) gets one program per global ``.text`` function (every function if none is
  global) — libbpf would load nothing; checking them is more useful.
* Program type and expected attach type from the section name (:mod:`.sections`):
  ``Program.prog_type``; ``meta["attach_type"]``, ``meta["sleepable"]``, ``meta["xdp_frags"]``,
  ``meta["section_match"]`` (``libbpf`` | ``legacy`` | ``None``), ``meta["autoload"]`` (false for
  ``SEC("?...")``). A name only the legacy prefix
  convention explains gets a note (``E006``); a name nothing explains a warning (``E007``).
* Maps (:mod:`.elfmaps`): ``meta["maps"]`` name -> ``MapSpec`` (legacy ``maps``, BTF ``.maps``,
  global data sections), ``meta["slot_maps"]`` slot -> ``MapSpec`` for every map or data
  ``lddw`` (rewritten to ``BPF_PSEUDO_MAP_FD``/``BPF_PSEUDO_MAP_VALUE``), so
  ``run.maps.program_maps`` gives real maps. ``meta["globals"]``: data symbol -> ``section,
  offset, size``; ``meta["data"]``: data section -> bytes; ``meta["subprogs"]``: appended
  function names; ``meta["global_funcs"]``: first slot -> ``(name, parameter kinds,
  returns a scalar)`` of the appended functions BTF says are global (with ``.BTF.ext``);
  ``meta["nonint_funcs"]``: the first slots of appended functions whose BTF return type is
  no int or enum (with ``.BTF.ext``).
"""

from __future__ import annotations

import io
import struct

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.ebpf.load import elfmaps
from kernel_lsp.ebpf.load.btf import Btf, BtfError
from kernel_lsp.ebpf.load.elflink import Func, ObjectCode, Sym, link_program
from kernel_lsp.ebpf.load.raw import decode_raw
from kernel_lsp.ebpf.load.sections import prog_type_for_section, section_def
from kernel_lsp.ebpf.load.srcerror import LoadError

__all__ = ["load_elf", "prog_type_for_section"]

EM_NONE, EM_BPF = 0, 247
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
MAX_BSS = 1 << 28  # a .bss beyond 256 MiB is a corrupt header, not a map the kernel would make


def _open(data: bytes) -> tuple[ELFFile, bool]:
    """The parsed object and whether its machine is ``EM_NONE``."""
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf.header["e_machine"]
    except (ELFError, struct.error, ValueError) as exc:
        raise LoadError(f"not a readable ELF object ({exc})") from exc
    if machine not in ("EM_BPF", EM_BPF, "EM_NONE", EM_NONE):
        raise LoadError(f"not an eBPF object (ELF machine {machine})")
    if not elf.little_endian:
        raise LoadError("big-endian eBPF object (clang -target bpfeb) is not supported")
    return elf, machine in ("EM_NONE", EM_NONE)


def _symbols(elf: ELFFile) -> list[Sym]:
    symtab = elf.get_section_by_name(".symtab")
    out = []
    for sym in (symtab.iter_symbols() if symtab else ()):
        shndx = sym["st_shndx"]
        info = sym["st_info"]
        index = shndx if isinstance(shndx, int) else -1 if shndx != "SHN_UNDEF" else 0
        extern = index == 0 and info["bind"] in ("STB_GLOBAL", "STB_WEAK") \
            and info["type"] == "STT_NOTYPE"
        out.append(Sym(sym.name, index, sym["st_value"], info["type"], extern,
                       info["bind"] in ("STB_GLOBAL", "STB_WEAK")))
    return out


def _global(sym) -> bool:
    return sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")


class _Object:
    """One opened object, read eagerly: every pyelftools access happens in ``__init__``, so a
    malformed object fails there (and only there) with a load error."""

    def __init__(self, elf: ELFFile):
        self.elf = elf
        symtab = elf.get_section_by_name(".symtab")
        self.raw_symbols = list(symtab.iter_symbols()) if symtab else []
        self.symbols = _symbols(elf)
        self.sections = list(elf.iter_sections())
        self.names = {i: s.name for i, s in enumerate(self.sections)}
        self.in_section: dict[int, list] = {}
        for sym in self.raw_symbols:
            self.in_section.setdefault(sym["st_shndx"], []).append(sym)
        self.rel_sections: dict[int, list] = {}
        for sec in self.sections:
            if sec["sh_type"] in ("SHT_REL", "SHT_RELA"):
                self.rel_sections.setdefault(sec["sh_info"], []).append(sec)
        self.exec = [(i, s.name) for i, s in enumerate(self.sections)
                     if s["sh_type"] == "SHT_PROGBITS" and s["sh_flags"] & SHF_EXECINSTR
                     and s["sh_size"] > 0]
        self.decoded = {i: decode_raw(elf.get_section(i).data(), name=n, section=n)
                        for i, n in self.exec}
        self.text = next((i for i, n in self.exec if n == ".text"), None)
        self.btf = self._btf()
        self.funcs = {i: self._functions(i) for i, _ in self.exec}
        self.relocs = {i: self._relocations(i) for i, _ in self.exec}
        self.data = self._data_sections()
        self.externs = self._extern_sections()
        self.maps = self._maps()
        self.globals = self._globals()

    def _btf(self) -> Btf | None:
        sec = self.elf.get_section_by_name(".BTF")
        try:
            return Btf.parse(sec.data()) if sec is not None else None
        except BtfError:
            return None

    def _functions(self, shndx: int) -> list[Func]:
        """The function symbols of an executable section, by offset (sizes 0 run to the next)."""
        count = len(self.decoded[shndx][0].insns)
        found = sorted((s["st_value"] // 8, s.name or f"{self.names[shndx]}@{s['st_value']}",
                        _global(s), s["st_size"] // 8)
                       for s in self.in_section.get(shndx, ())
                       if s["st_info"]["type"] == "STT_FUNC"
                       and s["st_value"] % 8 == 0 and s["st_value"] // 8 < count)
        funcs = []
        for j, (start, name, is_global, size) in enumerate(found):
            end = found[j + 1][0] if j + 1 < len(found) else count
            size = size if 0 < size <= count - start else max(end - start, 1)
            funcs.append(Func(name, shndx, start, size, is_global))
        return funcs

    def _relocations(self, shndx: int) -> dict[int, Sym]:
        out = {}
        for rel in self.rel_sections.get(shndx, ()):
            for r in rel.iter_relocations():
                idx = r["r_info_sym"]
                if 0 <= idx < len(self.symbols) and r["r_offset"] % 8 == 0:
                    out[r["r_offset"] // 8] = self.symbols[idx]
        return out

    def _maps(self) -> elfmaps.ObjectMaps:
        maps = elfmaps.ObjectMaps()
        for i, sec in enumerate(self.sections):
            in_sec = self.in_section.get(i, [])
            if sec.name == "maps":
                elfmaps.legacy_maps(maps, i, sec.data(), in_sec)
            elif sec.name == ".maps":
                elfmaps.btf_maps(maps, i, self.btf, in_sec)
        elfmaps.data_maps(maps, self.data, self.btf, self.in_section)
        elfmaps.kconfig_map(maps, self.btf, self.externs)
        return maps

    def _data_sections(self) -> list[tuple[int, str, bytes]]:
        out = []
        for i, sec in enumerate(self.sections):
            if elfmaps.data_kind(sec.name) and sec["sh_flags"] & SHF_ALLOC:
                if sec["sh_type"] != "SHT_NOBITS":
                    out.append((i, sec.name, sec.data()))
                elif sec["sh_size"] <= MAX_BSS:
                    out.append((i, sec.name, bytes(sec["sh_size"])))
                else:
                    raise LoadError(f"section {sec.name} of {sec['sh_size']} bytes is larger "
                                    f"than {MAX_BSS} bytes")
        return out

    def _typeless_ksyms(self) -> frozenset[str]:
        """``.ksyms`` variables of type void (``extern const void X __ksym``)."""
        out = set()
        for name, section in self.externs.items():
            hit = self.btf.by_name(name, (14,)) if section == ".ksyms" else None  # VAR
            if hit is not None and self.btf.skip_mods(hit[1].size_or_type)[1] is None:
                out.add(name)
        return frozenset(out)

    def _extern_sections(self) -> dict[str, str]:
        if self.btf is None:
            return {}
        out = {}
        for sym in self.symbols:
            hit = self.btf.by_name(sym.name, (12, 14)) if sym.extern else None  # FUNC, VAR
            section = self.btf.datasec_of(hit[0]) if hit else None
            if section:
                out[sym.name] = section
        return out

    def _globals(self) -> dict[str, dict]:
        data = {i for i, _, _ in self.data}
        return {s.name: {"section": self.names[s["st_shndx"]], "offset": s["st_value"],
                         "size": s["st_size"]}
                for s in self.raw_symbols
                if s["st_shndx"] in data and s.name and s["st_info"]["type"] == "STT_OBJECT"}


def load_elf(data: bytes, path: str) -> list[tuple[Program, list[BpfFinding]]]:
    """All programs of an eBPF ELF object (see the module docstring)."""
    elf, em_none = _open(data)
    try:
        obj = _Object(elf)
    except LoadError:
        raise
    except Exception as exc:  # pyelftools raises many kinds of errors on a corrupt object
        raise LoadError(f"malformed ELF object ({type(exc).__name__}: {exc})") from exc
    return _load(obj, em_none)


def _mains(obj: _Object) -> list[Func]:
    mains = []
    for i, name in obj.exec:
        if i == obj.text:
            continue
        funcs = obj.funcs[i]
        mains += funcs or [Func(name or f"section{i}", i, 0, len(obj.decoded[i][0].insns), True)]
    if not mains and obj.text is not None:
        funcs = obj.funcs[obj.text]
        mains = [f for f in funcs if f.is_global] or funcs or \
            [Func(".text", obj.text, 0, len(obj.decoded[obj.text][0].insns), True)]
    return mains


def _section_findings(section: str) -> tuple[dict, list[BpfFinding]]:
    found = section_def(section)
    meta = {"section_match": found.how if found else None,
            "attach_type": (found.attach_type or None) if found else None,
            "sleepable": bool(found and found.sleepable),
            "xdp_frags": bool(found and found.xdp_frags), "autoload": not section.startswith("?")}
    if found is None:
        message = (f"unrecognized ELF section name '{section}': no program type known "
                   f"(libbpf: missing BPF prog type, check ELF section name '{section}'); "
                   f"pass --prog-type")
        return meta, [finding_at("E007", None, message)]
    if found.how == "legacy":
        message = (f"section '{section}' is not a libbpf 1.x section name; program type "
                   f"{found.prog_type} taken from its prefix '{found.pattern.rstrip('+')}' "
                   f"(the convention of libbpf < 1.0, bpf_load.c and iproute2)")
        return meta, [finding_at("E006", None, message)]
    return meta, []


def _global_funcs(obj: _Object, starts: dict[str, int]) -> dict[int, tuple]:
    """First slot -> ``(name, parameter kinds, returns a scalar)`` of each appended subprogram
    whose BTF ``FUNC`` has global linkage: with BTF func_info, Linux verifies such a function on
    its own, with its arguments typed by BTF (``BTF_FUNC_GLOBAL``)."""
    if obj.btf is None:
        return {}
    out = {}
    for name, start in starts.items():
        sig = obj.btf.func_signature(name)
        if sig is not None and sig[0]:
            out[start] = (name, tuple(sig[1]), sig[2])
    return out


def _nonint_funcs(obj: _Object, starts: dict[str, int]) -> frozenset[int]:
    """First slots of the appended functions whose BTF ``FUNC`` returns no int or enum
    (``check_btf_func``'s ``scalar_return``)."""
    if obj.btf is None:
        return frozenset()
    sigs = {start: obj.btf.func_signature(name) for name, start in starts.items()}
    return frozenset(start for start, sig in sigs.items() if sig is not None and not sig[2])


def _license(elf) -> str:
    """The object's ``license`` section up to its first NUL, which libbpf hands the kernel;
    an object without one is loaded with the empty license (no GPL-only helper)."""
    try:
        sec = elf.get_section_by_name("license")
        if sec is None or sec["sh_type"] == "SHT_NOBITS":
            return ""
        data = sec.data()
    except Exception as exc:  # a corrupt header: pyelftools fails in many ways
        raise LoadError(f"malformed ELF object (license section: {type(exc).__name__}: "
                        f"{exc})") from exc
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def _load(obj: _Object, em_none: bool) -> list[tuple[Program, list[BpfFinding]]]:
    code = ObjectCode(
        insns={i: d[0].insns for i, d in obj.decoded.items()}, relocs=obj.relocs,
        text_funcs=obj.funcs[obj.text] if obj.text is not None else [],
        text_shndx=obj.text, maps=obj.maps, section_names=obj.names,
        extern_sections=obj.externs, typeless_ksyms=obj._typeless_ksyms())
    shared = {"maps": obj.maps.by_name(), "globals": obj.globals,
              "data": {name: data for _, name, data in obj.data},
              # libbpf passes BTF func_info when the object has .BTF.ext (clang -g)
              "func_info": obj.elf.get_section_by_name(".BTF.ext") is not None,
              "license": _license(obj.elf)}
    result = []
    for main in _mains(obj):
        section = obj.names[main.shndx]
        linked = link_program(code, main)
        meta, found = _section_findings(section)
        if em_none:
            found.insert(0, finding_at("E004", None, "ELF machine is EM_NONE (written by old "
                                       "LLVM); loaded as eBPF, as libbpf does"))
        found += [finding_at(f.code, None, f"section '{section}': {f.message}")
                  for f in obj.decoded[main.shndx][1]]
        found += linked.findings
        meta.update(shared, slot_maps=linked.slot_maps, subprogs=linked.subprogs,
                    global_funcs=_global_funcs(obj, linked.starts) if shared["func_info"]
                    else {},
                    nonint_funcs=_nonint_funcs(obj, linked.starts) if shared["func_info"]
                    else frozenset())
        program = Program(name=main.name, insns=linked.insns, section=section,
                          relocations=linked.relocations,
                          prog_type=prog_type_for_section(section), meta=meta)
        result.append((program, found))
    return result
