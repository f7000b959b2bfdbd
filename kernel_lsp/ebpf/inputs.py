"""Load eBPF programs from a file in any of the four input forms, never raising.

The form is chosen by content first, then extension: ELF magic → ELF object (``elf.py``);
``.s``/``.asm`` → assembly text (``asmtext.parse_asm``); ``.c``/``.h`` → ``struct bpf_insn``
arrays (``carray.parse_c_arrays``); anything else → raw 8-byte slots (``decode.py``).
The text front ends belong to another module owner and are imported lazily: when one is
missing, loading that form is a clean ``LoadError``.

``load_file(path) -> Loaded``: ``programs`` each paired with front-end findings (``E001`` for a
truncated raw slot, ``E003`` for each source error a text front end reported), or ``error`` (a
message) when the file is unreadable or holds no program — the CLI's exit status 2.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.ebpf.decode import decode_raw
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Program

ELF_MAGIC = b"\x7fELF"
ASM_SUFFIXES = (".s", ".asm")
C_SUFFIXES = (".c", ".h")


@dataclass(slots=True)
class Loaded:
    """What one input file yielded."""

    path: str
    form: str  # "elf" | "raw" | "asm" | "c"
    programs: list[tuple[Program, list[BpfFinding]]] = field(default_factory=list)
    error: str | None = None


class LoadError(Exception):
    """The input cannot be turned into programs (message for the user)."""


def detect_form(path: str, data: bytes) -> str:
    """The input form of ``data`` read from ``path``."""
    if data.startswith(ELF_MAGIC):
        return "elf"
    suffix = Path(path).suffix.lower()
    if suffix in ASM_SUFFIXES:
        return "asm"
    if suffix in C_SUFFIXES:
        return "c"
    return "raw"


def _front_end(module: str, func: str):
    try:
        return getattr(importlib.import_module(f"kernel_lsp.ebpf.{module}"), func)
    except (ImportError, AttributeError) as exc:
        raise LoadError(f"this input form needs kernel_lsp.ebpf.{module}.{func}, "
                        f"which is not available ({exc})") from exc


def _source_findings(program: Program) -> list[BpfFinding]:
    """Front-end source errors (``Program.meta['errors']``) as ``E003`` findings."""
    found = []
    for err in program.meta.get("errors", ()):
        loc = getattr(err, "loc", None)
        insn = _slot_at_line(program, loc.line) if loc is not None else None
        found.append(finding_at("E003", insn, str(getattr(err, "message", err)), loc=loc))
    return found


def _slot_at_line(program: Program, line: int) -> int | None:
    """The first slot whose source is at or after ``line`` (for anchoring a source error)."""
    for i, loc in enumerate(program.locs):
        if loc is not None and loc.line >= line:
            return i
    return None


def _decode(path: str, data: bytes, form: str) -> list[tuple[Program, list[BpfFinding]]]:
    name = Path(path).stem
    if form == "raw":
        program, found = decode_raw(data, name=name)
        return [(program, found)]
    if form == "elf":
        from kernel_lsp.ebpf.elf import load_elf

        return load_elf(data, path)
    text = data.decode("utf-8", errors="replace")
    if form == "asm":
        programs = [_front_end("asmtext", "parse_asm")(text, path)]
    else:
        programs = list(_front_end("carray", "parse_c_arrays")(data, path))
    return [(p, _source_findings(p)) for p in programs]


def load_file(path: str) -> Loaded:
    """Read and decode ``path`` (see the module docstring)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Loaded(path, "?", error=f"cannot read {path}: {exc.strerror or exc}")
    form = detect_form(path, data)
    try:
        programs = _decode(path, data, form)
    except LoadError as exc:
        return Loaded(path, form, error=str(exc))
    except Exception as exc:  # a front end's bug must not become a traceback
        return Loaded(path, form, error=f"cannot decode {path} as {form}: "
                                        f"{type(exc).__name__}: {exc}")
    if not programs:
        return Loaded(path, form, error=f"{path}: no eBPF program found ({form} input)")
    return Loaded(path, form, programs)
