"""Include resolution: map an ``#include`` line to an indexed file, by pure string and set work.

The resolver never touches the filesystem: it answers from the set of indexed root-relative
paths, so it is cheap enough for the ~500k include lines of a Linux tree (answers are memoised
per including directory, target and form).
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Iterable, Iterator

from kernel_lsp.config import Config
from kernel_lsp.model.kbuild import kbuild_include_dirs

# The ``meta`` key of the Kbuild ``-I`` directories a model's includes were resolved with
# (``IncludeResolver.kbuild_json``): an editor's resolver reads them instead of every Makefile.
KBUILD_DIRS_META = "kbuild_include_dirs"

# Headers that Kbuild generates (``make prepare`` / ``make headers``): absent from an unbuilt
# tree, so an include that does not resolve to them is not an error. Names as they are written
# after the include path (the directory they live in is an include path or below one).
GENERATED_HEADERS = frozenset(
    {
        # include/generated/ (top-level Makefile, Kbuild)
        "autoconf.h", "bounds.h", "timeconst.h", "asm-offsets.h", "utsrelease.h",
        "compile.h", "package.h", "autoksyms.h", "rq-offsets.h", "utsversion.h",
        # include/generated/uapi/linux/version.h is written as <linux/version.h>
        "linux/version.h",
        # arch/x86/include/generated/{asm,uapi/asm}/ (arch/x86/include/asm/Kbuild, syscalls)
        "asm/syscalls_32.h", "asm/syscalls_64.h", "asm/syscalls_x32.h",
        "asm/unistd_32.h", "asm/unistd_64.h", "asm/unistd_x32.h",
        "asm/unistd_32_ia32.h", "asm/unistd_64_x32.h", "asm/xen-hypercalls.h",
        "asm/cpufeaturemasks.h", "asm/orc_hash.h", "asm/asm-offsets.h", "asm/mach-types.h",
        # build-time tables generated next to their users
        "crc32table.h", "crc64table.h", "voffset.h", "zoffset.h", "capflags.c",
        "inat-tables.c", "oid_registry_data.c", "consolemap_deftbl.c", "defkeymap.c",
        "bpf_helper_defs.h", "vmlinux.h", "modules.builtin.modinfo",
    }
)
# Suffixes of headers that generators (asn1_compiler, bison/flex, mkregtable, ...) write
# beside the including file.
GENERATED_SUFFIXES = (".asn1.h", ".asn1.c", ".tab.h", ".tab.c", ".lex.c", "_reg_safe.h",
                      ".skel.h", ".lskel.h", ".subskel.h", ".mod.c", "-tbl.h")


def _normjoin(directory: str, target: str) -> str | None:
    """``directory/target`` normalised; None when it climbs out of the root or is absolute."""
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(directory, target)) if directory else (
        posixpath.normpath(target)
    )
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def is_generated(target: str) -> bool:
    """Whether an unresolved ``#include`` target names a header Kbuild generates at build time."""
    norm = posixpath.normpath(target.strip())
    parts = norm.split("/")
    if "generated" in parts[:-1] or "config" == parts[0]:  # <generated/..>, <config/..>
        return True
    if norm in GENERATED_HEADERS or parts[-1] in GENERATED_HEADERS:
        return True
    if len(parts) > 1 and parts[0] == "uapi" and "/".join(parts[1:]) in GENERATED_HEADERS:
        return True
    return norm.endswith(GENERATED_SUFFIXES)


# The compiler's own headers of vector intrinsics (GCC's ``emmintrin.h``, ``arm_neon.h``):
# what a vendored library's SIMD branch calls (``lib/zstd``'s ``_mm_set1_epi8``).
_INTRINSICS = re.compile(r"(?:^|/)(?:\w*intrin\.h|arm_neon\.h|arm_sve\.h|altivec\.h|cpuid\.h)$")


def is_compiler_header(target: str) -> bool:
    """Whether an ``#include`` target names one of the compiler's own intrinsics headers
    (``<arm_neon.h>``): Kbuild adds GCC's include directory with ``-isystem $(shell $(CC)
    -print-file-name=include)`` where they are used, so the build finds it."""
    return _INTRINSICS.search(posixpath.normpath(target.strip())) is not None


def unknown_content(target: str, angled: bool, generated: frozenset[str] = frozenset()) -> bool:
    """Whether an ``#include`` that resolves to no indexed file may declare anything: a header
    the build writes beside its user, which a Kbuild file names (``generated``: file names,
    and pattern rules' targets as ``%.xml.h``; ``#include "a5xx.xml.h"``, which the msm
    Makefile generates from XML), a ``generated/`` header other than Kbuild's well-known ones,
    or the compiler's intrinsics. What uses then finds defined nowhere may be defined there.
    A header that is just missing (a stale include, one under a condition the kernel never
    sets, one only another build's include path finds) is no such header; nor is a C library
    header, another architecture's ``<asm/x.h>`` or Kbuild's headers of configuration values
    and offsets (``GENERATED_HEADERS``)."""
    norm = posixpath.normpath(target.strip())
    if not norm.endswith(".h") or norm.startswith("../") or norm.startswith("/"):
        return False
    if _INTRINSICS.search(norm):
        return True
    name = norm.rsplit("/", 1)[-1]
    if norm in GENERATED_HEADERS or name in GENERATED_HEADERS:
        return False
    if angled:
        return norm.startswith("generated/")
    return kbuild_named(name, generated)


def kbuild_named(name: str, generated: frozenset[str]) -> bool:
    """Whether the Kbuild files name the file ``name`` (``generated``: file names, and pattern
    rules' targets as ``%.xml.h``): a file a build step writes (``crc32table.h``,
    ``inat-tables.c``)."""
    name = name.rsplit("/", 1)[-1]
    return name in generated or any(name.endswith(suffix) and len(name) > len(suffix)
                                    for suffix in _pattern_suffixes(generated))


@functools.lru_cache(maxsize=8)
def _pattern_suffixes(generated: frozenset[str]) -> tuple[str, ...]:
    """The suffixes of the pattern rules' targets in ``generated`` (``%.xml.h`` -> ``.xml.h``):
    found once per set, not once per include line."""
    return tuple(sorted(p[1:] for p in generated if p.startswith("%")))


def _kbuild_tables(stored: str) -> tuple[dict, dict] | None:
    """``IncludeResolver.kbuild_json``'s tables, or None when ``stored`` is not such a text."""
    try:
        local, subdir = json.loads(stored)
    except (ValueError, TypeError):
        return None
    tables = (local, subdir)
    if all(isinstance(t, dict) and all(isinstance(v, list) for v in t.values()) for t in tables):
        return tables
    return None


def ancestors_below_top(directory: str) -> Iterator[str]:
    """The ancestors of ``directory`` below its top-level directory, nearest first, where a
    quoted ``#include`` is also looked up: the Kbuild idiom ``ccflags-y += -I
    $(srctree)/$(src)`` makes a subsystem's quoted headers found from its subdirectories
    (``drivers/gpu/drm/i915/gt`` -> ``drivers/gpu/drm/i915``, ``drivers/gpu/drm``,
    ``drivers/gpu``)."""
    parent = posixpath.dirname(directory)
    while "/" in parent:
        yield parent
        parent = posixpath.dirname(parent)

class IncludeResolver:
    """Resolve ``#include`` targets to indexed files of one root (no filesystem access)."""

    def __init__(self, config: Config, known_files: Iterable[str],
                 kbuild: tuple[dict, dict] | None = None) -> None:
        self.known: set[str] = set(known_files)
        # Kbuild ``-I`` dirs: (directory -> its own, directory -> for it and its subdirectories)
        self._kb_local, self._kb_subdir = kbuild or ({}, {})
        self._kb_memo: dict[str, list[str]] = {}
        self.include_paths = self._dirs(config.include_paths)
        self.quote_paths = self._dirs(config.quote_paths)
        self.arch = config.arch
        # In a Linux-like tree, files under arch/<A>/ see arch A's include dirs, not ARCH's.
        self._arch_prefix = f"arch/{config.arch}/"
        self._per_arch = config.linux_like and any(
            p.startswith(self._arch_prefix) for p in self.include_paths
        )
        self._arch_paths: dict[str, list[str]] = {config.arch: self.include_paths}
        self._memo: dict[tuple[str, str, bool], str | None] = {}

    @classmethod
    def for_tree(cls, config: Config, known_files: Iterable[str],
                 stored: str | None = None) -> IncludeResolver:
        """A resolver over ``known_files`` with the Kbuild ``-I`` directories of their dirs:
        those ``stored`` holds (``kbuild_json`` of the resolver that resolved a model's
        includes), else read from the tree's Kbuild files (1-2 s on Linux)."""
        files = list(known_files)
        kbuild = _kbuild_tables(stored) if stored else None
        if kbuild is None:
            kbuild = kbuild_include_dirs(config.root, {posixpath.dirname(p) for p in files})
        return cls(config, files, kbuild)

    def kbuild_json(self) -> str:
        """The Kbuild ``-I`` directories it resolves with, as ``for_tree`` reads them back."""
        return json.dumps([self._kb_local, self._kb_subdir], sort_keys=True)

    @staticmethod
    def _dirs(paths: Iterable[str]) -> list[str]:
        """Root-relative include dirs as join prefixes ("" for the root), absolute ones dropped."""
        out: list[str] = []
        for p in paths:
            norm = posixpath.normpath(p)
            if norm.startswith("/") or norm == ".." or norm.startswith("../"):
                continue  # outside the root: nothing indexed lives there
            prefix = "" if norm == "." else norm
            if prefix not in out:
                out.append(prefix)
        return out

    def resolve(self, from_path: str, target: str, angled: bool) -> str | None:
        """The root-relative indexed file that ``#include`` of ``target`` in ``from_path`` names."""
        arch = self._arch_of(from_path)
        extra = self._kbuild_dirs(posixpath.dirname(from_path))
        directory = "\0" + arch if angled and not extra else posixpath.dirname(from_path)
        key = (directory, target, angled)
        try:
            return self._memo[key]
        except KeyError:
            pass
        paths = self._include_paths(arch) + extra
        found = self._lookup(from_path, target, angled, paths)
        if found is None:
            fallback = _asm_generic(target)
            if fallback is not None:
                found = self._search(paths, fallback)
        self._memo[key] = found
        return found

    def _kbuild_dirs(self, directory: str) -> list[str]:
        """Include dirs Kbuild adds for files of ``directory`` (its Makefile, ancestors' subdir)."""
        got = self._kb_memo.get(directory)
        if got is None:
            got = list(self._kb_local.get(directory, ()))
            d = directory
            while True:
                got += [x for x in self._kb_subdir.get(d, ()) if x not in got]
                if not d:
                    break
                d = posixpath.dirname(d)
            self._kb_memo[directory] = got
        return got

    def _arch_of(self, from_path: str) -> str:
        """The architecture whose include dirs apply to ``from_path``."""
        if self._per_arch and from_path.startswith("arch/"):
            end = from_path.find("/", 5)
            if end > 5:
                return from_path[5:end]
        return self.arch

    def _include_paths(self, arch: str) -> list[str]:
        paths = self._arch_paths.get(arch)
        if paths is None:
            size = len(self._arch_prefix)
            paths = [f"arch/{arch}/{p[size:]}" if p.startswith(self._arch_prefix) else p
                     for p in self.include_paths]
            self._arch_paths[arch] = paths
        return paths

    def _lookup(self, from_path: str, target: str, angled: bool, paths: list[str]) -> str | None:
        if angled:
            return self._search(paths, target)
        directory = posixpath.dirname(from_path)
        beside = _normjoin(directory, target)
        if beside is not None and beside in self.known:
            return beside
        found = self._search(self.quote_paths, target) or self._search(paths, target)
        for parent in ancestors_below_top(directory):
            if found is not None:
                break
            found = self._search([parent], target)
        return found

    def _search(self, dirs: list[str], target: str) -> str | None:
        known = self.known
        for prefix in dirs:
            candidate = _normjoin(prefix, target)
            if candidate is not None and candidate in known:
                return candidate
        return None

    def add(self, path: str) -> None:
        """Make a newly indexed file resolvable (clears the memo)."""
        if path not in self.known:
            self.known.add(path)
            self._memo.clear()

    def discard(self, path: str) -> None:
        """Forget a removed file (clears the memo)."""
        if path in self.known:
            self.known.discard(path)
            self._memo.clear()

    def is_generated(self, target: str) -> bool:
        return is_generated(target)

    def header_candidates(self, path: str, from_path: str | None = None) -> list[str]:
        """How header ``path`` can be written in an ``#include`` of ``from_path``, best first.

        Each candidate is the include argument with its delimiters (``<linux/ktime.h>``,
        ``"internal.h"``) and is guaranteed to resolve back to ``path`` from ``from_path``.
        Order: a quoted name beside the file, angled forms (shortest first; ``<asm/X>`` before
        ``<asm-generic/X>`` when the fallback reaches the same file), then quoted ``../`` forms.
        """
        src = from_path or ""
        beside: list[str] = []
        climbing: list[str] = []
        if from_path is not None:
            rel = posixpath.relpath(path, posixpath.dirname(from_path) or ".")
            if self.resolve(src, rel, False) == path:
                (climbing if rel.startswith("../") else beside).append(f'"{rel}"')
        angled: list[str] = []
        for prefix in self.include_paths:
            if prefix and not path.startswith(prefix + "/"):
                continue
            target = path[len(prefix) + 1 :] if prefix else path
            for name in (_asm_alias(target), target):  # asm/X first: how kernel code names it
                if name and self.resolve(src, name, True) == path and f"<{name}>" not in angled:
                    angled.append(f"<{name}>")
        angled.sort(key=lambda s: (s.count("/"), "asm-generic" in s, len(s)))
        return beside + angled + (climbing if not angled else [])


def _asm_generic(target: str) -> str | None:
    """The ``asm-generic`` header that Kbuild's generated wrapper for ``asm/X`` would include.

    Kbuild generates wrappers only for top-level ``asm/X.h`` names (``generic-y`` and
    ``mandatory-y`` in the Kbuild files), so ``asm/sub/X.h`` has no fallback. The wrapper of
    ``uapi/asm/X.h`` is the same line, ``#include <asm-generic/X.h>``
    (``scripts/Makefile.asm-generic``), found on the include path: ``include/asm-generic/``
    before ``include/uapi/asm-generic/``. riscv's ``asm/signal.h`` includes
    ``<uapi/asm/signal.h>``, whose wrapper reaches include/asm-generic/signal.h and its
    ``<asm/sigcontext.h>``; read as ``uapi/asm-generic/signal.h`` it reached no sigcontext.
    """
    norm = posixpath.normpath(target)
    for prefix in ("asm/", "uapi/asm/"):
        if norm.startswith(prefix) and "/" not in norm[len(prefix) :]:
            return "asm-generic/" + norm[len(prefix) :]
    return None


def _asm_alias(target: str) -> str | None:
    """``asm/X`` for ``asm-generic/X`` (and the uapi form): how kernel code names such headers."""
    for generic, prefix in (("asm-generic/", "asm/"), ("uapi/asm-generic/", "uapi/asm/")):
        if target.startswith(generic) and "/" not in target[len(generic) :]:
            return prefix + target[len(generic) :]
    return None
