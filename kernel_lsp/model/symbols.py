"""Symbol tables of the model (functions, macros, types, variables by name), read at once, and
the path policies that decide which files of a tree are kernel code of this configuration."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from kernel_lsp.model import schema
from kernel_lsp.model.packed import Packed, Partial
from kernel_lsp.model.programs import Programs
from kernel_lsp.model.resolve import ancestors_below_top, is_compiler_header, unknown_content
from kernel_lsp.model.store import Model
from kernel_lsp.model.visibility import bits
from kernel_lsp.parse.macroenv import Configuration

# Directories of C library headers, and libbpf's (``<bpf/bpf_helpers.h>``): a BPF program
# (``drivers/hid/bpf/progs/*.bpf.c``) is built against libbpf, not the kernel
_SYSTEM_DIRS = ("sys/", "bits/", "arpa/", "netinet/", "gnu/", "bpf/")


def is_system_header(target: str) -> bool:
    """A C library header (``<stdio.h>``, ``<sys/types.h>``): only host programs include them.
    (A bare macro name is a computed include, ``#include GENL_MAGIC_INCLUDE_FILE``.)"""
    return ("/" not in target and "." in target) or target.startswith(_SYSTEM_DIRS)


def other_arch_headers(paths: Iterable[str], arch: str) -> set[str]:
    """Include targets (``asm/ps3.h``) that only other architectures' include dirs hold."""
    out = set()
    for p in paths:
        if p.startswith("arch/") and not p.startswith(f"arch/{arch}/") and "/include/" in p:
            out.add(p.split("/include/", 1)[1])
    return out


def not_built_here(edges, foreign_headers: set[str], fallback=None, unit: bool = False) -> bool:
    """Whether a file with these include lines is not kernel code of this architecture: a host
    program (it includes a C library header) or a file only another architecture builds (it
    includes a header that only another architecture has, such as ``<asm/ps3.h>``). An include
    that ``fallback(guard)`` says is a fallback (``Fallbacks``) is no evidence; nor, in a
    ``unit`` Kbuild builds, is a quoted one (a header its build writes, ``"crc32table.h"``,
    or one just missing: a C library's is written ``<stdio.h>``)."""
    return any(e.resolved_id is None and (
        e.target in foreign_headers or is_system_header(e.target) and (e.angled or not unit))
        and not (e.guard and fallback is not None and fallback(e.guard)) for e in edges)


def _beside_or_above(by_path: dict[str, int], here: str, target: str) -> int | None:
    """The file a quoted ``#include`` of ``target`` in directory ``here`` names: beside it, else
    in an ancestor directory the resolver also looks in (``resolve.ancestors_below_top``:
    i915's ``gt/intel_gtt.c`` includes ``"selftests/mock_gtt.c"`` of ``drivers/gpu/drm/i915/``)."""
    for directory in (here, *ancestors_below_top(here)):
        hit = by_path.get(posixpath.normpath(posixpath.join(directory, target)))
        if hit is not None:
            return hit
    return None


class Fallbacks:
    """``fallbacks.of(fid)(name)``: whether an include of file ``fid`` under an undecided
    ``#ifndef name`` is a portable header's fallback for builds that lack ``name``, not a sign of
    a host program: ``fid`` is a header, and a shared header of the architecture (``include/``,
    ``arch/<arch>/include/``) defines ``name``. acpica's ``accommon.h`` includes its own C
    library header, ``acclib.h``, under ``#ifndef ACPI_USE_SYSTEM_CLIBRARY``, which
    ``include/acpi/platform/aclinux.h`` defines for the kernel."""

    def __init__(self, symbols, arch: str):
        self.symbols, self.shared = symbols, ("include/", f"arch/{arch}/include/")
        self.memo: dict[str, bool] = {}

    def of(self, fid: int):
        if not self.symbols.paths.get(fid, "").endswith(".h"):
            return None
        return self._defined

    def _defined(self, name: str) -> bool:
        got = self.memo.get(name)
        if got is None:
            paths = self.symbols.paths
            got = self.memo[name] = any(paths.get(m.file_id, "").startswith(self.shared)
                                        for m in self.symbols.macros.get(name) or ())
        return got


# A file included by this many files or more is never hosted through its includers.
HOSTED_INCLUDERS_MAX = 64


def hosted_set(graph: dict, symbols) -> set[int]:
    """``hosted_files`` of a whole stored model, with every kind of evidence the symbol table
    holds (other architectures' headers, fallbacks, Kbuild's unbuilt files and host programs,
    headers only dropped lines include), for the symbol table's architecture."""
    return hosted_files(graph, symbols.foreign_headers(), Fallbacks(symbols, symbols.arch),
                        not_kernel_ids(symbols), dropped_named(symbols), symbols.unit_ids,
                        symbols.dropped_includers, other_arch_ids(symbols.paths, symbols.arch))


def other_arch_ids(paths: Mapping[int, str], arch: str) -> set[int]:
    """The ids of the files under another architecture's ``arch/<other>/``: such a file that
    no file includes is not kernel code of ``arch`` (``hosted_files``; its ``.c`` files are
    Kbuild's unbuilt ones). riscv checked arm's and arm64's ``asm/xen/page.h``, which nothing
    riscv builds includes, and through them ``include/xen/interface/grant_table.h``."""
    return {fid for fid, p in paths.items() if p.startswith("arch/")
            and p.count("/") > 1 and p.split("/", 2)[1] != arch}


def hosted_files(graph: dict, foreign_headers: set[str] = frozenset(),
                 fallbacks: Fallbacks | None = None, unbuilt: set[int] = frozenset(),
                 dropped_named: set[int] = frozenset(), units: set[int] = frozenset(),
                 dropped_includers: Mapping[int, set[int]] | None = None,
                 other_arch: set[int] = frozenset()) -> set[int]:
    """Files that are not kernel code of this architecture (see ``not_built_here``, and the
    ``unbuilt`` files Kbuild builds under no configuration of it), the headers that only
    ``#include`` lines of dropped ``#if`` branches name (``dropped_named``: no file of this
    configuration includes them), and the files that only such files include
    (``arch/x86/entry/vdso/vdso2c.h``, a host program's), unless Kbuild builds them as
    ``units`` of their own (``lib/maple_tree.c``, which a test program under ``tools/``
    includes too). A ``.c`` file that no line includes but dropped ones of such files
    (``dropped_includers``: i915's ``selftests/huge_pages.c``, which ``i915_gem_object.c``
    includes under ``CONFIG_DRM_I915_SELFTEST``, an option arm64 never has) is one too; so is
    a file of another architecture's directory that no file includes (``other_arch``)."""
    hosted = set(unbuilt) | {fid for fid, edges in graph.items() if not_built_here(
        edges, foreign_headers, fallbacks.of(fid) if fallbacks is not None else None,
        fid in units)}
    includers: dict[int, set[int]] = {}
    for fid, edges in graph.items():
        for e in edges:
            if e.resolved_id is not None and e.resolved_id != fid:
                includers.setdefault(e.resolved_id, set()).add(fid)
    hosted.update(fid for fid in dropped_named if fid not in includers)
    hosted.update(fid for fid in other_arch if fid not in includers and fid not in units)
    dropped = {fid: by for fid, by in (dropped_includers or {}).items()
               if fid not in includers and fid not in units}
    changed = True
    while changed:
        changed = False
        for fid, by in [*includers.items(), *dropped.items()]:
            if fid not in hosted and fid not in units and len(by) < HOSTED_INCLUDERS_MAX and (
                    by <= hosted):
                hosted.add(fid)
                changed = True
    return hosted


def configuration_is_derived(model: Model) -> bool:
    """Whether the model's configuration is a guess (a defconfig with undecided options) rather
    than the user's ``.config``/``autoconf.h``: only then is a name defined in a dropped branch
    given the benefit of the doubt (``Symbols.hidden``)."""
    stored = stored_configuration(model)
    return stored.derived if stored is not None else True


def stored_configuration(model: Model) -> Configuration | None:
    """The configuration the model was indexed with (None before the first index)."""
    stored = model.meta("configuration")
    return Configuration.from_json(stored) if stored else None


def ifdef_call_sets(rows) -> dict[str, set[tuple[int, int]]]:
    """``name -> {(file, start)}`` of the ``(name, file, start)`` rows of calls under an
    undecided ``#if defined(name)`` (``Model.ifdef_calls``)."""
    out: dict[str, set[tuple[int, int]]] = {}
    for name, fid, start in rows:
        out.setdefault(name, set()).add((fid, start))
    return out


def model_host_sources(model: Model) -> set[str]:
    """The host programs' ``.c`` files the indexer found in the Kbuild files."""
    stored = model.meta("host_sources")
    return set(json.loads(stored)) if stored else set()


def model_unbuilt_ids(model: Model, paths: dict[int, str], key: str = "paths") -> set[int]:
    """The ids of the ``.c`` files that no configuration of the architecture builds (``key``
    "off": that the derived configuration does not build; "units": that Kbuild lists and some
    configuration builds), as the indexer found them in Kconfig and the Kbuild files
    (``model/buildable.py``)."""
    stored = model.meta("unbuilt_sources")
    unbuilt = set(json.loads(stored).get(key, ())) if stored else set()
    return {fid for fid, p in paths.items() if p in unbuilt} if unbuilt else set()


def model_assembly_ids(model: Model, paths: dict[int, str]) -> set[int]:
    """The ids of the headers no file includes that only the assembler can read, as the
    indexer found them (``meta.assembly_headers``, ``programs.assembly_headers``)."""
    stored = model.meta("assembly_headers")
    names = set(json.loads(stored)) if stored else set()
    return {fid for fid, p in paths.items() if p in names} if names else set()


def model_off_ids(model: Model, paths: dict[int, str]) -> set[int]:
    """``model_unbuilt_ids(.., "off")`` and the ``.c`` files only those include (the
    configuration's own includes of them being in dropped branches): ``rwbase_rt.c``, which
    ``spinlock_rt.c`` includes, is built only in ``CONFIG_PREEMPT_RT``'s configuration too,
    and checked as it would have it; and, with the user's ``.config``, the headers only they
    read."""
    off = model_unbuilt_ids(model, paths, "off")
    if not off:
        return off
    includers: dict[int, set[int]] = {}
    for by, target in model.c_file_includes():
        includers.setdefault(target, set()).add(by)
    for _ in range(3):  # .c files included by .c files included by ...
        more = {t for t, by in includers.items() if t not in off and by <= off}
        if not more:
            break
        off |= more
    if configuration_is_derived(model):
        return off  # (every file is given the benefit of a derived configuration's dropped
        # branches: the headers below changed no finding of Linux 6.1's defconfig, for 1-3 s)
    return off | _headers_only_off_read(model, off, paths)


def _headers_only_off_read(model: Model, off: set[int], paths: dict[int, str]) -> set[int]:
    """The headers that only ``off`` files and such headers include: no file this
    configuration builds reads them (``lockdep_internals.h``, which only ``CONFIG_LOCKDEP``'s
    files include, uses ``struct lock_class``: Debian's amd64 config drops it).

    Walked from the headers the ``off`` files include, each asked for its includers until
    one is neither off nor found (a widely included header's first one, mostly): reading the
    whole include graph of Linux (333,000 lines) held an editor's start for 1-2 s."""
    found: set[int] = set()
    todo = sorted(model.included_ids(off), reverse=True)
    while todo:
        header = todo.pop()
        if header in found or header in off or not paths.get(header, "").endswith(".h"):
            continue
        if all(f in off or f in found for f in model.includer_ids(header)):
            found.add(header)
            todo += model.included_ids([header])
    return found


def model_kbuild_names(model: Model) -> tuple[frozenset[str], frozenset[str]]:
    """(the file names the Kbuild files name, the names they define with -D), as the stored
    configuration holds them (read once)."""
    stored = stored_configuration(model)
    return (stored.generated, stored.command_line) if stored is not None else (
        frozenset(), frozenset())


def model_unknown_header_ids(model: Model, symbols) -> set[int]:
    """The ids of the files with an ``#include`` of a header the tree does not hold and that
    may declare anything (``resolve.unknown_content``: generated beside its user by a rule of
    a Kbuild file, the compiler's intrinsics), unless it is a portable header's fallback the kernel does not
    build (``Fallbacks``: acpica's ``acclib.h`` under ``#ifndef ACPI_USE_SYSTEM_CLIBRARY``). The
    compiler's intrinsics are never such a fallback: ``asm/neon-intrinsics.h`` includes
    ``<arm_neon.h>`` right inside its include guard, which the header itself defines."""
    fallbacks, generated = Fallbacks(symbols, symbols.arch), symbols.generated
    return {fid for fid, target, angled, guard in model.unresolved_includes()
            if unknown_content(target, bool(angled), generated) and (
                is_compiler_header(target) or not (
                    guard and (fallback := fallbacks.of(fid)) is not None and fallback(guard)))}


def bitset(ids: Iterable[int]) -> int:
    """The visibility bitset (``model/visibility.py``) of the files ``ids``."""
    mask = 0
    for fid in ids:
        mask |= 1 << fid
    return mask


def not_kernel_ids(symbols) -> set[int]:
    """The ``.c`` files Kbuild says are not kernel code of this architecture: those no
    configuration of it builds (``unbuilt_ids``) and the host programs' (``hostprogs``:
    ``arch/x86/tools/relocs_common.c``, built against the C library)."""
    host = symbols.host
    return set(symbols.unbuilt_ids) | ({fid for fid, p in symbols.paths.items() if p in host}
                                       if host else set())


def dropped_named(symbols) -> set[int]:
    """The headers that an ``#include`` line of a dropped ``#if`` branch names (resolved as
    ``Symbols.header_id`` does): ``asm/pgtable-3level.h``, which ``pgtable.h`` includes only
    with ``CONFIG_X86_PAE``; and those only the assembler reads (``assembly_ids``): where no
    file includes them, no C file of this configuration reads them. Computed once per symbol
    table."""
    out = getattr(symbols, "_dropped_named", None)
    if out is None:
        out = set(symbols.assembly_ids)
        for fid, name in symbols.dropped_include_rows:
            hid = symbols.header_id(fid, name)
            if hid is not None and hid != fid:
                out.add(hid)
        symbols._dropped_named = out
    return out


def model_dropped_headers(model: Model) -> dict[int, tuple[str, ...]]:
    """file id -> the headers it includes in a dropped ``#if`` branch, as written (read for the
    files the configuration does not build only: ``checks.inputs.dropped_here``)."""
    out: dict[int, tuple[str, ...]] = {}
    for fid, name in model.dropped_header_includes():
        out[fid] = out.get(fid, ()) + (name,)
    return out


_FOREIGN_TOPS = ("tools/", "samples/", "scripts/", "usr/", "Documentation/")


def is_foreign(path: str, arch: str) -> bool:
    """Files outside the configured kernel: other architectures, and the user-space programs of
    ``tools/``, ``samples/``, ``scripts/``. What only they define is not reachable from kernel
    code of this configuration, so it neither satisfies nor condemns a use."""
    if path.startswith("arch/"):
        return not path.startswith(f"arch/{arch}/")
    return path.startswith(_FOREIGN_TOPS)


@dataclass(frozen=True, slots=True)
class FuncSym:
    file_id: int
    is_definition: bool
    storage: str
    start_byte: int


@dataclass(frozen=True, slots=True)
class VarSym:
    file_id: int
    storage: str
    is_definition: bool
    start_byte: int
    line: int
    col: int
    end_col: int


class MacroSym(NamedTuple):
    """A ``#define`` of some name."""

    file_id: int
    function_like: bool
    start_byte: int


@dataclass(frozen=True, slots=True)
class TypeSym:
    """A struct/union/enum declaration or definition, or a typedef, of some name."""

    file_id: int
    kind: str
    is_definition: bool
    start_byte: int


# The fields of each entry type, as ``Packed`` stores them.
_FUNC = ("int", "bool", "str", "int")
_MACRO = ("int", "bool", "int")
_VAR = ("int", "str", "bool", "int", "int", "int", "int")
_TYPE = ("int", "str", "bool", "int")


@dataclass
class Symbols:
    """Everything the checks look up by name, loaded once per run."""

    paths: dict[int, str]
    functions: Packed = field(default_factory=lambda: Packed(FuncSym, _FUNC))  # [FuncSym]
    macros: Packed = field(default_factory=lambda: Packed(MacroSym, _MACRO))  # [MacroSym]
    tags: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, name) -> definitions
    typedefs: set[str] = field(default_factory=set)
    enumerators: set[str] = field(default_factory=set)
    variables: Packed = field(default_factory=lambda: Packed(VarSym, _VAR))  # [VarSym]
    types: Packed = field(default_factory=lambda: Packed(TypeSym, _TYPE))  # [TypeSym]
    members: set[str] = field(default_factory=set)  # every struct/union member name
    foreign_ids: set[int] = field(default_factory=set)
    programs: Programs = field(default_factory=lambda: Programs({}))
    host: set[str] = field(default_factory=set)  # .c files of host programs (Kbuild hostprogs)
    # .c files no configuration of the architecture builds (``model/buildable.py``)
    unbuilt_ids: set[int] = field(default_factory=set)
    # .c files the configuration (derived or the user's .config) does not build, though another
    # would, and those only its dropped ``#include "x.c"`` lines name: checked as their own
    # options would have them
    off_ids: set[int] = field(default_factory=set)
    # .c files Kbuild lists and some configuration builds: kernel code, whoever else includes
    # them (``buildable.KbuildStatus.units``)
    unit_ids: set[int] = field(default_factory=set)
    # headers no file includes that only the assembler can read (``programs.assembly_headers``)
    assembly_ids: set[int] = field(default_factory=set)
    # file -> headers it includes in a dropped #if branch
    dropped_headers: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # (file, header as written) of every #include in a dropped #if branch, whatever the
    # configuration's source
    dropped_include_rows: list[tuple[int, str]] = field(default_factory=list)
    # bitset of the files that include a header the tree lacks and that may declare anything
    # (``model_unknown_header_ids``): a name seen there is not proven defined nowhere
    unknown_headers: int = 0
    # bitset of the template headers (``Model.template_files``), whose names each includer
    # makes its own: a name seen after one is not proven defined nowhere
    templates: int = 0
    # the file names the Kbuild files name (``Configuration.generated``): an include of one
    # that resolves to nothing finds what the build writes
    generated: frozenset[str] = frozenset()
    # names some Kbuild file defines with -D (``Configuration.command_line``)
    command_line: frozenset[str] = frozenset()
    # file -> (NAME, start, end, kind) of its branches kept on an undecided ``#ifdef NAME``
    # / ``#if NAME``, ``#ifndef NAME`` or comparison, and its numbers for the ``.c`` files it
    # includes (``Model.undecided_branches``)
    undecided: Mapping[int, list[tuple[str, int, int, str]]] = field(default_factory=dict)
    # function name -> (file, start) of its calls under an undecided ``#if defined(name)``
    ifdef_calls: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    arch: str = "x86"
    # name -> kinds it has in dropped #if branches (defined under another configuration), when
    # the configuration is derived (the user's .config is not a guess); ``hidden_at``
    hidden: Mapping[str, set[str]] = field(default_factory=dict)
    # the same whatever the configuration's source: for the files it does not build
    hidden_all: Mapping[str, set[str]] = field(default_factory=dict)
    # .c file -> the .c files it includes, or is included by, in a dropped #if branch: one
    # translation unit in the configuration that keeps the branch (``ohci-hcd.c`` and
    # ``ohci-ps3.c``); never a unit of its own
    dropped_units: dict[int, set[int]] = field(default_factory=dict)
    # .c file -> the files whose dropped ``#include "x.c"`` lines name it (one way of the above)
    dropped_includers: dict[int, set[int]] = field(default_factory=dict)
    # function, variable or macro name -> the files that declare it in a dropped #if branch
    hidden_in: dict[str, set[int]] = field(default_factory=dict)
    # name -> (file_id, parameter names, body) of its function-like macros, read when asked
    # (``Model.macro_definitions``): a macro's body is read only to see what its arguments need
    macro_source: Callable[[str], list] | None = field(default=None, repr=False)
    # macro name -> what its arguments need (``parse/macroargs.Needs``), for the whole run
    macro_needs_memo: dict = field(default_factory=dict, repr=False)
    _foreign: set[str] | None = field(default=None, repr=False)  # ``foreign_headers``
    # (file, name) -> the object-like macros of the file that stand for the name
    # (``Model.aliases_in``), read when asked
    alias_source: Callable[[int, str], list] | None = field(default=None, repr=False)
    # (the ``unknown_headers`` it was found from, directory -> its headers among them)
    _unknown_dirs: tuple[int, dict[str, int]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, model: Model, arch: str = "x86") -> Symbols:
        s = cls(paths=model.file_paths(), macro_source=model.macro_definitions,
                alias_source=model.aliases_in)
        s.foreign_ids = {fid for fid, p in s.paths.items() if is_foreign(p, arch)}
        s.host = model_host_sources(model)
        s.programs = Programs(s.paths, s.host)
        s.unbuilt_ids = model_unbuilt_ids(model, s.paths)
        s.unit_ids = model_unbuilt_ids(model, s.paths, "units")
        s.assembly_ids = model_assembly_ids(model, s.paths)
        s.dropped_headers = model_dropped_headers(model)
        s.dropped_include_rows = list(model.dropped_header_includes())
        s.ifdef_calls = ifdef_call_sets(model.ifdef_calls())
        s.arch = arch
        for name, fid, is_def, storage, start in model.function_symbols():
            s.functions.add(name, fid, is_def, storage, start)
        # the macros of the names the model's facts name; any other, read when asked
        s.macros = Partial(MacroSym, _MACRO, model.macro_keys(), schema.name_key,
                           lambda n: [MacroSym(f, bool(fl), b) for f, fl, b in
                                      model.macro_entries(n)])
        for name, fid, function_like, start in model.macro_symbols():
            s.macros.add(name, fid, function_like, start)
        for name, kind, fid, is_def, members, start in model.type_symbols():
            s._add_type(name, kind, is_def, members)
            s.types.add(name, fid, kind, is_def, start)
        for name, kind in model.hidden_symbols():
            s.hidden_all.setdefault(name, set()).add(kind)
        if configuration_is_derived(model):
            s.hidden = s.hidden_all
        s._add_dropped_units(model.dropped_c_includes())
        s.off_ids = model_off_ids(model, s.paths) | s.only_dropped_included(model)
        for name, fid in model.hidden_by_file():
            s.hidden_in.setdefault(name, set()).add(fid)
        for name, fid, storage, is_def, start, line, col, end_col in model.variable_symbols():
            s.variables.add(name, fid, storage, is_def, start, line, col, end_col)
        s.generated, s.command_line = model_kbuild_names(model)
        s.unknown_headers = bitset(model_unknown_header_ids(model, s))
        s.templates = bitset(model.template_files())
        for fid, name, start, end, kind in model.undecided_branches():
            s.undecided.setdefault(fid, []).append((name, start, end, kind))
        return s

    def _add_type(self, name: str, kind: str, is_def, members: str | None, step: int = 1) -> None:
        if kind == "typedef":
            if step > 0:
                self.typedefs.add(name)
        elif is_def:
            self.tags[(kind, name)] = self.tags.get((kind, name), 0) + step
            if self.tags[(kind, name)] <= 0:
                del self.tags[(kind, name)]
        if members and step > 0:
            names = (m[0] for m in json.loads(members))
            (self.enumerators if kind == "enum" else self.members).update(names)

    def _add_dropped_units(self, rows) -> None:
        by_path = None
        for fid, target in rows:
            if by_path is None:
                by_path = {p: i for i, p in self.paths.items()}
            other = _beside_or_above(by_path, posixpath.dirname(self.paths.get(fid, "")),
                                     target)
            if other is not None and other != fid:
                self.dropped_units.setdefault(fid, set()).add(other)
                self.dropped_units.setdefault(other, set()).add(fid)
                self.dropped_includers.setdefault(other, set()).add(fid)

    def only_dropped_included(self, model: Model) -> set[int]:
        """The ``.c`` files that only dropped ``#include`` lines name (``dropped_includers``),
        neither a Kbuild unit nor included where the configuration keeps the line: built only
        by a configuration that keeps it (i915's ``selftests/huge_pages.c``, which
        ``i915_gem.c`` includes under ``CONFIG_DRM_I915_SELFTEST``)."""
        if not self.dropped_includers:
            return set()
        live = {target for _by, target in model.c_file_includes()}
        return {fid for fid in self.dropped_includers
                if fid not in live and fid not in self.unit_ids and fid not in self.unbuilt_ids}

    def hidden_at(self, fid: int) -> Mapping[str, set[str]]:
        """``hidden`` as file ``fid`` is judged: a file the configuration does not build
        (``off_ids``) is given the benefit of every dropped branch, whatever the
        configuration's source; a file it builds, only of a derived configuration's."""
        return self.hidden_all if fid in self.off_ids else self.hidden

    def header_id(self, includer: int, name: str) -> int | None:
        """The file an ``#include`` of ``name`` in ``includer`` names, looked up as the
        compiler would in the usual places (next to the includer, ``include/``,
        ``arch/<arch>/include/`` and their ``uapi/``), then below the nearest directory above
        the includer that holds it, as a Kbuild ``-I`` of a driver's top directory has it
        (``en_accel/ktls_txrx.h`` of mlx5's ``core/`` includes ``en/txrx.h``): for a dropped
        line, which the include resolution of the indexer does not see."""
        by_path = getattr(self, "_by_path", None)
        if by_path is None:
            by_path = self._by_path = {p: i for i, p in self.paths.items()}
        here = posixpath.dirname(self.paths.get(includer, ""))
        for d in (here, "include", f"arch/{self.arch}/include", "include/uapi",
                  f"arch/{self.arch}/include/uapi"):
            hit = by_path.get(posixpath.normpath(posixpath.join(d, name)))
            if hit is not None:
                return hit
        while "/" in here:
            here = posixpath.dirname(here)
            hit = by_path.get(posixpath.normpath(posixpath.join(here, name)))
            if hit is not None:
                return hit
        return None

    def native(self, entries: list, fid: int) -> list:
        """The ``entries`` a file can reach in this configuration (see ``is_foreign``) and
        program (a ``.c`` file of the decompressor does not link with the kernel's)."""
        foreign = self.foreign_ids if self.foreign_ids and fid not in self.foreign_ids else ()
        program, of = self.programs(fid), self.programs
        return [e for e in entries if e.file_id not in foreign and (
            of(e.file_id) == program or self.is_header(e.file_id))]

    def is_header(self, fid: int) -> bool:
        return self.paths.get(fid, "").endswith(".h")

    def unknown_headers_in(self, directory: str) -> int:
        """Bitset of the headers of ``directory`` among ``unknown_headers``, sorted by
        directory once for each value it takes."""
        memo = self._unknown_dirs
        if memo is None or memo[0] is not self.unknown_headers:
            by_dir: dict[str, int] = {}
            for fid in bits(self.unknown_headers):
                path = self.paths.get(fid, "")
                if path.endswith(".h"):
                    here = posixpath.dirname(path)
                    by_dir[here] = by_dir.get(here, 0) | 1 << fid
            memo = self._unknown_dirs = (self.unknown_headers, by_dir)
        return memo[1].get(directory, 0)

    def undecided_in(self, fid: int) -> list[tuple[str, int, int, str]]:
        """(NAME, start, end, kind) of ``fid``'s branches kept on an undecided condition and
        its numbers for the ``.c`` files it includes (``Model.undecided_branches``)."""
        return self.undecided.get(fid, [])

    def renamed_as(self, fid: int, name: str) -> list[str]:
        """The macros of file ``fid`` that rename to ``name`` (``#define __ei_open
        ax_ei_open`` above ``#include "lib8390.c"``: the library's ``__ei_open`` is defined
        as ``ax_ei_open`` there)."""
        return self.alias_source(fid, name) if self.alias_source is not None else []

    def foreign_headers(self) -> set[str]:
        """Include targets that only other architectures' include directories hold
        (``<asm/ps3.h>``), read from the paths once."""
        if self._foreign is None:
            self._foreign = other_arch_headers(self.paths.values(), self.arch)
        return self._foreign

    def defined_nowhere(self, name: str) -> bool:
        """Whether no file of the model ``#define``s the macro ``name`` (in a branch this
        configuration drops either, when it is derived: ``hidden``), nor a Kbuild ``-D``: an
        ``#ifdef name`` branch is then never compiled."""
        return not self.macros.get(name) and "macro" not in (self.hidden.get(name) or ()) and (
            name not in self.command_line)

    def macro_definitions(self, name: str) -> list[tuple[int, list[str], str]]:
        """(file_id, parameter names, body) of the function-like macros ``name``."""
        return self.macro_source(name) if self.macro_source is not None else []

