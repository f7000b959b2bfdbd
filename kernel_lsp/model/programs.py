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
_SEPARATE_PREFIXES = tuple(prefix for prefix, _program in _SEPARATE)  # (one test for most files)
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
    if path.startswith(_SEPARATE_PREFIXES):
        for prefix, program in _SEPARATE:
            if path.startswith(prefix):
                return program
    return KERNEL


# Text only the assembler reads: an assembler directive starting a line (``.macro``, ``.endm``,
# ``.irp``, ``.rept``), or ``#error`` right after ``#ifndef __ASSEMBLY__`` / ``#if
# !defined(__ASSEMBLY__)`` (``arch/arm64/include/asm/assembler.h``: "Only include this from
# assembly code").
_ASSEMBLER_LINE = re.compile(rb"^[ \t]*\.(?:macro|endm|irp|irpc|rept|endr)\b", re.M)
_ASSEMBLY_ONLY = re.compile(rb"^[ \t]*#[ \t]*(?:ifndef[ \t]+__ASSEMBLY__|if[ \t]+!\s*defined"
                            rb"[ \t]*\(?[ \t]*__ASSEMBLY__[ \t]*\)?)[^\n]*\n[ \t]*#[ \t]*error\b",
                            re.M)
_ASSEMBLER_WORDS = (b".macro", b".endm", b".irp", b".rept", b".endr")
_BLOCK_COMMENT = re.compile(rb"/\*.*?\*/", re.S)


def assembly_headers(root: Path, paths: Iterable[str], env) -> set[str]:
    """The headers among ``paths`` that only assembly files can include: in what the
    configuration ``env`` keeps of their text, a line that starts with an assembler directive
    outside comments and macro bodies (``.macro uaccess_ttbr0_disable, tmp1`` in
    ``arch/arm64/include/asm/asm-uaccess.h``; ``arch/x86/entry/calling.h``), or an ``#error``
    the C compiler reaches under ``#ifndef __ASSEMBLY__``. Read as C, their assembly is noise."""
    from kernel_lsp.parse.conditions import active_text

    out: set[str] = set()
    for path in paths:
        if not path.endswith(".h"):
            continue
        try:
            src = (root / path).read_bytes()
        except OSError:
            continue
        if not (any(w in src for w in _ASSEMBLER_WORDS) and _ASSEMBLER_LINE.search(src)) and not (
                b"error" in src and b"__ASSEMBLY__" in src and _ASSEMBLY_ONLY.search(src)):
            continue
        text = active_text(src, env)[0]
        if _ASSEMBLY_ONLY.search(text) is not None or _assembler_line(text):
            out.add(path)
    return out


def _assembler_line(text: bytes) -> bool:
    """Whether ``text`` has an assembler directive line that is no comment's and no macro
    body's (a ``#define``'s continuation line)."""
    text = _BLOCK_COMMENT.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), text)
    for m in _ASSEMBLER_LINE.finditer(text):
        before = text[:m.start()].rstrip(b"\n")
        if not before.endswith(b"\\"):
            return True
    return False
