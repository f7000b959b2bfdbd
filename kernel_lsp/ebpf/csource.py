"""eBPF programs written as C ``struct bpf_insn`` arrays, validated where they are written.

The findings façade calls ``findings_in_c`` for every checked C file (buffer or stored) that
mentions ``struct bpf_insn``; each finding sits on the ``BPF_*`` element of the offending
instruction.
"""

from __future__ import annotations

import logging

from kernel_lsp.ebpf import helpers, isa
from kernel_lsp.ebpf.findings import to_finding
from kernel_lsp.ebpf.load import source_findings
from kernel_lsp.ebpf.load.carray import parse_c_arrays
from kernel_lsp.ebpf.verify import VerifyOptions, verify
from kernel_lsp.findings import Finding

log = logging.getLogger(__name__)
MARKER = b"struct bpf_insn"
# The editor re-checks on every change: walk at most this many instructions per program (the
# kernel's limit is 1,000,000; a longer walk is reported as not proven, E299).
EDITOR_BUDGET = 100_000


def findings_in_c(source: bytes, path: str) -> list[Finding]:
    """Validator findings for the instruction arrays of one C buffer (``path`` root-relative)."""
    if MARKER not in source:
        return []
    try:
        programs = parse_c_arrays(source, path)
    except Exception:  # noqa: BLE001 - a front-end bug must not break the C checks
        log.debug("bpf_insn arrays of %s not read", path, exc_info=True)
        return []
    out: list[Finding] = []
    for program in programs:
        if any(i.opcode == isa.JMP | isa.TAIL_CALL_INTERNAL for i in program.insns):
            continue  # run by the interpreter or a JIT without the verifier (lib/test_bpf.c)
        prog_type = (program.prog_type if program.prog_type in helpers.PROG_TYPES
                     else helpers.DEFAULT_PROG_TYPE)
        try:
            options = VerifyOptions(prog_type=prog_type, max_processed=EDITOR_BUDGET)
            found = source_findings(program) + verify(program, options)
        except Exception:  # noqa: BLE001
            log.debug("verifying %s in %s failed", program.name, path, exc_info=True)
            continue
        out += [to_finding(f, program, path) for f in found]
    return out
