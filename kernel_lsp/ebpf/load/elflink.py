"""Link one eBPF program out of an ELF object the way libbpf does: subprograms and relocations.

A program starts as its function's instructions. Each bpf-to-bpf call (``call`` with src 1) and
each function-address load (a ``lddw`` relocated against a ``.text`` function, which libbpf
marks src 4 ``BPF_PSEUDO_FUNC``: callbacks of ``bpf_loop`` and friends) that reaches a ``.text``
function appends that function once, at the end, depth first in order of first use (libbpf's
``bpf_object__reloc_code``), and its ``imm`` is patched to the appended copy. Map and global data
loads are rewritten as libbpf rewrites them before ``BPF_PROG_LOAD``: ``lddw`` src 1
(``BPF_PSEUDO_MAP_FD``, imm = the map's index) for a map, src 2 (``BPF_PSEUDO_MAP_VALUE``, imm =
index, second slot = offset in the value) for a global variable. A call to an undefined symbol
(``memset`` that clang emitted as a libcall, a kfunc) is left as compiled and reported once
(``E005``); a load from a map whose definition cannot be read is reported (``E008``).

``Program.relocations[slot] = (symbol, kind)``, kind ``map``, ``data``, ``call``, ``func`` (a
function address), ``extern``, ``ksym_addr`` (a typeless ``__ksym``: libbpf loads the kernel
symbol's address from kallsyms as a plain 64-bit constant, unknown here) or ``other``;
``Program.meta["slot_maps"]`` gives the ``MapSpec`` of each rewritten map/data slot (a
``.kconfig`` extern is a load from libbpf's ``.kconfig`` map, see :mod:`.elfmaps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn
from kernel_lsp.ebpf.load.elfmaps import ObjectMaps
from kernel_lsp.ebpf.run.maps import MapSpec

CALL, LDDW = 0x85, 0x18
PSEUDO_CALL, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, PSEUDO_FUNC = 1, 1, 2, 4
LIBCALLS = frozenset(("memset", "memcpy", "memmove", "memcmp"))


@dataclass(frozen=True, slots=True)
class Func:
    """A function symbol's slots in its section."""

    name: str
    shndx: int
    start: int  # first slot, section-relative
    count: int
    is_global: bool


@dataclass(frozen=True, slots=True)
class Sym:
    """What linking needs of an ELF symbol."""

    name: str
    shndx: int  # 0 = undefined
    value: int
    kind: str  # STT_FUNC, STT_OBJECT, STT_SECTION, STT_NOTYPE ...
    extern: bool  # undefined GLOBAL/WEAK NOTYPE (libbpf's sym_is_extern)
    is_global: bool = False  # binding GLOBAL or WEAK


@dataclass(slots=True)
class ObjectCode:
    """Everything of an object that linking reads: code, relocations, functions, maps."""

    insns: dict[int, list[Insn]]  # exec section index -> slots
    relocs: dict[int, dict[int, Sym]]  # exec section index -> section slot -> symbol
    text_funcs: list[Func]
    text_shndx: int | None
    maps: ObjectMaps
    section_names: dict[int, str]
    extern_sections: dict[str, str] = field(default_factory=dict)  # extern -> BTF datasec
    typeless_ksyms: frozenset[str] = frozenset()  # ``extern const void X __ksym``


def is_subprog_call(insn: Insn) -> bool:
    return insn.opcode == CALL and insn.src == PSEUDO_CALL and insn.dst == 0 and insn.off == 0


def is_pseudo_func(insn: Insn) -> bool:
    return insn.opcode == LDDW and insn.src == PSEUDO_FUNC


@dataclass(slots=True)
class Linked:
    """One program after linking."""

    insns: list[Insn]
    relocations: dict[int, tuple[str, str]]
    slot_maps: dict[int, MapSpec]
    findings: list[BpfFinding]
    subprogs: list[str]
    starts: dict[str, int] = field(default_factory=dict)  # appended subprogram -> its first slot


class _Linker:
    def __init__(self, code: ObjectCode, main: Func):
        self.code = code
        self.insns = list(code.insns[main.shndx][main.start: main.start + main.count])
        self.placed: dict[Func, int] = {main: 0}
        self.out = Linked(self.insns, {}, {}, [], [])

    def run(self, main: Func) -> Linked:
        stack = [(main, 0, 0)]
        while stack:
            func, base, k = stack.pop()
            while k < func.count:
                sub = self._slot(func, base, k)
                k += 1
                if sub is not None:
                    stack.append((func, base, k))
                    stack.append((sub, self.placed[sub], 0))
                    break
        return self.out

    def _slot(self, func: Func, base: int, k: int) -> Func | None:
        """Relocate one slot; a newly appended subprogram to process next, else ``None``."""
        slot = base + k
        insn = self.insns[slot]
        sym = self.code.relocs.get(func.shndx, {}).get(func.start + k)
        if insn.opcode == LDDW and sym is not None and self._is_subprog(sym):
            insn = Insn(insn.opcode, insn.dst, PSEUDO_FUNC, insn.off, insn.imm, insn.imm64)
            self.insns[slot] = insn  # libbpf marks a subprogram address load BPF_PSEUDO_FUNC
        if is_subprog_call(insn) or is_pseudo_func(insn):
            return self._call(func, slot, insn, sym)
        if sym is not None:
            self._data(slot, insn, sym)
        return None

    def _is_subprog(self, sym: Sym) -> bool:
        """libbpf's ``sym_is_subprog``: a global function or a section symbol of ``.text``."""
        return sym.shndx == self.code.text_shndx and (
            (sym.kind == "STT_SECTION" and not sym.is_global)
            or (sym.kind == "STT_FUNC" and sym.is_global))

    def _call(self, func: Func, slot: int, insn: Insn, sym: Sym | None) -> Func | None:
        code = self.code
        if sym is not None and sym.extern:
            self.out.relocations[slot] = (sym.name, "extern")
            message = extern_message(sym.name, code.extern_sections.get(sym.name), True)
            self.out.findings.append(finding_at("E005", slot, message))
            return None
        if sym is not None:
            if sym.shndx != code.text_shndx:
                self.out.relocations[slot] = (sym.name or "?", "other")
                return None
            base_slot = sym.value // 8
            target = base_slot + insn.imm + 1 if insn.opcode == CALL else \
                (sym.value + insn.imm) // 8
        elif func.shndx == code.text_shndx:
            target = func.start + (slot - self.placed[func]) + insn.imm + 1
        else:
            return None  # a call inside the function's own section: left as compiled
        sub = next((f for f in code.text_funcs if f.start <= target < f.start + f.count), None)
        if sub is None:
            self.out.relocations[slot] = (sym.name if sym else "?", "call")
            return None
        fresh = sub not in self.placed
        if fresh:
            self.placed[sub] = len(self.insns)
            self.insns.extend(code.insns[sub.shndx][sub.start: sub.start + sub.count])
            self.out.subprogs.append(sub.name)
            self.out.starts[sub.name] = self.placed[sub]
        dest = self.placed[sub] + (target - sub.start)
        self.insns[slot] = _with(insn, imm=dest - slot - 1)
        self.out.relocations[slot] = (sub.name, "call" if insn.opcode == CALL else "func")
        return sub if fresh else None

    def _data(self, slot: int, insn: Insn, sym: Sym) -> None:
        code, out = self.code, self.out
        name = sym.name or code.section_names.get(sym.shndx, "?")
        if insn.opcode != LDDW or slot + 1 >= len(self.insns):
            out.relocations[slot] = (name, "other")
            return
        if sym.extern and name in code.maps.externs:  # a .kconfig value
            index, off = code.maps.externs[name]
            self._patch_lddw(slot, PSEUDO_MAP_VALUE, index, off + insn.imm)
            out.relocations[slot] = (name, "data")
            out.slot_maps[slot] = code.maps.specs[index]
            return
        if sym.extern and name in code.typeless_ksyms:  # its address, found in kallsyms
            out.relocations[slot] = (name, "ksym_addr")
            return
        if sym.extern:
            out.relocations[slot] = (name, "extern")
            message = extern_message(sym.name, code.extern_sections.get(sym.name), False)
            out.findings.append(finding_at("E005", slot, message))
            return
        where = (sym.shndx, sym.value)
        if where in code.maps.at:
            index = code.maps.at[where]
            self._patch_lddw(slot, PSEUDO_MAP_FD, index, 0)
            out.relocations[slot] = (name, "map")
        elif where in code.maps.problems:
            out.relocations[slot] = (name, "map")
            out.findings.append(finding_at("E008", slot, code.maps.problems[where]))
            return
        elif sym.shndx in code.maps.data:
            index = code.maps.data[sym.shndx]
            self._patch_lddw(slot, PSEUDO_MAP_VALUE, index, sym.value + insn.imm)
            out.relocations[slot] = (name, "data")
        else:
            out.relocations[slot] = (name, "other")
            return
        out.slot_maps[slot] = code.maps.specs[index]

    def _patch_lddw(self, slot: int, src: int, imm: int, hi: int) -> None:
        first, second = self.insns[slot], self.insns[slot + 1]
        second = _with(second, imm=hi)
        imm64 = (hi & 0xFFFFFFFF) << 32 | (imm & 0xFFFFFFFF)
        self.insns[slot] = Insn(first.opcode, first.dst, src, first.off, imm, imm64)
        self.insns[slot + 1] = second


def _with(insn: Insn, imm: int) -> Insn:
    imm64 = insn.imm64
    if imm64 is not None:
        imm64 = (imm64 & ~0xFFFFFFFF) | (imm & 0xFFFFFFFF)
    return Insn(insn.opcode, insn.dst, insn.src, insn.off, imm, imm64)


def extern_message(name: str, datasec: str | None, is_call: bool) -> str:
    """The ``E005`` text for an undefined symbol (``datasec``: where BTF declares it)."""
    if datasec == ".ksyms":
        what = "func" if is_call else "var"
        return (f"extern ({what} ksym) '{name}': resolved against the running kernel's BTF, "
                f"which kernel-lsp does not model")
    if datasec == ".kconfig":
        return (f"extern '{name}' (.kconfig): its value comes from the kernel configuration "
                f"at load time, which kernel-lsp does not model")
    if is_call and name in LIBCALLS:
        return (f"failed to find BTF for extern '{name}': call to a function the object does "
                f"not define (a libcall clang could not inline; use __builtin_{name} with a "
                f"small constant size)")
    if is_call:
        return f"failed to find BTF for extern '{name}': call to a function the object does " \
               f"not define"
    return f"failed to find BTF for extern '{name}': load of an undefined symbol"


def link_program(code: ObjectCode, main: Func) -> Linked:
    """Link ``main`` with the subprograms it reaches (see the module docstring)."""
    return _Linker(code, main).run(main)
