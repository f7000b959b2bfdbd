"""Soundness of the dataflow verifier against the reference interpreter (hypothesis).

The interpreter isolates every access in memory regions (the femto-container model), so a region
fault is a memory-safety violation the verifier should have prevented. Two properties, on
programs built to stress pointers, packet bounds and NULL checks (``tests/ebpf_stress.py``):

* every program the verifier accepts runs on random inputs without a region fault;
* the verifier never accepts a program that the interpreter shows faulting.

Both run under the privileged and the unprivileged rules. The profile is the one
``test_ebpf_properties`` registers (``KERNEL_LSP_HYPOTHESIS=long`` for a long run).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import tests.test_ebpf_properties  # noqa: F401  (registers and loads the hypothesis profile)
from kernel_lsp.ebpf.disasm import disassemble
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.verify import VerifyOptions, accepted, verify
from kernel_lsp.ebpf.verify.dataflow import INTERNAL_ERROR
from tests.ebpf_stress import pointer_program

BUDGET = 5000


def _faults(program, data: bytes, seed: int = 1):
    """The region fault of one run (``seed`` drives bpf_get_prandom_u32), or None."""
    result = run(program, data, prog_type=program.prog_type, packet=True, budget=BUDGET,
                 seed=seed)
    return result.fault if result.fault is not None and result.fault.kind == "region" else None


def _verdict(program, unprivileged: bool) -> bool:
    found = verify(program, VerifyOptions(prog_type=program.prog_type, unprivileged=unprivileged))
    assert not any(INTERNAL_ERROR in f.message for f in found), found
    return accepted(found)


seeds = st.integers(1, 2**32 - 1)


@given(pointer_program, st.lists(st.tuples(st.binary(max_size=64), seeds), min_size=1,
                                 max_size=4), st.booleans())
def test_accepted_pointer_programs_never_region_fault(program, inputs, unprivileged):
    if not _verdict(program, unprivileged):
        return
    for data, seed in inputs:
        fault = _faults(program, data, seed)
        assert fault is None, f"{fault.message}\n{disassemble(program, numbered=True)}"


@given(pointer_program, st.binary(max_size=64), seeds, st.booleans())
def test_never_accepts_a_program_the_interpreter_shows_faulting(program, data, seed,
                                                               unprivileged):
    fault = _faults(program, data, seed)
    if fault is not None:
        assert not _verdict(program, unprivileged), (
            f"accepted, but {fault.message}\n{disassemble(program, numbered=True)}")
