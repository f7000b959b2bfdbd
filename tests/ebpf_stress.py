"""Hypothesis strategies for programs that stress pointers: packet bounds, NULL checks, stacks.

Each strategy draws a program from a template that is *almost* right: packet accesses behind a
``data + K1 <op> data_end`` check with random K1, op and access offset; map lookups whose NULL
check may be missing, inverted or compare the wrong register, then access the value at a random
offset, maybe moved by a bounded random index; stack stores and loads at random offsets and
sizes through moved frame pointers. Half of them fault at run time; the verifier must reject
those and may accept the others. Programs carry their maps in ``meta["slot_maps"]`` so the
verifier and the interpreter see the same ones.
"""

from __future__ import annotations

from hypothesis import strategies as st

from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.raw import join_lddw
from kernel_lsp.ebpf.run.maps import MapSpec

SIZES = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}
JOPS = {"jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jne": 0x50, "jsgt": 0x60, "jsge": 0x70,
        "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0}
# (prog_type, data offset, data_end offset) of the packet pointers in the context
PKT_CTX = [("xdp", 0, 4), ("sched_cls", 76, 80)]
ARRAY = MapSpec("stress", "array", 4, 16, 2, 0, bytes(range(16)))


def mov(dst, imm):
    return Insn(0xB7, dst, 0, 0, imm)


def movr(dst, src):
    return Insn(0xBF, dst, src, 0, 0)


def addi(dst, imm):
    return Insn(0x07, dst, 0, 0, imm)


def addr(dst, src):
    return Insn(0x0F, dst, src, 0, 0)


def andi(dst, imm):
    return Insn(0x57, dst, 0, 0, imm)


def ldx(size, dst, src, off):
    return Insn(0x61 | SIZES[size], dst, src, off, 0)


def stx(size, dst, src, off):
    return Insn(0x63 | SIZES[size], dst, src, off, 0)


def st_imm(size, dst, off, imm):
    return Insn(0x62 | SIZES[size], dst, 0, off, imm)


def jmp_reg(op, dst, src, off):
    return Insn(0x05 | JOPS[op] | 0x08, dst, src, off, 0)


def jmp_imm(op, dst, imm, off):
    return Insn(0x05 | JOPS[op], dst, 0, off, imm)


def call(helper):
    return Insn(0x85, 0, 0, 0, helper)


EXIT = Insn(0x95, 0, 0, 0, 0)
sizes = st.sampled_from([1, 2, 4, 8])


@st.composite
def packet_program(draw) -> Program:
    """Load data/data_end, check ``data + k <op> data_end``, access data at random offsets."""
    ptype, d_off, e_off = draw(st.sampled_from(PKT_CTX))
    k = draw(st.integers(0, 24))
    op = draw(st.sampled_from(["jgt", "jge", "jlt", "jle"]))
    size = draw(sizes)
    off = draw(st.integers(-4, 24))
    body = [ldx(size, 0, 2, off), mov(0, 1), EXIT]
    slots = [ldx(4, 2, 1, d_off), ldx(4, 3, 1, e_off), movr(4, 2), addi(4, k)]
    if draw(st.booleans()):  # the check as written: skip the access when out of range
        slots.append(jmp_reg(op, 4, 3, len(body)) if op in ("jgt", "jge")
                     else jmp_reg(op, 3, 4, len(body)))
    else:  # the mistaken direction
        slots.append(jmp_reg(op, 4, 3, len(body)))
    if draw(st.booleans()):  # a variable index into the packet
        slots += [ldx(1, 5, 2, 0) if draw(st.booleans()) else mov(5, 0),
                  andi(5, draw(st.sampled_from([1, 3, 7, 15, 255]))), addr(2, 5)]
        slots[4] = Insn(slots[4].opcode, slots[4].dst, slots[4].src, slots[4].off + 3, 0)
    slots += body + [mov(0, 2), EXIT]
    return Program("pkt", join_lddw(slots), prog_type=ptype)


@st.composite
def map_program(draw) -> Program:
    """Look up an array element, (mis)check it against NULL, access the value."""
    key = draw(st.integers(0, 3))
    size = draw(sizes)
    off = draw(st.integers(-4, 20))
    slots = [st_imm(4, 10, -4, key), movr(2, 10), addi(2, -4),
             Insn(0x18, 1, 1, 0, 1), Insn(0, 0, 0, 0, 0), call(1)]
    check = draw(st.sampled_from(["ok", "none", "inverted", "other"]))
    access = [ldx(size, 0, 0, off), mov(0, 0), EXIT]
    if draw(st.booleans()):
        access = [movr(6, 0), call(7), andi(0, draw(st.sampled_from([1, 3, 7, 15]))),
                  addr(6, 0), ldx(size, 0, 6, off), mov(0, 0), EXIT]
    if check == "ok":
        slots.append(jmp_imm("jeq", 0, 0, len(access)))
    elif check == "inverted":
        slots.append(jmp_imm("jne", 0, 0, len(access)))
    elif check == "other":
        slots.append(jmp_imm("jeq", 2, 0, len(access)))
    slots += access + [mov(0, 0), EXIT]
    program = Program("map", join_lddw(slots), prog_type="socket_filter")
    program.meta["slot_maps"] = {3: ARRAY}
    return program


@st.composite
def stack_program(draw) -> Program:
    """Stores and loads through R10 and moved copies of it, at random offsets and sizes."""
    slots = [mov(0, 0), movr(6, 10), addi(6, draw(st.integers(-520, 8)))]
    for _ in range(draw(st.integers(1, 4))):
        size, off = draw(sizes), draw(st.integers(-24, 16))
        base = draw(st.sampled_from([10, 6]))
        if draw(st.booleans()):
            slots.append(st_imm(size, base, off, draw(st.integers(-5, 5))))
        else:
            slots.append(ldx(size, 0, base, off))
    slots.append(EXIT)
    return Program("stack", join_lddw(slots), prog_type="socket_filter")


@st.composite
def ctx_program(draw) -> Program:
    """Loads and stores of the context at random offsets and sizes, maybe through a moved R1."""
    ptype = draw(st.sampled_from(["socket_filter", "sched_cls", "xdp", "cgroup_skb"]))
    slots = [mov(0, 0)]
    if draw(st.integers(0, 4)) == 0:
        slots.append(addi(1, draw(st.sampled_from([-4, 4, 8]))))
    for _ in range(draw(st.integers(1, 3))):
        size, off = draw(sizes), draw(st.sampled_from([0, 4, 8, 36, 48, 60, 64, 76, 80, 140,
                                                       168, 184, 188, 190, 196, 20, 24, -4]))
        if draw(st.booleans()):
            slots.append(st_imm(size, 1, off, draw(st.integers(-3, 3))))
        else:
            slots.append(ldx(size, 2, 1, off))
    slots += [mov(0, 0), EXIT]
    return Program("ctx", join_lddw(slots), prog_type=ptype)


@st.composite
def helper_buffer_program(draw) -> Program:
    """bpf_skb_load_bytes(ctx, off, fp + k, len) into a stack buffer of random place and size."""
    k = draw(st.integers(-40, 8))
    length = draw(st.integers(-1, 48))
    slots = [movr(6, 1), mov(2, draw(st.integers(0, 20))), movr(3, 10), addi(3, k)]
    if draw(st.booleans()):
        slots += [call(7), andi(0, draw(st.sampled_from([7, 15, 63]))), movr(4, 0),
                  movr(1, 6), mov(2, 0), movr(3, 10), addi(3, k)]
    else:
        slots += [mov(4, length)]
    slots += [call(26), ldx(8, 0, 10, draw(st.sampled_from([-8, -16, -40]))), mov(0, 0), EXIT]
    return Program("helper", join_lddw(slots), prog_type="socket_filter")


@st.composite
def diamond_program(draw) -> Program:
    """Branches that give registers different constants, then one of them used as an index.

    Pruning may only merge paths whose differing scalars can no longer matter; an index that
    is out of bounds on one path must not be pruned away.
    """
    slots = [st_imm(4, 10, -4, 0), movr(2, 10), addi(2, -4), Insn(0x18, 1, 1, 0, 1),
             Insn(0, 0, 0, 0, 0), call(1), jmp_imm("jne", 0, 0, 2), mov(0, 0), EXIT,
             movr(6, 0)]
    regs = draw(st.lists(st.sampled_from([7, 8, 9, -8, -16]), min_size=1, max_size=4))
    for reg in regs:  # a register, or a stack slot (negative: its offset from R10)
        lo, hi = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        set_lo, set_hi = ((mov(reg, lo), mov(reg, hi)) if reg > 0 else
                          (st_imm(8, 10, reg, lo), st_imm(8, 10, reg, hi)))
        slots += [call(7), andi(0, 1 << draw(st.integers(0, 3))), jmp_imm("jeq", 0, 0, 2),
                  set_lo, Insn(0x05, 0, 0, 1, 0), set_hi]
    used = draw(st.sampled_from(regs))
    if used < 0:  # the index kept in a stack slot: load it back
        slots.append(ldx(8, 7, 10, used))
        used = 7
    if draw(st.booleans()):  # keep the index in a stack slot across a call (a spill)
        off = draw(st.sampled_from([-8, -16, -24]))
        base = draw(st.sampled_from(["r10", "moved"]))
        if base == "r10":
            slots += [stx(8, 10, used, off), call(7), ldx(8, used, 10, off)]
        else:
            slots += [movr(5, 10), addi(5, off), stx(8, 5, used, 0), call(7),
                      movr(5, 10), ldx(8, used, 5, off)]
    if draw(st.booleans()):
        slots += [movr(1, 6), addr(1, used), ldx(draw(sizes), 0, 1, 0)]
    else:
        slots += [jmp_imm("jgt", used, draw(st.integers(0, 20)), 1), ldx(4, 0, 6, 12)]
    slots += [mov(0, 0), EXIT]
    program = Program("diamond", join_lddw(slots), prog_type="socket_filter")
    program.meta["slot_maps"] = {3: ARRAY}
    return program


@st.composite
def spill_program(draw) -> Program:
    """A random value spilled (whole or narrow, aligned or not), maybe changed or overwritten,
    bounds-checked through the register or a fill, then filled back (any size and offset) and
    used as an index into a 16-byte map value: the check bounds the index only when it checks
    the value filled (a fill of a slot's low bytes is the spilled value truncated)."""
    slots = [st_imm(4, 10, -4, 0), movr(2, 10), addi(2, -4), Insn(0x18, 1, 1, 0, 1),
             Insn(0, 0, 0, 0, 0), call(1), jmp_imm("jne", 0, 0, 2), mov(0, 0), EXIT,
             movr(6, 0), call(7)]
    shape = draw(st.sampled_from(["mask", "shift", "high", "raw"]))
    if shape == "mask":
        slots.append(andi(0, draw(st.sampled_from([15, 31, 255, 0xFFFF]))))
    elif shape == "shift":
        slots += [andi(0, 31), Insn(0x67, 0, 0, 0, 32)]  # r0 <<= 32: low half zero
    elif shape == "high":
        slots.append(Insn(0x67, 0, 0, 0, draw(st.sampled_from([8, 28, 31]))))
    slots.append(movr(7, 0))
    base = draw(st.sampled_from([-8, -16]))
    ssize = draw(sizes)
    soff = base + draw(st.sampled_from([0, 0, 0, 4, 2, 1]))
    slots += [st_imm(8, 10, base, draw(st.sampled_from([0, 7, -1]))), stx(ssize, 10, 7, soff)]
    change = draw(st.sampled_from(["none", "none", "add", "mov", "overwrite"]))
    if change == "add":
        slots.append(addi(7, draw(st.sampled_from([1, 16, -16]))))
    elif change == "mov":
        slots.append(mov(7, 3))
    elif change == "overwrite":
        slots.append(st_imm(1, 10, base + draw(st.integers(0, 7)), 0x40))
    checked = 7
    if draw(st.booleans()):  # check a fill instead of the register
        slots.append(ldx(draw(sizes), 8, 10, base + draw(st.sampled_from([0, 0, 4, 2]))))
        checked = 8
    op = draw(st.sampled_from(["jgt", "jge", "jsgt", "jne", "jeq"]))
    limit = draw(st.sampled_from([15, 16, 0]))
    use = [movr(1, 6), addr(1, 9), ldx(1, 0, 1, 0), mov(0, 0), EXIT]
    slots.append(jmp_imm(op, checked, limit, 1 + len(use)))
    slots.append(ldx(draw(sizes), 9, 10, base + draw(st.sampled_from([0, 0, 4, 2, 1]))))
    slots += use + [mov(0, 0), EXIT]
    program = Program("spill", join_lddw(slots), prog_type="socket_filter")
    program.meta["slot_maps"] = {3: ARRAY}
    return program


pointer_program = st.one_of(diamond_program(), packet_program(), map_program(), stack_program(),
                            ctx_program(), helper_buffer_program(), spill_program())
