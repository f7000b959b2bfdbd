"""Load eBPF programs from a file in any of the four input forms, never raising.

The form is chosen by content first, then extension: ELF magic → ELF object (``elf.py``);
``.s``/``.asm`` → assembly text (``asmtext.parse_asm``); ``.c``/``.h`` → ``struct bpf_insn``
arrays (``carray.parse_c_arrays``); anything else → raw 8-byte slots (``raw.py``).

``load_file(path) -> Loaded``: ``programs`` each paired with front-end findings (``E001`` for a
truncated raw slot, ``E003`` for each source error a text front end reported, ``E004``-``E008``
from the ELF loader), or ``error`` (a message) when the file is unreadable or holds no program —
the CLI's exit status 2. ``verifiable(findings)`` says whether a program with these front-end
findings is worth verifying: not when it calls or loads an unresolved extern (``E005``) or an
unreadable map (``E008``), which
no loader would hand to the kernel and whose call targets are meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.ebpf.load.asmtext import parse_asm
from kernel_lsp.ebpf.load.carray import parse_c_arrays
from kernel_lsp.ebpf.load.elf import load_elf
from kernel_lsp.ebpf.load.raw import decode_raw
from kernel_lsp.ebpf.load.srcerror import LoadError

__all__ = ["LoadError", "Loaded", "detect_form", "load_file", "source_findings", "verifiable"]

ELF_MAGIC = b"\x7fELF"
ASM_SUFFIXES = (".s", ".asm")
C_SUFFIXES = (".c", ".h")
UNVERIFIABLE = frozenset({"E005", "E008"})  # an undefined extern, an unreadable map


@dataclass(slots=True)
class Loaded:
    """What one input file yielded."""

    path: str
    form: str  # "elf" | "raw" | "asm" | "c"
    programs: list[tuple[Program, list[BpfFinding]]] = field(default_factory=list)
    error: str | None = None


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


def source_findings(program: Program) -> list[BpfFinding]:
    """Front-end source errors (``Program.meta['errors']``) as ``E003`` findings."""
    found = []
    for err in program.meta.get("errors", ()):
        loc = getattr(err, "loc", None)
        insn = _slot_at_line(program, loc.line) if loc is not None else None
        found.append(finding_at("E003", insn, str(getattr(err, "message", err)), loc=loc))
    return found


def verifiable(findings: list[BpfFinding]) -> bool:
    """False when a front-end finding makes verification meaningless (see the docstring)."""
    return not any(f.code in UNVERIFIABLE for f in findings)


def _slot_at_line(program: Program, line: int) -> int | None:
    """The first slot whose source is at or after ``line`` (for anchoring a source error)."""
    for i, loc in enumerate(program.locs):
        if loc is not None and loc.line >= line:
            return i
    return None


# The largest input read (an ELF object with its BTF and DWARF is a few MiB), and the most
# instructions a program may have (Linux's BPF_COMPLEXITY_LIMIT_INSNS; bpf(2) says E2BIG past
# it): /dev/zero named as a program was read until the kernel killed the process, and 64 MiB
# of raw slots would be 8 million instructions decoded, gigabytes.
MAX_INPUT_BYTES = 64 << 20
MAX_PROGRAM_INSNS = 1_000_000


class TooLarge(OSError):
    """An input holds more than ``MAX_INPUT_BYTES``."""


def read_input(path: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of an input named on the command line, of any kind (a FIFO from a shell's
    ``<(...)`` is read as it comes), at most ``limit`` of them.

    :raises OSError: it cannot be read (``TooLarge``: it holds more)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"larger than {limit / (1 << 20):g} MiB")
    return data


def _decode(path: str, data: bytes, form: str) -> list[tuple[Program, list[BpfFinding]]]:
    name = Path(path).stem
    if form == "raw" and len(data) > 8 * MAX_PROGRAM_INSNS:
        raise LoadError(f"{path}: {len(data) // 8:,} instruction slots, more than a program "
                        f"may have ({MAX_PROGRAM_INSNS:,}, as Linux loads)")
    if form == "raw":
        program, found = decode_raw(data, name=name)
        return [(program, found)]
    if form == "elf":
        return load_elf(data, path)
    text = data.decode("utf-8", errors="replace")
    if form == "asm":
        programs = [parse_asm(text, path)]
    else:
        programs = list(parse_c_arrays(data, path))
    return [(p, source_findings(p)) for p in programs]


def load_file(path: str) -> Loaded:
    """Read and decode ``path`` (see the module docstring)."""
    try:
        data = read_input(path, MAX_INPUT_BYTES)
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
