"""Properties of the eBPF front ends, validator and interpreter (hypothesis).

CI runs a modest number of examples (profile ``ci``). For a longer run by hand:

    KERNEL_LSP_HYPOTHESIS=long python -m pytest tests/test_ebpf_properties.py

(profile ``long``: 5,000 examples per property, no deadline).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.disasm import disassemble
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.asmtext import parse_asm
from kernel_lsp.ebpf.load.carray import parse_c_arrays
from kernel_lsp.ebpf.load.raw import decode_raw, join_lddw
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.verify import VerifyOptions, accepted, verify
from kernel_lsp.ebpf.verify.dataflow import INTERNAL_ERROR

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("KERNEL_LSP_HYPOTHESIS", "ci"))

BUDGET = 5000
SAFE_HELPERS = (5, 6, 7, 8, 14)  # ktime_get_ns, trace_printk, prandom, cpu id, pid_tgid
ROWS = [r for r in isa.TABLE if r.kind not in ("call", "lddw")]


# ---- strategies -------------------------------------------------------------------------------
def _field(allowed, lo, hi):
    if allowed == isa.ANY:
        return st.integers(lo, hi)
    return st.sampled_from(sorted(allowed))


@st.composite
def legal_insn(draw, safe_memory: bool = False) -> list[Insn]:
    """One legal instruction (two slots for lddw); ``safe_memory``: accesses via R10 only."""
    choice = draw(st.integers(0, 20))
    if choice == 0:
        dst = draw(st.integers(0, 9))
        imm = draw(st.integers(0, (1 << 64) - 1))
        lo, hi = imm & 0xFFFFFFFF, imm >> 32
        sign = lambda v: v - (1 << 32) if v >= 1 << 31 else v  # noqa: E731
        return [Insn(0x18, dst, 0, 0, sign(lo)), Insn(0, 0, 0, 0, sign(hi))]
    if choice == 1:
        return [Insn(0x85, 0, 0, 0, draw(st.sampled_from(SAFE_HELPERS)))]
    row = draw(st.sampled_from(ROWS))
    dst = draw(st.integers(0, 9)) if row.dst.writes else draw(st.integers(0, 10))
    src = draw(st.integers(0, 10)) if row.src is not isa.Use.NONE else 0
    if row.src.writes:
        src = draw(st.integers(0, 9))
    off = draw(_field(row.off, -8, 8))
    imm = draw(_field(row.imm, -(1 << 31), (1 << 31) - 1))
    if row.kind in ("load", "loadsx", "store_imm", "store_reg", "atomic"):
        if safe_memory:
            size = row.size
            off = draw(st.integers(-512 // size, -1)) * size
            if row.kind in ("load", "loadsx"):
                src = 10
            else:
                dst = 10
        else:
            off = draw(st.integers(-600, 100))
    if row.kind in ("jcond", "ja"):
        off = draw(st.integers(-3, 6)) if row.off == isa.ANY else off
        imm = draw(st.integers(-3, 6)) if row.op == "gotol" else imm
    if row.kind == "alu" and row.op in ("lsh", "rsh", "arsh") and not row.opcode & isa.X:
        imm = draw(st.integers(0, row.width - 1))
    if row.kind == "alu" and row.op in ("div", "mod", "sdiv", "smod") and imm == 0:
        imm = 1
    return [Insn(row.opcode, dst, src, off, imm)]


@st.composite
def legal_program(draw, safe_memory: bool = False) -> Program:
    slots: list[Insn] = [Insn(0xB7, 0, 0, 0, 0)]  # r0 = 0 so exit reads an initialized R0
    for _ in range(draw(st.integers(0, 24))):
        slots += draw(legal_insn(safe_memory))
    slots.append(Insn(0x95, 0, 0, 0, 0))
    return Program("gen", join_lddw(slots))


ASM_WORDS = ["r0", "w1", "r10", "=", "+=", "-=", "s>>=", "*(u32 *)", "(r1 + 4)", "goto", "+2",
             "-1", "if", "==", "s<", "call", "exit", "ll", "0x10", "lock", "map[fd:1]", ";",
             "label:", "be16", "(s8)", "atomic_fetch_add(", ")", ",", "skb[4]", ".insn", "gotol"]


# ---- never crash --------------------------------------------------------------------------------
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_raw_validator_interpreter(data):
    program, _ = decode_raw(data)
    verify(program)
    run(program, data, budget=BUDGET)


@given(st.text(max_size=300))
def test_random_text_never_crashes_asm(text):
    program = parse_asm(text, "r.s")
    assert isinstance(program.meta["errors"], list)
    run(program, b"", budget=BUDGET)


@given(st.lists(st.sampled_from(ASM_WORDS), max_size=12).map(" ".join))
def test_asm_like_lines_never_crash(line):
    parse_asm(line + "\n" + line, "r.s")


@given(st.binary(max_size=300))
def test_random_bytes_never_crash_c_arrays(data):
    parse_c_arrays(b"struct bpf_insn a[] = {" + data + b"};", "r.c")
    parse_c_arrays(data, "r.c")


@given(st.lists(st.sampled_from(["BPF_MOV64_IMM(", "BPF_REG_1", ",", ")", "1 << 3", "-1",
                                 "BPF_EXIT_INSN()", "BPF_LD_IMM64(", "(__u32)", "{", "}",
                                 ".code =", "offsetof(struct __sk_buff, len)", "/ 0"]),
                max_size=16).map(" ".join))
def test_macro_soup_never_crashes(body):
    for program in parse_c_arrays(b"struct bpf_insn a[] = {" + body.encode() + b"};", "m.c"):
        verify(program)
        run(program, b"", budget=BUDGET)


@given(legal_program(), st.binary(max_size=64))
def test_legal_programs_never_crash(program, mem):
    for options in (VerifyOptions(), VerifyOptions(unprivileged=True),
                    VerifyOptions(bounded_loops=False, prog_type="xdp")):
        found = verify(program, options)
        assert not any(INTERNAL_ERROR in f.message for f in found), found
    result = run(program, mem, budget=BUDGET)
    assert (result.r0 is None) != (result.fault is None)


# ---- round trip -----------------------------------------------------------------------------
@given(legal_program())
def test_asm_round_trip_legal(program):
    text = disassemble(program)
    back = parse_asm(text, "rt.s")
    assert back.meta["errors"] == [], text
    assert back.insns == program.insns, text


@given(st.binary(max_size=160))
def test_asm_round_trip_any_slots(data):
    program, _ = decode_raw(data)
    back = parse_asm(disassemble(program), "rt.s")
    assert back.insns == program.insns


# ---- isolation ----------------------------------------------------------------------------------
@given(legal_program(safe_memory=True), st.binary(max_size=64))
def test_accepted_stack_only_programs_never_region_fault(program, mem):
    """Programs whose every access is an in-bounds R10 access: once accepted, no region fault."""
    if not accepted(verify(program)):
        return
    result = run(program, mem, budget=BUDGET)
    assert result.fault is None or result.fault.kind != "region", (
        f"{result.fault.message}\n{disassemble(program, numbered=True)}")


@given(legal_program(), st.binary(max_size=64))
def test_accepted_programs_never_region_fault(program, mem):
    """Any legal program the verifier accepts runs without a region fault on a real context."""
    if not accepted(verify(program)):
        return
    result = run(program, mem, prog_type="socket_filter", packet=True, budget=BUDGET)
    assert result.fault is None or result.fault.kind != "region", (
        f"{result.fault.message}\n{disassemble(program, numbered=True)}")
