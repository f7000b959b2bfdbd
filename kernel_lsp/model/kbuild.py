"""Per-directory include paths that Kbuild Makefiles add with ``-I`` (``ccflags-y += -I $(src)/libxfs``).

Kbuild compiles each directory with the flags of its own Makefile (``ccflags-y``, ``ccflags-$(CONFIG_X)``,
``CFLAGS_file.o``, ``EXTRA_CFLAGS``) and of its ancestors' ``subdir-ccflags-y``. Only ``-I`` options
are read; ``$(srctree)``/``$(objtree)`` are the root and ``$(src)``/``$(obj)`` the directory, and
simple variables the Makefile sets (``NOUVEAU_PATH ?= $(srctree)``) are substituted. A Makefile
that builds objects of its subdirectories itself (``nouveau-y += nvkm/core/engine.o``, or
``include $(src)/nvkm/Kbuild``) compiles them with its own ``ccflags-y`` too.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

_ASSIGN = re.compile(r"^\s*(subdir-ccflags|ccflags|EXTRA_CFLAGS|CFLAGS_[\w.-]+|asflags)"
                     r"(?:-[\w$()]+)?\s*[:+?]?=(.*)$")
_INCLUDE = re.compile(r"-I\s*(\S+)")
_VARIABLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(\S*)\s*$")
_SUBDIR_OBJECTS = re.compile(r"^\s*(?:[\w$()-]+-(?:y|objs|\$\([\w]+\))\s*[:+]?=.*\b[\w-]+/[\w/.-]+\.o\b"
                             r"|include\s+\$\((?:src|srctree)\)/[\w/.-]+/Kbuild)", re.M)


def _expand(value: str, directory: str, variables: dict[str, str] | None = None) -> str | None:
    for name, repl in (variables or {}).items():
        value = value.replace(f"$({name})", repl)
    for var, repl in (("$(srctree)/", ""), ("$(objtree)/", ""), ("$(src)", directory),
                      ("$(obj)", directory), ("$(srctree)", "."), ("$(objtree)", ".")):
        value = value.replace(var, repl)
    if "$" in value or value.startswith("/"):
        return None
    norm = posixpath.normpath(value)
    return None if norm.startswith("..") else ("" if norm == "." else norm)


def read_makefile(text: str, directory: str) -> tuple[list[str], list[str]]:
    """(-I dirs for this directory, -I dirs for it and every subdirectory) of one Makefile."""
    local: list[str] = []
    subdir: list[str] = []
    joined = re.sub(r"\\\n", " ", text)
    variables: dict[str, str] = {}
    builds_subdirs = bool(_SUBDIR_OBJECTS.search(joined))
    for line in joined.splitlines():
        line = line.split("#", 1)[0]
        var = _VARIABLE.match(line)
        if var is not None and var.group(2).startswith("$(") and not var.group(1).startswith(
                ("ccflags", "subdir", "obj", "EXTRA")):
            variables.setdefault(var.group(1), var.group(2))
        m = _ASSIGN.match(line)
        if m is None:
            continue
        target = subdir if m.group(1) == "subdir-ccflags" or builds_subdirs else local
        for raw in _INCLUDE.findall(m.group(2)):
            d = _expand(raw, directory, variables)
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
    for d in wanted:
        for name in ("Makefile", "Kbuild"):
            try:
                text = (root / d / name).read_text(errors="replace")
            except OSError:
                continue
            lo, sub = read_makefile(text, d)
            if lo:
                local.setdefault(d, []).extend(x for x in lo if x not in local.get(d, []))
            if sub:
                subdir.setdefault(d, []).extend(x for x in sub if x not in subdir.get(d, []))
    return local, subdir
