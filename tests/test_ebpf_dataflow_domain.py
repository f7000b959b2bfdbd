"""Unit tests of the dataflow verifier's domain: tnums, scalar bounds, branches, stack, NULL checks.

Tables first (known answers from the Linux verifier's semantics), then hypothesis properties
that check the domain is sound: every concrete value a register may hold stays inside its
abstract value after an operation or a branch refinement.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.test_ebpf_properties  # noqa: F401  (hypothesis profile)
from kernel_lsp.ebpf.alu import alu, jump_taken
from kernel_lsp.ebpf.load.asmtext import parse_asm
from kernel_lsp.ebpf.verify.dataflow import DataflowOptions, abstract_states, check, tnum
from kernel_lsp.ebpf.verify.dataflow import bounds as B
from kernel_lsp.ebpf.verify.dataflow.branch import (
    branch_taken,
    refine_scalars,
    scalars_taken,
    set_min_max,
)
from kernel_lsp.ebpf.verify.dataflow.log import reg_text
from kernel_lsp.ebpf.verify.dataflow.regs import SCALAR, Reg, const, s32, s64
from kernel_lsp.ebpf.verify.dataflow.scalar_alu import scalar_op
from kernel_lsp.ebpf.verify.dataflow.tnum import M64, Tnum

T = Tnum


# ---- tnum: known answers ---------------------------------------------------------------------
@pytest.mark.parametrize(("got", "want"), [
    (tnum.trange(0, 255), T(0, 0xFF)),
    (tnum.trange(16, 31), T(16, 0xF)),
    (tnum.trange(5, 5), T(5, 0)),
    (tnum.trange(0, M64), tnum.UNKNOWN),
    (tnum.add(T(1, 0), T(2, 0)), T(3, 0)),
    (tnum.add(T(0, 1), T(0, 1)), T(0, 3)),  # {0,1} + {0,1} = {0,1,2}
    (tnum.sub(T(4, 0), T(1, 0)), T(3, 0)),
    (tnum.t_and(T(0, 0xFF), T(0x0F, 0)), T(0, 0x0F)),
    (tnum.t_or(T(0x10, 0x0F), T(1, 0)), T(0x11, 0x0E)),
    (tnum.xor(T(0xF0, 0), T(0xFF, 0)), T(0x0F, 0)),
    (tnum.mul(T(3, 0), T(5, 0)), T(15, 0)),
    (tnum.lshift(T(1, 1), 4), T(0x10, 0x10)),
    (tnum.rshift(T(0x10, 0x10), 4), T(1, 1)),
    (tnum.arshift(T(0x80000000, 0), 4, 32), T(0xF8000000, 0)),
    (tnum.intersect(T(0, 0xFF), T(0x10, 0x0F)), T(0x10, 0x0F)),
])
def test_tnum_table(got, want):
    assert got == want


def test_tnum_text_and_membership():
    assert T(0, 0xFF).text() == "(0x0; 0xff)"
    assert T(0, 0xFF).contains(T(0x12, 0x01))
    assert not T(0, 0x0F).contains(T(0x10, 0))


# ---- tnum and scalar ALU: soundness ------------------------------------------------------
u64 = st.integers(0, M64)
OPS = ["add", "sub", "mul", "and", "or", "xor", "lsh", "rsh", "arsh"]


@st.composite
def abstract_with_member(draw):
    """A scalar register built from a range and a tnum, plus one concrete member of it."""
    x = draw(u64)
    mask = draw(st.sampled_from([0, 0xFF, 0xFFFF, 0xFFFFFFFF, M64, 0xF0F0, 1 << 63]))
    r = Reg(SCALAR)
    r.var = Tnum(x & ~mask & M64, mask)
    B.sync(r)
    return r, x


def member(r: Reg, x: int) -> bool:
    """Is the concrete 64-bit value ``x`` described by ``r``?"""
    lo32 = x & 0xFFFFFFFF
    sx32 = lo32 - (1 << 32) if lo32 >> 31 else lo32
    return (r.var.contains(Tnum(x, 0)) and r.umin <= x <= r.umax and r.smin <= s64(x) <= r.smax
            and r.u32min <= lo32 <= r.u32max and r.s32min <= sx32 <= r.s32max)


@given(abstract_with_member(), abstract_with_member(), st.sampled_from(OPS), st.booleans())
def test_scalar_alu_is_sound(a, b, op, alu32):
    (ra, xa), (rb, xb) = a, b
    width = 32 if alu32 else 64
    if op in ("lsh", "rsh", "arsh"):
        xb &= width - 1
        rb = const(xb)
    assert member(ra, xa) and member(rb, xb)
    out = ra.copy()
    scalar_op(out, rb, op, alu32)
    want = alu(op, width, xa, xb)
    assert member(out, want), (op, alu32, hex(xa), hex(xb), hex(want), reg_text(out))


@given(abstract_with_member(), u64, st.sampled_from(["jeq", "jne", "jgt", "jge", "jlt", "jle",
                                                     "jsgt", "jsge", "jslt", "jsle", "jset"]),
       st.booleans())
def test_branch_refinement_is_sound(a, val, op, jmp32):
    r, x = a
    taken = jump_taken(op, 32 if jmp32 else 64, x, val)
    pred = branch_taken(r, val, op, jmp32)
    assert pred in (-1, int(taken))
    t, f = r.copy(), r.copy()
    set_min_max(t, f, val, op, jmp32)
    assert member(t if taken else f, x), (op, jmp32, hex(x), hex(val), reg_text(t), reg_text(f))


@st.composite
def ranged_with_member(draw, near=None):
    """A scalar with a tnum and 64- and 32-bit ranges around one member (``near`` + a small
    step when given, so that two registers often hold close or equal values)."""
    if near is None:
        x = draw(u64)
    else:
        x = (near + draw(st.sampled_from([0, 0, 0, 1, -1, 2, -2, 1 << 32, -(1 << 32)]))) & M64
    mask = draw(st.sampled_from([0, 0xFF, 0xFFFF, 0xFFFFFFFF, M64, 0xF0F0, 1 << 63]))
    r = Reg(SCALAR)
    r.var = Tnum(x & ~mask & M64, mask)
    steps = st.sampled_from([0, 0, 0, 1, 3, 100, 1 << 31, 1 << 40, M64])
    lo32, sx32 = x & 0xFFFFFFFF, s32(x & 0xFFFFFFFF)
    r.umin, r.umax = max(r.umin, x - draw(steps)), min(r.umax, x + draw(steps))
    r.smin, r.smax = max(r.smin, s64(x) - draw(steps)), min(r.smax, s64(x) + draw(steps))
    r.u32min, r.u32max = max(r.u32min, lo32 - draw(steps)), min(r.u32max, lo32 + draw(steps))
    r.s32min, r.s32max = max(r.s32min, sx32 - draw(steps)), min(r.s32max, sx32 + draw(steps))
    B.sync(r)
    return r, x


@st.composite
def two_scalars(draw):
    a = draw(ranged_with_member())
    return a, draw(ranged_with_member(near=a[1]) | ranged_with_member())


@pytest.mark.parametrize("op", ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt",
                                "jsle", "jset"])
@given(two_scalars(), st.booleans())
def test_comparing_two_scalars_is_sound(op, pair, jmp32):
    (r1, x1), (r2, x2) = pair
    assert member(r1, x1) and member(r2, x2)
    taken = jump_taken(op, 32 if jmp32 else 64, x1, x2)
    assert scalars_taken(r1, r2, op, jmp32) in (-1, int(taken))
    t1, t2, f1, f2 = r1.copy(), r2.copy(), r1.copy(), r2.copy()
    refine_scalars(t1, t2, f1, f2, op, jmp32)
    a, b = (t1, t2) if taken else (f1, f2)
    assert member(a, x1) and member(b, x2), (op, jmp32, hex(x1), hex(x2), reg_text(a),
                                             reg_text(b))


def test_two_scalars_with_disjoint_ranges_decide_the_branch():
    low, high = Reg(SCALAR), Reg(SCALAR)
    low.umax = 2
    high.umin = 3
    B.sync(low)
    B.sync(high)
    assert scalars_taken(high, low, "jeq", False) == 0
    assert scalars_taken(high, low, "jne", False) == 1
    assert scalars_taken(high, low, "jgt", False) == 1
    assert scalars_taken(low, high, "jge", False) == 0
    assert scalars_taken(low, high, "jsgt", False) == -1  # high may be negative as signed
    t1, t2, f1, f2 = (r.copy() for r in (low, low, low, low))
    refine_scalars(t1, t2, f1, f2, "jeq", False)
    assert (t1.umax, t2.umax, f1.umax) == (2, 2, 2)
    wide = Reg(SCALAR)
    wide.umax = 5
    B.sync(wide)
    t1, t2, f1, f2 = low.copy(), wide.copy(), low.copy(), wide.copy()
    refine_scalars(t1, t2, f1, f2, "jne", False)  # equal on the fall-through: both at most 2
    assert (t1.umax, t2.umax, f1.umax, f2.umax) == (2, 5, 2, 2)


# ---- bounds: known answers ------------------------------------------------------------------
def test_sync_learns_bounds_from_the_tnum_and_back():
    r = Reg(SCALAR)
    r.var = Tnum(0, 0xFF)
    B.sync(r)
    assert (r.umin, r.umax, r.smin, r.smax) == (0, 255, 0, 255)
    r = Reg(SCALAR)
    r.umax = 100
    B.sync(r)
    assert r.var == Tnum(0, 0x7F) and r.smin == 0


def test_refine_unsigned_compare_on_both_branches():
    t, f = Reg(SCALAR), Reg(SCALAR)
    set_min_max(t, f, 10, "jgt", False)  # if r > 10
    assert (t.umin, t.umax) == (11, M64)
    assert (f.umin, f.umax) == (0, 10)


# ---- programs: spill/fill, NULL checks, packet ranges --------------------------------------
def _states(text: str, prog_type: str = "socket_filter", **meta) -> dict[int, list[str]]:
    program = parse_asm(text, "t.s")
    program.meta.update(meta)
    found = abstract_states(program, DataflowOptions(prog_type=prog_type))
    return {i: [s.text for s in states] for i, states in found.items()}


def test_spill_and_fill_keep_the_pointer():
    states = _states("*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = 0\nexit\n")
    assert states[1] == ["R1=ctx(off=0,imm=0) R10=fp0 fp-8=ctx"]
    assert states[2] == ["R1=ctx(off=0,imm=0) R2=ctx(off=0,imm=0) R10=fp0 fp-8=ctx"]


def test_spill_of_a_constant_is_tracked_and_partial_write_is_data():
    states = _states("*(u64 *)(r10 - 8) = 7\n*(u8 *)(r10 - 16) = 0\nr0 = *(u64 *)(r10 - 8)\n"
                     "exit\n")
    assert states[3] == ["R0=7 R1=ctx(off=0,imm=0) R10=fp0 fp-8=7 fp-16=???????0"]


def test_null_check_makes_every_copy_a_pointer_or_zero():
    from kernel_lsp.ebpf.run.maps import MapSpec

    text = ("*(u64 *)(r10 - 8) = 0\nr2 = r10\nr2 += -8\nr1 = map[fd:0]\n"
            "call bpf_map_lookup_elem\nr6 = r0\nif r0 == 0 goto +1\nr0 = *(u64 *)(r6 + 0)\n"
            "r0 = 0\nexit\n")
    program = parse_asm(text, "t.s")
    program.meta["slot_maps"] = {3: MapSpec("m", "hash", 8, 8, 4)}
    result = check(program, DataflowOptions(log=True), states=True)
    assert result.states[7][0].registers["R6"] == "map_value_or_null(id=1,off=0,ks=8,vs=8,imm=0)"
    assert [s.text for s in result.states[8]] == [
        "R0=map_value(off=0,ks=8,vs=8,imm=0) R6=map_value(off=0,ks=8,vs=8,imm=0) R10=fp0 "
        "fp-8=mmmmmmmm"]
    # the NULL branch: both copies are the constant 0; nothing at 9 reads them, so it is pruned
    assert "from 7 to 9: R0=0 R6=0 R10=fp0 fp-8=mmmmmmmm" in result.log
    assert "9: safe" in result.log


def test_packet_range_from_data_end_comparison():
    text = ("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\n"
            "if r4 > r3 goto +1\nr0 = *(u16 *)(r2 + 12)\nr0 = 2\nexit\n")
    program = parse_asm(text, "t.s")
    result = check(program, DataflowOptions(prog_type="xdp"), states=True)
    assert result.accepted
    assert result.states[5][0].registers["R2"] == "pkt(off=0,r=14,imm=0)"
    bad = parse_asm(text.replace("+ 12)", "+ 13)"), "t.s")
    finding = check(bad, DataflowOptions(prog_type="xdp")).findings[0]
    assert finding.message.startswith("invalid access to packet, off=13 size=2, R2(id=0,off=13,"
                                      "r=14); R2 offset is outside of the packet")


def test_abstract_states_for_hovers():
    from kernel_lsp.ebpf.verify import abstract_states as states_of

    program = parse_asm("r0 = 0\n*(u64 *)(r10 - 8) = r1\nexit\n", "t.s")
    found = states_of(program)
    assert found[2][0].registers == {"R0": "0", "R1": "ctx(off=0,imm=0)", "R10": "fp0",
                                     "fp-8": "ctx"}
    assert states_of(parse_asm("r0 = r11\nexit\n", "t.s")) == {}


def test_bounded_loop_is_walked_and_infinite_loop_found():
    count = check(parse_asm("r0 = 0\nr0 += 1\nif r0 < 4 goto -2\nexit\n", "t.s"))
    assert count.accepted and count.processed == 10
    spin = check(parse_asm("r0 = 0\nif r0 == 0 goto -2\nexit\n", "t.s"),
                 DataflowOptions(prog_type="tracepoint"))
    assert [f.code for f in spin.findings] == ["E501"]


# ---- pruning: what may be merged ------------------------------------------------------------
def _diamonds(n: int, use: str) -> str:
    """``n`` branches on fresh random numbers, each giving r6 (and fp-8) one of two values."""
    body = ["*(u64 *)(r10 - 8) = 0"]
    for i in range(n):
        body += ["call bpf_get_prandom_u32", "r0 &= 1", "if r0 == 0 goto +3",
                 f"r6 = {i}", f"*(u64 *)(r10 - 8) = {i + 1}", "goto +2", f"r6 = {i + 40}",
                 f"*(u64 *)(r10 - 8) = {i + 50}"]
    return "\n".join(body + use.splitlines() + ["r0 = 0", "exit"]) + "\n"


def test_paths_differing_only_in_values_that_cannot_matter_are_merged():
    text = _diamonds(12, "r1 = r6\nr2 = *(u64 *)(r10 - 8)")
    result = check(parse_asm(text, "t.s"), DataflowOptions())
    assert result.accepted and result.processed < 500  # 2**12 paths without merging


def test_paths_whose_value_reaches_a_decision_are_kept_apart():
    text = _diamonds(6, "r1 = *(u64 *)(r10 - 8)\nif r1 > 49 goto +1\nr0 = *(u64 *)(r10 - 16)")
    result = check(parse_asm(text, "t.s"), DataflowOptions(unprivileged=False))
    assert result.accepted and result.processed > 2 ** 6
