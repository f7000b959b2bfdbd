"""Parse eBPF assembly text (the LLVM / kernel syntax of ``llvm-objdump -d`` and bpftool).

``parse_asm(text, path) -> Program``: one slot per instruction (two for ``lddw``), ``locs`` set
per slot. Tolerated noise: llvm-objdump's ``N:`` index and hex byte columns, bpftool's
``N: (b7)`` prefix, ``;``/``//`` comments, ``#`` comment lines, section headers, ``<sym>:`` and
``label:`` lines (labels are jump and local-call targets), ``<LBB0_2>`` trailers and
``R_BPF_*`` relocation lines (recorded in ``Program.relocations`` for the preceding lddw).
Bad lines become :class:`SourceError` entries in ``Program.meta["errors"]``, never exceptions.

The syntax accepted is exactly what :mod:`kernel_lsp.ebpf.disasm` prints, plus the variants
above; see that module for the forms this project adds where LLVM has none (``map[fd:N]``,
``call kfunc#N``, ``.insn op, dst, src, off, imm`` for encodings with no mnemonic).
"""

from __future__ import annotations

import re

from kernel_lsp.ebpf.insn import Insn, Program, SourceLoc
from kernel_lsp.ebpf.load import asmforms
from kernel_lsp.ebpf.load.raw import join_lddw
from kernel_lsp.ebpf.load.srcerror import SourceError

_INDEX = re.compile(r"^\s*[0-9]+:\s*")
_BPFTOOL_OP = re.compile(r"^\([0-9a-fA-F]{2}\)\s*")
_HEXBYTES = re.compile(r"^(?:[0-9a-f]{2}[ \t]+)+")
_LABEL = re.compile(r"^(?:[0-9a-fA-F]+\s+)?<?([A-Za-z_.$][\w.$]*)>?:$")
_RELOC = re.compile(r"^(?:[0-9a-fA-F]+:\s*)?R_BPF_\w+\s+(\S+)")
_SKIP = re.compile(r"^(?:Disassembly of section|.*file format|Relocation|RELOCATION)")
_SECTION = re.compile(r"^Disassembly of section ([^:]+):")


def _strip_comment(line: str) -> str:
    for marker in (";", "//"):
        pos = line.find(marker)
        if pos >= 0:
            line = line[:pos]
    return line.strip()


def _clean(line: str) -> tuple[bytes | None, str]:
    """The byte column (if any) and the instruction text of one line, without index/comments."""
    line = _strip_comment(line)
    if line.startswith("#"):
        return None, ""
    line = _INDEX.sub("", line, count=1)
    line = _BPFTOOL_OP.sub("", line, count=1)
    raw = None
    hexm = _HEXBYTES.match(line + " ")
    if hexm:
        raw = bytes.fromhex(hexm.group(0))
        line = (line + " ")[hexm.end():]
    return raw, re.sub(r"\s+", " ", line).strip()


def _from_bytes(raw: bytes) -> list[Insn] | None:
    """llvm-objdump's byte column is the ground truth when it holds whole slots."""
    if len(raw) not in (8, 16):
        return None
    return [Insn.decode_slot(raw, i) for i in range(0, len(raw), 8)]


class _Pending:
    """A parsed line waiting for label resolution."""

    __slots__ = ("insns", "label", "loc", "line_no")

    def __init__(self, insns, label, loc, line_no):
        self.insns, self.label, self.loc, self.line_no = insns, label, loc, line_no


def parse_asm(text: str, path: str, name: str = "prog") -> Program:
    """Parse assembly text into a program (see the module docstring)."""
    pending: list[_Pending] = []
    labels: dict[str, int] = {}
    errors: list[SourceError] = []
    relocations: dict[int, tuple[str, str]] = {}
    section, slot = None, 0
    for line_no, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        sec = _SECTION.match(stripped)
        if sec and section is None:
            section = sec.group(1).strip()
        reloc = _RELOC.match(stripped)
        if reloc and pending:
            relocations[slot - len(pending[-1].insns)] = (reloc.group(1), "reloc")
            continue
        if not stripped or _SKIP.match(stripped):
            continue
        hexbytes, body = _clean(raw)
        if not body and not hexbytes:
            continue
        label = _LABEL.match(body)
        if label:
            labels[label.group(1)] = slot
            continue
        col = len(raw) - len(raw.lstrip())
        loc = SourceLoc(path, line_no, col, line_no, len(raw.rstrip()))
        try:
            slots = _from_bytes(hexbytes) if hexbytes else None
            insns, target = (slots, None) if slots else asmforms.parse_line(body)
        except asmforms.AsmError as exc:
            errors.append(SourceError(loc, str(exc)))
            continue
        pending.append(_Pending(insns, target, loc, line_no))
        slot += len(insns)
    return _finish(pending, labels, errors, relocations, path, name, section)


def _finish(pending, labels, errors, relocations, path, name, section) -> Program:
    insns: list[Insn] = []
    locs: list[SourceLoc | None] = []
    for item in pending:
        here = len(insns)
        out = item.insns
        if item.label is not None:
            out = _resolve(item, labels, here, errors)
            if out is None:
                out = []
        insns.extend(out)
        locs.extend([item.loc] * len(out))
    program = Program(name=name, insns=join_lddw(insns), section=section, locs=locs,
                      relocations=relocations)
    program.meta["errors"] = errors
    return program


def _resolve(item: _Pending, labels: dict[str, int], here: int, errors) -> list[Insn] | None:
    field, label = item.label
    if label not in labels:
        errors.append(SourceError(item.loc, f"unknown label '{label}'"))
        return None
    rel = labels[label] - here - 1
    insn = item.insns[0]
    limit = (-(1 << 31), (1 << 31) - 1) if field == "imm" else (-(1 << 15), (1 << 15) - 1)
    if not limit[0] <= rel <= limit[1]:
        errors.append(SourceError(item.loc, f"label '{label}' is out of {field} range"))
        return None
    if field == "imm":
        return [Insn(insn.opcode, insn.dst, insn.src, insn.off, rel)]
    return [Insn(insn.opcode, insn.dst, insn.src, rel, insn.imm)]


def asm_errors(program: Program) -> list[SourceError]:
    """The parse problems recorded on a program by :func:`parse_asm`."""
    return list(program.meta.get("errors", ()))
