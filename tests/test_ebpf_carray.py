"""The C-array decoder: BPF_* macros, constant expressions, test-case fields, locations."""

from __future__ import annotations

from pathlib import Path

from kernel_lsp.ebpf.isa import lookup
from kernel_lsp.ebpf.load.carray import parse_c_arrays
from kernel_lsp.ebpf.run.interp import run

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf" / "carray" / "sample.c"


def programs():
    return {p.name: p for p in parse_c_arrays(SAMPLE.read_bytes(), "sample.c")}


def test_finds_arrays_and_test_cases():
    assert list(programs()) == ["ret_len", "with_map", "returns seven"]


def test_macros_and_constant_expressions():
    p = programs()["ret_len"]
    assert [lookup(i).mnemonic for i in p.insns] == ["ldxw", "and", "jeq", "lsh32", "exit"]
    assert p.insns[0].off == 0  # offsetof(struct __sk_buff, len)
    assert p.insns[1].imm == 0x7FFFFFFF
    assert p.insns[3].imm == 2
    assert p.meta["errors"] == []


def test_lddw_pairs_struct_literal_and_errors():
    p = programs()["with_map"]
    assert len(p.insns) == 9
    assert p.insns[3].src == 1 and p.insns[4].opcode == 0
    assert p.insns[6].imm64 == 0x1122334455667788
    assert p.insns[8].opcode == 0x95
    (error,) = p.meta["errors"]
    assert "BPF_NOT_A_MACRO" in error.message
    assert error.loc.line == 22  # 0-based


def test_locations_point_at_elements():
    p = programs()["ret_len"]
    loc = p.locs[2]
    line = SAMPLE.read_text().splitlines()[loc.line]
    assert line[loc.col:].startswith("BPF_JMP_IMM(BPF_JEQ")
    lddw = programs()["with_map"]
    assert lddw.locs[3] == lddw.locs[4]


def test_test_case_meta_and_user_macro():
    p = programs()["returns seven"]
    assert p.meta["result"] == "ACCEPT"
    assert p.meta["retval"] == 7
    assert p.prog_type == "xdp"
    assert p.meta["fixup_map_hash_8b"] == [3, 5]
    assert p.meta["errstr"] == "first\tsecond"
    assert run(p).r0 == 7
    assert p.locs[0] == p.locs[1]  # both slots come from the RET_CONST invocation


def test_garbage_never_raises():
    for src in (b"", b"struct bpf_insn x[] = {", b"struct bpf_insn x[] = { BPF_EXIT_INSN( };",
                b"\xff\xfe\x00", b"struct bpf_insn a[] = { BPF_MOV64_IMM(1 / 0, 2) };",
                b"#define A(x) A(x)\nstruct bpf_insn a[] = { A(1) };"):
        for p in parse_c_arrays(src, "x.c"):
            assert isinstance(p.meta["errors"], list)
