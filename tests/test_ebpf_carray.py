"""The C-array decoder: BPF_* macros, constant expressions, test-case fields, locations."""

from __future__ import annotations

from pathlib import Path

from kernel_lsp.ebpf.csource import findings_in_c
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


# A kernel file holds instruction arrays that are not programs: other structs whose name starts
# with bpf_insn, scratch buffers, and templates a function fills from its variables. Arrays of
# constant instructions stay programs wherever they are written, and a file-scope array with a
# name nobody defines stays an error.
KERNEL_LIKE = b"""
struct bpf_insn_cbs cbs = { .cb_call = disasm_kfunc_name, .private_data = env };
int patch(struct bpf_prog *prog)
{
\tstruct bpf_insn insn_buf[16];
\tstruct bpf_insn tmp[32] = { };
\tstruct bpf_insn ld_addrs[2] = {
\t\tBPF_LD_IMM64(BPF_REG_3, (long)prog->aux),
\t};
\tstruct bpf_insn chk[] = {
\t\tBPF_ALU64_REG(BPF_MOV, BPF_REG_0, BPF_REG_0),
\t\tBPF_JMP_IMM(BPF_JA, 0, 0, is64 ? 1 : 2),
\t};
\tstruct bpf_insn local[] = {
\t\tBPF_MOV64_IMM(BPF_REG_0, 0),
\t\tBPF_EXIT_INSN(),
\t};
\treturn 0;
}
struct bpf_insn typo[] = {
\tBPF_MOV64_IMM(BPF_REG_0, UNDEFINED_CONSTANT),
\tBPF_EXIT_INSN(),
};
"""


def test_buffers_and_runtime_templates_are_not_programs():
    found = {p.name: p for p in parse_c_arrays(KERNEL_LIKE, "kernel/bpf/x.c")}
    assert sorted(found) == ["local", "typo"]
    assert [lookup(i).mnemonic for i in found["local"].insns] == ["mov", "exit"]
    (error,) = found["typo"].meta["errors"]
    assert "UNDEFINED_CONSTANT" in error.message


# lib/test_bpf.c's tail call tests: run by the interpreter or a JIT without the verifier, with
# the kernel's own tail call instruction; the verifier's checks do not apply to them.
INTERNAL = b"""
#define TAIL_CALL(off) BPF_RAW_INSN(BPF_JMP | BPF_TAIL_CALL, 0, 0, 0, (off))
static struct { const char *descr; struct bpf_insn insns[4]; int result; } tests[] = {
\t{
\t\t"tail call",
\t\t.insns = {
\t\t\tBPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 2),
\t\t\tTAIL_CALL(-1),
\t\t\tBPF_EXIT_INSN(),
\t\t},
\t\t.result = 3,
\t},
\t{
\t\t"bad jump",
\t\t.insns = {
\t\t\tBPF_MOV64_IMM(BPF_REG_0, 0),
\t\t\tBPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 5),
\t\t\tBPF_EXIT_INSN(),
\t\t},
\t},
};
"""


def test_programs_with_the_kernels_own_tail_call_are_not_verified():
    (tail, bad) = parse_c_arrays(INTERNAL, "lib/test_bpf.c")
    assert tail.meta["errors"] == [] and tail.insns[1].opcode == 0xF5
    assert {(f.code, f.symbol) for f in findings_in_c(INTERNAL, "lib/test_bpf.c")} == {
        ("E101", "bad jump")}
