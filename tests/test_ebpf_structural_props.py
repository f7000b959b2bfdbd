"""Properties: the raw decoder and the structural validator never raise, on any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.findings import BPF_CODES
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.raw import decode_raw, join_lddw
from kernel_lsp.ebpf.verify import VerifyOptions, verify

_OPTIONS = st.builds(VerifyOptions, prog_type=st.sampled_from(["socket_filter", "xdp", "kprobe"]),
                     bounded_loops=st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=160), _OPTIONS)
def test_random_bytes_give_findings_not_exceptions(data, options):
    program, front = decode_raw(data)
    found = front + verify(program, options)
    assert all(f.code in BPF_CODES for f in found)
    assert all(f.insn is None or 0 <= f.insn <= len(program.insns) for f in found)
    if len(data) % 8 or not data:
        assert found  # truncated or empty input is never silently accepted


_ROW = st.sampled_from(isa.TABLE)
_SLOT = st.tuples(_ROW, st.integers(0, 11), st.integers(0, 11), st.integers(-4, 4),
                  st.integers(-3, 70))


def _insn(row, dst, src, off, imm) -> Insn:
    if row.key:
        value = min(row.key[1])
        src, off, imm = (value if row.key[0] == "src" else src,
                         value if row.key[0] == "off" else off,
                         value if row.key[0] == "imm" else imm)
    return Insn(row.opcode, dst, src, off, imm)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SLOT, max_size=24), _OPTIONS)
def test_programs_from_the_isa_table_never_crash(slots, options):
    insns = join_lddw([_insn(*s) for s in slots] + [Insn(0x95, 0, 0, 0, 0)])
    found = verify(Program("p", insns), options)
    assert [f for f in found if f.code not in BPF_CODES] == []
