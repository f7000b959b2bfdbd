"""Per-directory include paths that Kbuild Makefiles add with ``-I`` (``ccflags-y += -I $(src)/libxfs``).

Kbuild compiles each directory with the flags of its own Makefile (``ccflags-y``, ``ccflags-$(CONFIG_X)``,
``CFLAGS_file.o``, ``EXTRA_CFLAGS``) and of its ancestors' ``subdir-ccflags-y``. Only ``-I`` options
are read; ``$(srctree)``/``$(objtree)`` are the root and ``$(src)``/``$(obj)`` the directory, and
simple variables the Makefile sets (``NOUVEAU_PATH ?= $(srctree)``) are substituted. A Makefile
that builds objects of its subdirectories itself (``nouveau-y += nvkm/core/engine.o``, or
``include $(src)/nvkm/Kbuild``) compiles them with its own ``ccflags-y`` too. A Makefile that
includes another directory's Makefile (``amdgpu/Makefile`` includes ``../display/Makefile``
and builds its objects) reads it with its own variables, and that directory's files are compiled
with the flags of both.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from kernel_lsp.files import read_build_file

_ASSIGN = re.compile(r"^\s*(subdir-ccflags|ccflags|EXTRA_CFLAGS|CFLAGS_[\w.-]+|asflags)"
                     r"(?:-[\w$()]+)?\s*[:+?]?=(.*)$")
_INCLUDE = re.compile(r"-I\s*(\S+)")
_VARIABLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(\S*)\s*$")
_MAKE_INCLUDE = re.compile(r"^-?include\s+(\S+)\s*$", re.M)
_SUBDIR_OBJECTS = re.compile(r"^\s*(?:[\w$()-]+-(?:y|objs|\$\([\w]+\))\s*[:+]?=.*\b[\w-]+/[\w/.-]+\.o\b"
                             r"|include\s+\$\((?:src|srctree)\)/[\w/.-]+/Kbuild)", re.M)


def _expand(value: str, directory: str, variables: dict[str, str] | None = None) -> str | None:
    for _ in range(4):  # variables defined through other variables
        if "$(" not in value:
            break
        for name, repl in (variables or {}).items():
            value = value.replace(f"$({name})", repl)
    for var, repl in (("$(srctree)/", ""), ("$(objtree)/", ""), ("$(src)", directory),
                      ("$(obj)", directory), ("$(srctree)", "."), ("$(objtree)", ".")):
        value = value.replace(var, repl)
    if "$" in value or value.startswith("/"):
        return None
    norm = posixpath.normpath(value)
    return None if norm.startswith("..") else ("" if norm == "." else norm)


def _variables(joined: str) -> dict[str, str]:
    """Simple one-word variables a Makefile sets (the first value wins)."""
    variables: dict[str, str] = {}
    for line in joined.splitlines():
        var = _VARIABLE.match(line.split("#", 1)[0])
        if var is not None and var.group(2) and not var.group(1).startswith(
                ("ccflags", "subdir", "obj", "EXTRA", "CFLAGS", "asflags")):
            variables.setdefault(var.group(1), var.group(2))
    return variables


_LIST = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([+:?]?)=(.*)$")
_REFERENCE = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")


def _lists(joined: str) -> dict[str, str]:
    """Variables a Makefile sets to a list (``INCLUDES += -I$(atomisp)/include/``), the
    ``+=`` lines appended, so ``ccflags-y += $(INCLUDES)`` can be read."""
    lists: dict[str, str] = {}
    for line in joined.splitlines():
        m = _LIST.match(line.split("#", 1)[0])
        if m is None or _ASSIGN.match(line):
            continue
        name, op, value = m.groups()
        if op == "+":
            lists[name] = f"{lists.get(name, '')} {value}"
        elif op != "?" or name not in lists:
            lists[name] = value
    return lists


def _substitute(value: str, lists: dict[str, str]) -> str:
    """``value`` with the list variables it names written out (two levels deep)."""
    for _ in range(2):
        value = _REFERENCE.sub(lambda m: lists.get(m.group(1), m.group(0)), value)
    return value


def included_makefiles(text: str, directory: str) -> list[str]:
    """Root-relative paths of the Makefiles that ``text`` includes by a path it can resolve
    (``include $(FULL_AMD_DISPLAY_PATH)/Makefile``; not the ``$(src)/.../Kbuild`` of its own
    subdirectories, which ``_SUBDIR_OBJECTS`` covers)."""
    out = []
    for _line, path in makefile_includes(text, directory):
        where = posixpath.dirname(path)
        if where != directory and not where.startswith(directory + "/") and path not in out:
            out.append(path)
    return out


def makefile_includes(text: str, directory: str) -> list[tuple[int, str]]:
    """(line, root-relative path) of each Makefile or Kbuild file ``text`` includes by a path
    it can resolve; lines counted in ``text`` with its continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    variables = _variables(joined)
    out = []
    for m in _MAKE_INCLUDE.finditer(joined):
        path = _expand(m.group(1), directory, variables)
        if path and posixpath.basename(path) in ("Makefile", "Kbuild"):
            out.append((joined.count("\n", 0, m.start()), path))
    return out


def _anchored(raw: str, directory: str, is_dir) -> str | None:
    """``$(PREFIX)/rest`` whose ``PREFIX`` no Makefile read here sets: the directory ``rest``
    names below the nearest ancestor of ``directory`` that holds it. A path variable set by
    a Makefile that includes this one through a computed list points to an ancestor
    (``-I$(FULL_AMD_DISPLAY_PATH)/dc/dml2/dml21/src/inc`` in ``display/dc/dml2/Makefile``,
    which ``amdgpu/Makefile`` reads through ``include $(AMD_DC)``)."""
    m = _PREFIXED.match(raw)
    if m is None or is_dir is None:
        return None
    rest = posixpath.normpath(m.group(1))
    if rest.startswith("..") or rest == ".":
        return None
    d = directory
    while True:
        candidate = posixpath.join(d, rest) if d else rest
        if is_dir(candidate):
            return candidate
        if not d:
            return None
        d = posixpath.dirname(d)


_PREFIXED = re.compile(r"^\$[({][A-Za-z_]\w*[)}]/([\w/.+-]+?)/?$")


def read_makefile(text: str, directory: str, inherited: str = "", is_dir=None
                  ) -> tuple[list[str], list[str]]:
    """(-I dirs for this directory, -I dirs for it and every subdirectory) of one Makefile;
    ``inherited``: the text of the Makefile that includes this one (its variables count);
    ``is_dir(path)``: whether a root-relative directory exists (``_anchored``)."""
    local: list[str] = []
    subdir: list[str] = []
    joined = re.sub(r"\\\n", " ", text)
    both = re.sub(r"\\\n", " ", inherited) + "\n" + joined
    variables, lists = _variables(both), _lists(both)
    builds_subdirs = bool(_SUBDIR_OBJECTS.search(joined))
    for line in joined.splitlines():
        line = line.split("#", 1)[0]
        m = _ASSIGN.match(line)
        if m is None:
            continue
        target = subdir if m.group(1) == "subdir-ccflags" or builds_subdirs else local
        for raw in _INCLUDE.findall(_substitute(m.group(2), lists)):
            d = _expand(raw, directory, variables)
            if d is None:
                d = _anchored(raw, directory, is_dir)
            if d is not None and d not in target:
                target.append(d)
    return local, subdir


def kbuild_include_dirs(root: Path, directories: Iterable[str]) -> tuple[dict, dict]:
    """Read the Makefile/Kbuild of each directory (and its ancestors) that holds indexed files."""
    local: dict[str, list[str]] = {}
    subdir: dict[str, list[str]] = {}
    wanted: set[str] = set()
    for d in directories:
        while d and d not in wanted:
            wanted.add(d)
            d = posixpath.dirname(d)
    def add(table: dict[str, list[str]], d: str, dirs: list[str]) -> None:
        if dirs:
            have = table.setdefault(d, [])
            have.extend(x for x in dirs if x not in have)

    def is_dir(path: str) -> bool:
        return (root / path).is_dir()

    for d in sorted(wanted):
        for name in ("Makefile", "Kbuild"):
            text = _read(root / d / name)
            if text is None:
                continue
            lo, sub = read_makefile(text, d, is_dir=is_dir)
            add(local, d, lo)
            add(subdir, d, sub)
            for path in included_makefiles(text, d):
                other = _read(root / path)
                if other is None:
                    continue
                # the included Makefile's flags are the includer's; its directory's files are
                # built by the includer, with the includer's flags
                ilo, isub = read_makefile(other, d, inherited=text, is_dir=is_dir)
                add(subdir, d, ilo + isub)
                add(subdir, posixpath.dirname(path), lo + sub + ilo + isub)
    return local, subdir


def _read(path: Path) -> str | None:
    try:
        return read_build_file(path)
    except OSError:
        return None


_DEFINE = re.compile(r"(?<![\w-])-D\s*([A-Za-z_]\w*)")
_NOT_KERNEL_TOPS = {".git", ".kernel-lsp", "tools", "scripts", "samples", "Documentation", "usr"}


# a header, or a C file or table a unit includes, that a Makefile names
# (``generated/a5xx.xml.h``, ``$(obj)/inat-tables.c:``), or the target of a pattern rule
# (``$(obj)/generated/%.xml.h: $(src)/registers/%.xml``): ``%`` plus the suffix
_HEADER_WORD = re.compile(r"(?:(?<=[\s/=:])|^)(%?[\w.+-]*\.(?:h|c|inc))(?=[\s:)]|$)", re.M)


def _other_arch(rel: str, arch: str) -> bool:
    """Whether the root-relative directory ``rel`` belongs to an architecture not ``arch``."""
    parts = rel.replace(os.sep, "/").split("/")
    return len(parts) > 1 and parts[0] == "arch" and parts[1] != arch


def kbuild_defines(root: Path, arch: str | None = None) -> tuple[frozenset[str], list[str]]:
    """Names some Kbuild file of the tree defines on the compiler's command line
    (``ccflags-y := -DPCI``), and the root-relative paths of the Makefiles/Kbuild files read.

    With ``arch``, the Kbuild files of the other architectures (``arch/arm64/...``) define
    nothing: their flags reach no object this architecture builds (arm64's vdso32 Makefile
    passes ``-DENABLE_COMPAT_VDSO=1``, which ``include/vdso/datapage.h`` tests)."""
    names, files, _headers = kbuild_facts(root, arch)
    return names, files


def kbuild_facts(root: Path, arch: str | None = None
                 ) -> tuple[frozenset[str], list[str], frozenset[str]]:
    """``kbuild_defines``, and the names of the headers (and ``.c``/``.inc`` files) the Kbuild
    files name (by file name, a pattern rule's target as ``%`` and its suffix): those a build
    may write, where an ``#include`` that resolves to nothing may find them."""
    names: set[str] = set()
    headers: set[str] = set()
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in _NOT_KERNEL_TOPS]
        dirnames.sort()
        for name in sorted(filenames):
            if name in ("Makefile", "Kbuild") or name.startswith("Makefile."):
                path = os.path.join(dirpath, name)
                text = _read(Path(path))
                if text is not None:
                    files.append(posixpath.normpath(os.path.join(rel, name)).replace(os.sep, "/"))
                    if arch is None or not _other_arch(rel, arch):
                        names.update(_DEFINE.findall(text))
                    headers.update(w for w in _HEADER_WORD.findall(text) if not w.startswith(
                        ".") and w not in ("%.h", "%.c", "%.inc"))  # ``%.h``: any header
    return frozenset(names), files, frozenset(headers)



# ``CFLAGS_vgettimeofday.o += -fPIC -include $(c-gettimeofday-y)``: a file the compiler reads
# before one object's source, as if its first line included it
_FORCED = re.compile(r"^\s*CFLAGS_([\w-]+)\.o\s*[:+?]?=(.*)$", re.M)
_FORCED_WORD = re.compile(r"(?<!\S)-include\s+(\S+)")
# ``NAME := value``, ``NAME-y += value``, ``NAME-$(CONFIG_X) := value`` (read as ``NAME-y``: a
# may-analysis, the option possibly on)
_MAKE_VARIABLE = re.compile(r"^\s*([A-Za-z_][\w-]*?)(-\$\(CONFIG_\w+\))?\s*([:+?]?)=(.*)$",
                            re.M)
_MAKE_REFERENCE = re.compile(r"\$[({]([A-Za-z_][\w-]*)[)}]")
_FUNCTION = re.compile(r"\$\((abspath|lastword|dir|addprefix|notdir) ([^$()]*(?:,[^$()]*)?)\)")


def forced_includes(root: Path, arch: str) -> dict[str, list[str]]:
    """``.c`` file -> the root-relative files its object's flags force-include (``-include``,
    read before its first line): ``CFLAGS_vgettimeofday.o += -include $(c-gettimeofday-y)``
    in the vDSO Makefiles of arm64, riscv and others, whose variable ``lib/vdso/Makefile``
    (which they include) sets to ``$(addprefix $(GENERIC_VDSO_DIR), gettimeofday.c)``: the
    vDSO's ``vgettimeofday.c`` calls the static inline functions of
    ``lib/vdso/gettimeofday.c``. Other architectures' Makefiles are not read."""
    out: dict[str, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel = "" if rel == "." else rel
        if not rel:
            dirnames[:] = [d for d in dirnames if d not in _NOT_KERNEL_TOPS]
        if _other_arch(rel, arch):
            dirnames[:] = []
            continue
        for name in ("Makefile", "Kbuild"):
            text = _read(root / rel / name) if name in filenames else None
            if text is None or "-include" not in text:
                continue
            joined = re.sub(r"\\\n", " ", text)
            variables = _make_variables(root, joined, posixpath.join(rel, name))
            for m in _FORCED.finditer(joined):
                source = posixpath.join(rel, m.group(1) + ".c")
                for word in _FORCED_WORD.findall(m.group(2).split("#", 1)[0]):
                    path = _forced_path(root, word, rel, variables)
                    if path and (root / source).is_file() and path not in out.get(source, ()):
                        out.setdefault(source, []).append(path)
    return out


def _make_variables(root: Path, joined: str, makefile: str) -> dict[str, str]:
    """The variables a Makefile and the Makefiles it includes set, each written out as the
    Makefile that sets it reads it (``$(lastword $(MAKEFILE_LIST))``: that Makefile)."""
    variables: dict[str, str] = {}
    directory = posixpath.dirname(makefile)
    texts = [(makefile, joined)]
    for path in included_makefiles(joined, directory):
        other = _read(root / path)
        if other is not None:
            texts.append((path, re.sub(r"\\\n", " ", other)))
    for path, text in texts:
        for m in _MAKE_VARIABLE.finditer(text):
            name, option, op, value = m.groups()
            name += "-y" if option else ""
            value = _make_value(value.split("#", 1)[0].strip(), path, variables)
            variables[name] = f"{variables.get(name, '')} {value}".strip() if op == "+" else value
    return variables


def _make_value(value: str, makefile: str, variables: dict[str, str]) -> str:
    """``value`` with the variables set above and Make's path functions written out."""
    for _ in range(6):
        before = value
        value = _MAKE_REFERENCE.sub(lambda r: variables.get(r.group(1), r.group(0)), value)
        value = value.replace("$(MAKEFILE_LIST)", makefile)
        value = _FUNCTION.sub(lambda f: _make_function(f.group(1), f.group(2)), value)
        if value == before:
            break
    return value


def _make_function(name: str, args: str) -> str:
    words = args.split(",", 1)[-1].split()
    if name == "addprefix":
        prefix = args.split(",", 1)[0].strip()
        return " ".join(prefix + w for w in words)
    if name == "lastword":
        return words[-1] if words else ""
    if name == "dir":
        return " ".join(posixpath.dirname(w) + "/" for w in words)
    if name == "notdir":
        return " ".join(posixpath.basename(w) for w in words)
    return " ".join(words)  # abspath: the paths are root-relative here


def _forced_path(root: Path, word: str, directory: str, variables: dict[str, str]
                 ) -> str | None:
    """The root-relative file an ``-include`` word names, when it is one of the tree."""
    value = _make_value(word, posixpath.join(directory, "Makefile"), variables)
    if not value or len(value.split()) != 1:
        return None
    path = _expand(value, directory)
    if path is None or not (root / path).is_file():
        return None
    return path
