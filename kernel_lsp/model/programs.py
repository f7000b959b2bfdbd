"""Programs inside a kernel tree that are built and linked apart from the kernel.

Host tools (``hostprogs`` in Kbuild files: ``arch/x86/tools/relocs``, ``lib/gen_crc32table``),
the x86 real-mode setup code (``arch/x86/boot/``), the decompressor
(``arch/x86/boot/compressed/``), the real-mode trampoline, the vDSO and the purgatory: what a
``.c`` file of one of them defines is not reachable from the kernel, and the other way round.
Headers belong to every program (each includes what it needs).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from kernel_lsp.files import read_build_file

KERNEL = "kernel"
# Directories (below the root) whose .c files form a program of their own, most specific first.
_SEPARATE = (
    ("arch/x86/boot/compressed/", "x86 decompressor"),
    ("arch/x86/boot/", "x86 setup"),
    ("arch/x86/realmode/rm/", "x86 real-mode trampoline"),
    ("arch/x86/entry/vdso/", "x86 vDSO"),
    ("arch/x86/purgatory/", "x86 purgatory"),
)
_HOSTPROGS = re.compile(r"^\s*(?:hostprogs|hostprogs-y|hostprogs-always-y|userprogs)\s*[:+]?=(.*)$",
                        re.M)
_OBJS = re.compile(r"^\s*([\w/-]+)-objs\s*[:+]?=(.*)$", re.M)


def host_sources(root: Path, directories: Iterable[str]) -> set[str]:
    """The ``.c`` files of host programs that the Makefiles of ``directories`` build."""
    out: set[str] = set()
    for d in sorted(set(directories)):
        for name in ("Makefile", "Kbuild"):
            try:
                text = read_build_file(root / d / name)
            except OSError:
                continue
            if "hostprogs" not in text and "userprogs" not in text:
                continue
            text = re.sub(r"\\\n", " ", text)
            objs = {m.group(1): m.group(2).split() for m in _OBJS.finditer(text)}
            for m in _HOSTPROGS.finditer(text):
                for prog in m.group(1).split():
                    if "$" in prog:
                        continue
                    parts = objs.get(prog, [prog + ".o"])
                    out.update(posixpath.join(d, p[:-2] + ".c") for p in parts
                               if p.endswith(".o"))
    return out


class Programs:
    """Which program each ``.c`` file belongs to (the kernel unless said otherwise)."""

    def __init__(self, paths: dict[int, str], host: set[str] = frozenset()):
        self.of: dict[int, str] = {}
        for fid, path in paths.items():
            program = program_of(path, host)
            if program != KERNEL:
                self.of[fid] = program

    def __call__(self, fid: int) -> str:
        return self.of.get(fid, KERNEL)

    def set(self, fid: int, path: str, host: set[str] = frozenset()) -> None:
        program = program_of(path, host)
        if program == KERNEL:
            self.of.pop(fid, None)
        else:
            self.of[fid] = program


def program_of(path: str, host: set[str] = frozenset()) -> str:
    """The program the file ``path`` belongs to (headers: the kernel, as for every program)."""
    if not path.endswith(".c"):
        return KERNEL
    if path in host:
        return f"host program {posixpath.dirname(path)}"
    for prefix, program in _SEPARATE:
        if path.startswith(prefix):
            return program
    return KERNEL
