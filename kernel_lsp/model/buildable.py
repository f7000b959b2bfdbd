"""The ``.c`` files that no configuration of the architecture builds, read from Kconfig and Kbuild.

A Kbuild file lists each object under the option that builds it (``obj-$(CONFIG_TEGRA_CBB) +=
tegra194-cbb.o``), a composite object's parts under its name (``blinker-y := blinker_main.o``)
and each subdirectory under the option that enters it (``obj-$(CONFIG_PPC) += ps3/``). A file is
*unbuilt* here when every listing of its object needs an option that cannot be on for this
architecture: ``TEGRA_CBB`` depends on ``ARCH_TEGRA_194_SOC``, which only ``arch/arm64/Kconfig``
defines. Its findings would only be the noise of checking it as x86 code.

Which options can be on (``possible_symbols``) is a may-analysis, deliberately generous: an
option with a prompt whose dependencies may hold, an option some possible option selects (a
``select`` overrides dependencies) or implies, or with a default that may be on; a negation
(``!X86_32``), a comparison and a toolchain probe may always hold, but the negation of an option
every configuration has on (``!ARM64`` on arm64, ``!SMP`` there: ``always_on``) never does. So
only a dependency on an option this architecture's Kconfig never defines, or that only such
options enable, makes a file unbuilt. A file no Kbuild file lists (a ``.c`` another one
includes, a host tool, a tree without Kbuild) is never unbuilt, nor is a listing whose option
or object name is computed (``$(BITS)``).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from kernel_lsp.files import read_build_file
from kernel_lsp.model.kbuild import makefile_includes
from kernel_lsp.model.kconfig import _TOKEN, Kconfig, read_kconfig

# Kbuild's own lists (what they name is built when the directory is); any other name before
# ``-y``/``-objs``/``-$(CONFIG_X)`` is a composite object.
_BUILT_LISTS = frozenset({"obj", "lib", "core", "drivers", "libs", "net", "virt", "head", "extra",
                          "init", "subdir"})
_NOT_OBJECTS = frozenset({"targets", "clean-files", "always", "hostprogs", "userprogs",
                          "subdir-ccflags", "ccflags", "asflags", "ldflags", "cflags"})
# (Make reads ``${CONFIG_X}`` as ``$(CONFIG_X)``: ``thunderbolt-${CONFIG_ACPI} += acpi.o``; a
# name may start with a digit: ``9pnet_xen-objs := trans_xen.o``, ``8250-y``)
_LISTING = re.compile(r"^\s*(\w[\w.-]*?)-(y|m|objs|\$\(CONFIG_(\w+)\)|\$\{CONFIG_(\w+)\}"
                      r"|\$\([^)]*\)|\$\{[^}]*\})\s*[:+?]?=(.*)$")
_SKIPPED_TOPS = frozenset({".git", ".kernel-lsp", "tools", "scripts", "samples", "Documentation",
                           "usr"})
_WORD = re.compile(r"[A-Za-z_]\w*")
_PART_LIST = re.compile(r"\$\((\w[\w.-]*?)-(?:y|objs)\)")


def possible_symbols(kc: Kconfig) -> set[str]:
    """The bool/tristate options that some configuration of ``kc``'s architecture may turn on."""
    selectors: dict[str, list[tuple[str, str]]] = {}
    implied: dict[str, list[tuple[str, str]]] = {}
    for sym in kc.symbols.values():
        for target, cond in sym.selects:
            selectors.setdefault(target, []).append((sym.name, cond))
        for target, cond in sym.implies:
            implied.setdefault(target, []).append((sym.name, cond))
    choice_live = [c["depends"] for c in kc.choices]
    possible: set[str] = set()
    may = _May(possible, always_on(kc))
    changed = True
    while changed:
        changed = False
        for name, sym in kc.symbols.items():
            if name in possible:
                continue
            selected = any(s in possible and may(c) for s, c in selectors.get(name, ()))
            deps = any(all(may(d) for d in alt) for alt in (sym.depends, *sym.alternatives))
            if sym.choice is not None:
                deps = deps and all(may(d) for d in choice_live[sym.choice])
            on = selected or deps and (sym.prompt or sym.choice is not None or any(
                may(v) and may(c) for v, c in sym.defaults) or any(
                s in possible and may(c) for s, c in implied.get(name, ())))
            if on:
                possible.add(name)
                changed = True
    return possible


def always_on(kc: Kconfig) -> set[str]:
    """The options every configuration of ``kc``'s architecture has on: ``def_bool y`` with no
    prompt (a user cannot turn them off) and only such options as dependencies (``ARM64``,
    ``RISCV``; x86's ``X86_64`` depends on the prompt ``64BIT``)."""
    always: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, sym in kc.symbols.items():
            if name in always or sym.prompt or sym.choice is not None or sym.alternatives or (
                    sym.type != "bool") or not sym.defaults or sym.defaults[0] not in (("y", "y"), ("y", "")):
                continue
            if all(_WORD.fullmatch(d.strip()) and d.strip() in always for d in sym.depends):
                always.add(name)
                changed = True
    return always


class _May:
    """Whether a Kconfig expression may be true when the options in ``possible`` may be on
    and any option may be off but those ``always`` on (``!ARM64`` never holds on arm64)."""

    def __init__(self, possible: set[str], always: set[str] = frozenset()):
        self.possible, self.always = possible, always

    def __call__(self, expr: str) -> bool:
        toks = [t for t in _TOKEN.findall(expr) if t]
        try:
            pos, (can_true, _can_false) = self._or(toks, 0)
        except (IndexError, ValueError):
            return True  # unreadable: it may hold
        return can_true if pos == len(toks) else True

    def _or(self, toks, i):
        i, (t, f) = self._and(toks, i)
        while i < len(toks) and toks[i] == "||":
            i, (t2, f2) = self._and(toks, i + 1)
            t, f = t or t2, f and f2
        return i, (t, f)

    def _and(self, toks, i):
        i, (t, f) = self._not(toks, i)
        while i < len(toks) and toks[i] == "&&":
            i, (t2, f2) = self._not(toks, i + 1)
            t, f = t and t2, f or f2
        return i, (t, f)

    def _not(self, toks, i):
        if toks[i] == "!":
            i, (t, f) = self._not(toks, i + 1)
            return i, (f, t)
        if toks[i] == "(":
            i, got = self._or(toks, i + 1)
            return i + 1, got
        tok, i = toks[i], i + 1
        if i < len(toks) and toks[i] in ("=", "!=", "<", ">", "<=", ">="):
            return i + 2, (True, True)  # a comparison: either way
        if tok in ("y", "m"):
            return i, (True, False)
        if tok == "n":
            return i, (False, True)
        if tok.startswith("$(") or tok.startswith('"') or not _WORD.fullmatch(tok):
            return i, (True, True)  # a toolchain probe, a string, a number
        return i, (tok in self.possible, tok not in self.always)


@dataclass(frozen=True, slots=True)
class _Listing:
    makefile_dir: str  # the directory of the Kbuild file that lists the object
    owner: str  # ``obj``, ``lib``...: built with the directory; else a composite object's name
    option: str | None  # the option it is listed under; None: always, or computed
    # options whose later ``:=`` of the same list empties it (``proc-$(CONFIG_MMU) :=
    # task_mmu.o`` after ``proc-y := nommu.o task_nommu.o``); None: a later one that always does
    reset_by: tuple[str | None, ...] = ()
    # options the ``ifdef``/``ifeq`` blocks around the line need on, and need off (``_Blocks``)
    guards: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


def unbuilt_sources(root: Path, arch: str, paths: Iterable[str]) -> set[str]:
    """The ``.c`` files among ``paths`` that no configuration of ``arch`` builds (empty for a
    tree without a root ``Kconfig``)."""
    return kbuild_status(root, arch, paths)[0]


def kbuild_status(root: Path, arch: str, paths: Iterable[str], on: Iterable[str] | None = None
                  ) -> tuple[set[str], set[str]]:
    """(the ``.c`` files among ``paths`` that no configuration of ``arch`` builds (and the
    headers of ``arch/<arch>/um/``), those that
    some configuration builds but not the one whose options ``on`` are on). Both are empty for
    a tree without a root ``Kconfig``; the second is when ``on`` is None."""
    status = kbuild_judgement(root, arch, paths, on)
    return status.unbuilt, status.off


class KbuildStatus(NamedTuple):
    unbuilt: set[str]  # no configuration of the architecture builds them
    off: set[str]  # some configuration does, not the one asked about
    # listed by a Kbuild file and built by some configuration: kernel code of the architecture,
    # whatever else includes them (``lib/maple_tree.c``, which a test program under
    # ``tools/`` includes too)
    units: set[str]


def kbuild_judgement(root: Path, arch: str, paths: Iterable[str],
                     on: Iterable[str] | None = None) -> KbuildStatus:
    """``kbuild_status``, and the ``.c`` files among ``paths`` that Kbuild lists and some
    configuration builds (all three empty for a tree without a root ``Kconfig``)."""
    if not (root / "Kconfig").is_file():
        return KbuildStatus(set(), set(), set())
    paths = list(paths)
    possible = possible_symbols(read_kconfig(root, arch))
    kbuild = _kbuild_files(root, arch)  # (read once for both kinds of listings)
    listings, computed_dirs = read_listings(root, arch, kbuild=kbuild)
    sources = [p for p in paths if p.endswith(".c") and posixpath.dirname(p) not in computed_dirs]
    # an object no Kbuild list names but a Make variable does (``DML +=
    # dcn20/dcn20_fpu.o`` in ``ifdef CONFIG_DRM_AMD_DC_DCN``, built through ``amdgpu-y +=
    # $(AMD_DISPLAY_FILES)``): unbuilt when every such line needs an option that is never on
    named = read_listings(root, arch, variables=True, kbuild=kbuild)[0]
    judge = _Judge({**{t: rows for t, rows in named.items() if t.endswith(".o")}, **listings},
                   possible)
    # ``arch/x86/um/``: User-Mode Linux's code for an x86 host, which only ``arch/um``'s
    # Makefile enters (ARCH=um, SUBARCH=x86), never a build of the architecture itself; its
    # headers too (included through UML's include path, which no x86 file has)
    uml = f"arch/{arch}/um/"
    unbuilt = {p for p in sources if judge.unbuilt(p[:-2] + ".o")} | {
        p for p in paths if p.endswith((".c", ".h")) and p.startswith(uml)} | {
        p for p in paths if p.endswith(".c") and _other_architecture(p, arch, listings)}
    # a directory whose objects are computed is still judged as a whole: only lines that need an
    # option that is never on enter it (``drivers/net/ethernet/freescale/fs_enet/``, whose
    # ``fs_enet-objs := fs_enet-main.o $(fs_enet-m)``, entered under CONFIG_FS_ENET, which
    # needs powerpc's CPM1, CPM2 or PPC_MPC512x)
    unbuilt |= {p for p in paths if p.endswith(".c") and posixpath.dirname(p) in computed_dirs
                and judge.unbuilt(posixpath.dirname(p) + "/")}
    # (a listing is evidence in a directory whose other objects are computed too; one in a
    # directory only another architecture's Makefile enters, ``drivers/s390/``, is not)
    proof = _Judge(listings, possible, proven=True)
    units = {p for p in paths if p.endswith(".c") and p not in unbuilt and proof.may_build(
        p[:-2] + ".o")}
    # and in a directory whose objects are computed, one a Make variable holds (``lib/``'s
    # ``libfdt_files = fdt.o ...``, built by ``lib-$(CONFIG_LIBFDT) += $(libfdt_files)``):
    # ``lib/fdt.c`` is riscv's, although only other architectures' boot code includes it
    held = _Judge({**{t: rows for t, rows in named.items() if t.endswith(".o")}, **listings},
                  possible, proven=True)
    units |= {p for p in paths if p.endswith(".c") and p not in unbuilt and posixpath.dirname(
        p) in computed_dirs and named.get(p[:-2] + ".o") and held.may_build(p[:-2] + ".o")}
    if on is None:
        return KbuildStatus(unbuilt, set(), units)
    # (a file of a directory whose objects are computed is judged off on its own listings
    # when no assignment there empties them: a variable that also holds it would only cost the
    # benefit of the doubt, never a finding; ``obj-$(CONFIG_TEST_MAPLE_TREE) +=
    # test_maple_tree.o`` in ``lib/``, but not libstub's ``lib-y := $(patsubst ...)``)
    # (and an object only a Make variable holds is judged on the blocks around its lines:
    # amdkfd's ``ifneq ($(CONFIG_HSA_AMD_SVM),)`` / ``AMDKFD_FILES += $(AMDKFD_PATH)/kfd_svm.o``)
    here = _Judge({**{t: rows for t, rows in named.items() if t.endswith(".o")}, **listings},
                  set(on), exact=True)
    judged = sources + [p for p in paths if p.endswith(".c") and posixpath.dirname(p) in
                        computed_dirs and not any(r.reset_by for r in listings.get(
                            p[:-2] + ".o", ()))]
    return KbuildStatus(unbuilt, {p for p in judged if p not in unbuilt and here.unbuilt(
        p[:-2] + ".o")}, units)


def _other_architecture(path: str, arch: str, listings: dict) -> bool:
    """Whether ``path`` lies under another architecture's ``arch/<other>/`` and no Kbuild file
    of ``arch`` names it or a directory above it: Kbuild enters ``arch/$(SRCARCH)/`` alone, so
    such a file is built only where this architecture's Kbuild files name it (arm64's
    ``xen-arm-y += $(addprefix ../../arm/xen/, enlighten.o ...)``). Those Kbuild files are
    never read (``_kbuild_files``), so their objects are listed nowhere: riscv checked
    ``arch/x86/xen/`` and ``arch/arm/xen/`` as its own code, and with them ``include/xen/``,
    which only they include."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "arch" or parts[1] == arch:
        return False
    if listings.get(path[:-2] + ".o"):
        return False
    return not any(listings.get("/".join(parts[:i]) + "/") for i in range(2, len(parts)))


class _KbuildFiles(NamedTuple):
    """The tree's Kbuild files, read once: (directory, file name) of each, their texts by
    root-relative path, and where each included one is included (``_include_sites``)."""

    files: list[tuple[str, str]]
    texts: dict[str, str | None]
    sites: dict[str, list[tuple[str, tuple]]]


def _kbuild_files(root: Path, arch: str) -> _KbuildFiles:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel = "" if rel == "." else rel
        if not rel:
            dirnames[:] = [d for d in dirnames if d not in _SKIPPED_TOPS]
        elif rel == "arch":
            dirnames[:] = [d for d in dirnames if d == arch]
        files += [(rel, name) for name in ("Makefile", "Kbuild") if name in filenames]
    texts = {posixpath.join(rel, name): _text(root / rel / name) for rel, name in files}
    return _KbuildFiles(files, texts, _include_sites(texts))


def read_listings(root: Path, arch: str, variables: bool = False,
                  kbuild: _KbuildFiles | None = None
                  ) -> tuple[dict[str, list[_Listing]], set[str]]:
    """Every object and directory the tree's Kbuild files list (by root-relative path; a
    directory ends with ``/``), and the directories whose objects a listing names with a
    variable (``amdgpu-y += $(AMD_DISPLAY_FILES)``): those are not judged. With
    ``variables``, instead, the objects that other Make variables hold (``DML +=
    dcn20/dcn20_fpu.o``, relative to the Makefile's directory), as lists built with their
    directory, under the ``ifdef``/``ifeq`` blocks around them."""
    listings: dict[str, list[_Listing]] = {}
    computed: set[str] = set()
    files, texts, sites = kbuild or _kbuild_files(root, arch)
    for rel, name in files:
        path = posixpath.join(rel, name)
        # a Makefile another one includes (``include $(src)/gvt/Makefile`` in i915's): its
        # variables hold objects only there, under the includer's guards; its listings name
        # objects of the includer's directory (``kvmgt-y += gvt/kvmgt.o``), read also as its own
        reads = [(src, guards) for src, guards in sites.get(path, ()) if variables or src != rel]
        if not variables or not reads:
            reads.append((rel, ((), ())))
        for src, guards in dict.fromkeys(reads):
            _read_kbuild(texts[path], rel if variables else src, listings,
                         computed if src == rel else set(), variables, _Blocks(guards),
                         lambda p: (root / p).is_file())
    return listings, computed


def _text(path: Path) -> str | None:
    try:
        return read_build_file(path)
    except OSError:
        return None


def _include_sites(texts: dict[str, str | None]) -> dict[str, list[tuple[str, tuple]]]:
    """For each Makefile another one includes (``include $(FULL_AMD_PATH)/amdkfd/Makefile``
    inside ``ifneq ($(CONFIG_HSA_AMD),)`` in ``amdgpu/Makefile``), each place that includes it,
    through its includers' includers: (the directory Kbuild reads it for, its ``$(src)``; the
    (on, off) options of the ``ifdef`` blocks around the ``include`` lines)."""
    includes: dict[tuple[str, str], list[tuple[str, tuple]]] = {}

    def included(path: str, src: str) -> list[tuple[str, tuple]]:
        got = includes.get((path, src))
        if got is None:
            text = texts.get(path) or ""
            lines = dict(makefile_includes(text, src))
            blocks, got = _Blocks(), []
            for i, line in enumerate(re.sub(r"\\\n", " ", text).splitlines()):
                blocks.directive(line.split("#", 1)[0])
                if i in lines and lines[i] in texts and lines[i] != path:
                    got.append((lines[i], blocks.guards()))
            includes[(path, src)] = got
        return got

    tops = [p for p in texts]
    inner = {target for p in tops for target, _g in included(p, posixpath.dirname(p))}
    out: dict[str, list[tuple[str, tuple]]] = {}

    def walk(path: str, src: str, on: tuple, off: tuple, depth: int) -> None:
        for target, (more_on, more_off) in included(path, src):
            site = (src, (on + more_on, off + more_off))
            if depth < 8 and site not in out.setdefault(target, []):
                out[target].append(site)
                walk(target, src, *site[1], depth + 1)

    for path in tops:
        if path not in inner:
            walk(path, posixpath.dirname(path), (), (), 0)
    return out


def _read_kbuild(text: str | None, rel: str, listings: dict, computed: set,
                 variables: bool = False, blocks: _Blocks | None = None, is_file=None) -> None:
    """Record the listings of one Kbuild file's ``text`` (``blocks``: the guards it is read
    under; ``is_file``: whether a root-relative file exists)."""
    if text is None:
        return
    # (a list, ``y`` or ``objs``) -> the targets of those listings here, under no option
    unconditional: dict[tuple[str, str], list[str]] = {}
    blocks = blocks or _Blocks()
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = _ADDPREFIX.sub(_prefixed, line)
        if blocks.directive(line.split("#", 1)[0]):
            continue
        if variables:
            _read_variable(line.split("#", 1)[0], rel, listings, blocks, is_file)
            continue
        m = _LISTING.match(line.split("#", 1)[0])
        if m is None or m.group(1) in _NOT_OBJECTS or m.group(1).startswith(("ccflags",
                                                                               "CFLAGS")):
            continue
        owner, suffix, paren, brace, words = m.groups()
        option = paren or brace
        guards, unless = blocks.guards()
        if guards and option is None and _ASSIGNS.match(line, m.end(2)):
            option = guards[-1]  # ``name-y :=`` in ``ifdef CONFIG_X``: when X is on
        if suffix.startswith(("$(", "${")) and option is None:
            option = None  # a computed option (``$(BITS)``): taken as possible
        elif _ASSIGNS.match(line, m.end(2)) and (suffix in ("y", "objs") or option is not None):
            # ``name-y :=`` empties what ``name-y`` held, always; ``name-$(CONFIG_X) :=`` when X
            # is on (built in)
            variable = (owner, "objs" if suffix == "objs" else "y")
            _reset(listings, rel, owner, unconditional.pop(variable, []), option)
        for word, more_guards, more_unless in _word_sizes(words.split()):
            part_list = _PART_LIST.fullmatch(word)
            if part_list is not None:  # ``obj-y += $(memory-hotplug-y)``: a composite's parts
                target = posixpath.normpath(posixpath.join(rel, part_list.group(1) + ".o"))
                listings.setdefault(target, []).append(_Listing(rel, owner, option,
                                                                guards=guards, unless=unless))
                continue
            if "$" in word:
                if owner not in _BUILT_LISTS or word.endswith((".o", "/", ")")):
                    computed.add(rel)
                continue
            if not word.endswith((".o", "/")):
                continue
            target = posixpath.normpath(posixpath.join(rel, word)) + ("/" if word.endswith("/")
                                                                      else "")
            listings.setdefault(target, []).append(_Listing(
                rel, owner, option, guards=guards + more_guards, unless=unless + more_unless))
            if option is None and not guards and not unless and not more_guards + more_unless \
                    and suffix in ("y", "objs"):
                unconditional.setdefault((owner, suffix), []).append(target)


# ``$(addprefix scrub/, agheader_repair.o repair.o)`` with a literal prefix and words (fs/xfs)
_ADDPREFIX = re.compile(r"\$\(addprefix\s+([^\s,()$#]+)\s*,([^()$#]*)\)")


def _prefixed(m: re.Match) -> str:
    return " ".join(m.group(1) + word for word in m.group(2).split())


# ``NAME += words``: a Make variable of the Makefile's own (not a Kbuild list: no ``-y``,
# ``-objs``, ``-$(CONFIG_X)``; not ``CFLAGS_x.o``)
_VARIABLE_LIST = re.compile(r"^\s*(?:override\s+)?([A-Za-z_]\w*)\s*(?:\+|::?|\?)?=(.*)$")


def _read_variable(line: str, rel: str, listings: dict, blocks: _Blocks, is_file=None) -> None:
    """Record the objects (``name.o``, or ``$(PREFIX)/name.o`` when ``_anchored``) the
    variable assignment ``line`` holds."""
    m = _VARIABLE_LIST.match(line)
    if m is None or m.group(1).startswith(("ccflags", "CFLAGS", "asflags", "ldflags")):
        return
    guards, unless = blocks.guards()
    for word in m.group(2).split():
        target = None
        if word.endswith(".o") and "$" not in word:
            target = posixpath.normpath(posixpath.join(rel, word))
        elif word.endswith(".o") and is_file is not None:
            target = _anchored(word, rel, is_file)
        if target is not None:
            listings.setdefault(target, []).append(_Listing(rel, "obj", None, guards=guards,
                                                            unless=unless))


_PREFIXED = re.compile(r"^\$[({][A-Za-z_]\w*[)}]/([\w/.+-]+)\.o$")


def _anchored(word: str, rel: str, is_file) -> str | None:
    """The object ``$(PREFIX)/rest.o`` names, ``PREFIX`` a path this Makefile does not set (the
    Makefile that includes it does: ``AMDKFD_PATH := ../amdkfd`` before ``AMDKFD_FILES +=
    $(AMDKFD_PATH)/kfd_svm.o``): ``rest`` below the nearest of the Makefile's directory and its
    ancestors where ``rest.c`` exists, or None."""
    m = _PREFIXED.match(word)
    rest = posixpath.normpath(m.group(1)) if m is not None else ".."
    if rest.startswith(".."):
        return None
    d = rel
    while True:
        candidate = posixpath.join(d, rest) if d else rest
        if is_file(candidate + ".c"):
            return candidate + ".o"
        if not d:
            return None
        d = posixpath.dirname(d)


def _word_sizes(words: list[str]):
    """``(word, guards, unless)`` of each listed word; ``$(BITS)``, which the architecture's
    Makefile sets to 32 or 64 with ``CONFIG_64BIT`` (``obj-$(CONFIG_KASAN) +=
    kasan_init_$(BITS).o``), gives both objects, each under its side of that option."""
    for word in words:
        if "$(BITS)" in word and "$" not in word.replace("$(BITS)", ""):
            yield word.replace("$(BITS)", "64"), ("64BIT",), ()
            yield word.replace("$(BITS)", "32"), (), ("64BIT",)
        else:
            yield word, (), ()


_ASSIGNS = re.compile(r"\s*:?=")
_CONDITIONAL = re.compile(r"^\s*(else\s+)?(ifdef|ifndef|ifeq|ifneq)\b(.*)$")
_IFDEF_OPTION = re.compile(r"\s*CONFIG_(\w+)\s*$")
# ``($(CONFIG_X),y)``, ``($(CONFIG_X), m)``, ``"$(CONFIG_X)" ""``, ``(y,$(CONFIG_X))``
_COMPARED = re.compile(r"""\s*(?:\(\s*(.*?)\s*,\s*(.*?)\s*\)|(["'])(.*?)\3\s+(["'])(.*?)\5)\s*$""")
_OPTION_VALUE = re.compile(r"\$[({]CONFIG_(\w+)[)}]")


class _Blocks:
    """The ``ifdef``/``ifeq`` blocks of a Kbuild file around the current line: the options
    that must be on for its branch to be read (``ifdef CONFIG_X``, ``ifeq ($(CONFIG_X),y)``,
    ``ifneq ($(CONFIG_X),)``) and those that must be off (``ifndef CONFIG_X``, ``ifneq
    ($(CONFIG_X),y)``, the ``else`` branches of the former). Any other test decides
    nothing here. Whether some configuration builds a file reads only the first kind (an
    option off may always be); whether the derived one does reads both."""

    def __init__(self, outer: tuple[tuple, tuple] = ((), ())) -> None:
        # per block: (on, off) of the then branch, (on, off) of the else branch, in else
        self.stack: list[list] = []
        self.outer = outer  # what the place that includes the file needs (``_include_sites``)

    def directive(self, line: str) -> bool:
        """Follow ``line`` if it is a conditional directive (True), else False."""
        word = line.strip()
        if word == "endif" or word.startswith("endif "):
            if self.stack:
                self.stack.pop()
            return True
        if word == "else":
            if self.stack:
                self.stack[-1][2] = True
            return True
        m = _CONDITIONAL.match(line)
        if m is None:
            return False
        then, other = _tested(m.group(2), m.group(3))
        if m.group(1) and self.stack:  # ``else ifdef CONFIG_Y``: one ``endif`` closes both
            self.stack[-1] = [then, (None, None), False]
        else:
            self.stack.append([then, other, False])
        return True

    def guards(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the options that must be on, those that must be off) for the current line."""
        branches = [other if in_else else then for then, other, in_else in self.stack]
        return (self.outer[0] + tuple(b[0] for b in branches if b[0] is not None),
                self.outer[1] + tuple(b[1] for b in branches if b[1] is not None))


_NEITHER = (None, None)


def _tested(kind: str, rest: str) -> tuple[tuple, tuple]:
    """((on, off) of the then branch, (on, off) of the else branch): the option each needs on
    or off, or None."""
    option, needs_on = None, True
    if kind in ("ifdef", "ifndef"):
        m = _IFDEF_OPTION.match(rest)
        option, needs_on = (m.group(1) if m else None), kind == "ifdef"
    else:
        m = _COMPARED.match(rest)
        if m is None:
            return _NEITHER, _NEITHER
        a, b = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(4), m.group(6))
        va, vb = _OPTION_VALUE.fullmatch(a.strip()), _OPTION_VALUE.fullmatch(b.strip())
        if (va is None) == (vb is None):
            return _NEITHER, _NEITHER
        option, value = (va.group(1), b.strip()) if va is not None else (vb.group(1), a.strip())
        if value not in ("y", "m", "", "n"):
            return _NEITHER, _NEITHER
        needs_on = (value in ("y", "m")) == (kind == "ifeq")
    if option is None:
        return _NEITHER, _NEITHER
    return ((option, None), (None, option)) if needs_on else ((None, option), (option, None))


def _reset(listings: dict, rel: str, owner: str, targets: list[str], option: str | None) -> None:
    """Mark the ``-y`` listings of ``owner`` in the Kbuild file of ``rel`` as emptied by a later
    ``:=`` under ``option``."""
    for target in targets:
        listings[target] = [
            replace(r, reset_by=r.reset_by + (option,)) if (
                r.makefile_dir == rel and r.owner == owner and r.option is None) else r
            for r in listings[target]]


class _Judge:
    """Whether an object can be built: by some configuration of the options ``possible`` may
    turn on, or (``exact``) by the one whose options ``possible`` are on. A directory no
    Kbuild file lists is taken as built, unless ``proven`` (then only a chain of listings up to
    a top-level directory's Kbuild file is evidence)."""

    def __init__(self, listings: dict[str, list[_Listing]], possible: set[str],
                 exact: bool = False, proven: bool = False):
        self.listings, self.possible, self.exact, self.proven = listings, possible, exact, proven
        self.memo: dict[str, bool] = {}

    def unbuilt(self, obj: str) -> bool:
        """Whether the object (``dir/name.o``) is listed and no listing can build it."""
        return bool(self.listings.get(obj)) and not self.may_build(obj)

    def may_build(self, target: str) -> bool:
        """Whether some listing of ``target`` (an object or a directory) can build it."""
        got = self.memo.get(target)
        if got is not None:
            return got
        self.memo[target] = True  # a cycle: not evidence either way
        rows = self.listings.get(target)
        if not rows:
            # nothing lists it: unknown, so built (unless proof is asked: then only the
            # architecture's directory and those its Makefile enters, ``libs-y += arch/x86/lib/``)
            got = not self.proven or target.startswith("arch/") and target.count("/") in (
                2, 3) and target.endswith("/")
        else:
            got = any(self._listing_may_build(r) for r in rows)
        self.memo[target] = got
        return got

    def _listing_may_build(self, r: _Listing) -> bool:
        if r.option is not None and r.option not in self.possible:
            return False
        if any(o is None or (self.exact and o in self.possible) for o in r.reset_by):
            return False
        if any(g not in self.possible for g in r.guards) or (
                self.exact and any(u in self.possible for u in r.unless)):
            return False
        if r.owner in _BUILT_LISTS:
            return "/" not in r.makefile_dir or self.may_build(r.makefile_dir + "/")
        return self.may_build(posixpath.join(r.makefile_dir, r.owner + ".o"))


__all__ = ["KbuildStatus", "kbuild_judgement", "kbuild_status", "possible_symbols", "read_listings",
           "unbuilt_sources"]
