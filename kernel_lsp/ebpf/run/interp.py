"""Reference interpreter: the semantics of every eBPF opcode, run over isolating region memory.

Each instruction is decoded through the ISA table (:func:`kernel_lsp.ebpf.isa.lookup`) and executed
by the one function for its kind; those functions are the specification of the opcodes (RFC 9669):
32-bit ALU results are zero-extended, division by zero yields 0, modulo by zero keeps the dividend
(32-bit: zero-extended), shift amounts are masked to the width, ``sdiv``/``smod`` truncate toward
zero (``INT_MIN / -1`` wraps to ``INT_MIN``, ``INT_MIN % -1`` is 0), ``movsx``/``ldxs*``/``arsh``
sign-extend, ``le``/``be``/``bswap`` act on a little-endian machine.

Calling convention of :func:`run`: the input bytes are the context region, R1 holds its address and
R2 its length, R10 the top of a fresh 512-byte stack. With ``packet=True`` and a program type that
has a packet context (``__sk_buff`` / ``xdp_md``) the input is the packet instead and R1 points to
a context built for it (:mod:`kernel_lsp.ebpf.run.ctxlayout`). Every run is bounded by an instruction
budget and ends with a :class:`RunResult`: R0, or a :class:`Fault` naming the instruction.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.alu import alu, byteswap, jump_taken, sext
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.ebpf.run.maps import HelperFault, MapSpec, RuntimeMap, call_helper, program_maps
from kernel_lsp.ebpf.run.memory import READ, RW, Memory, RegionFault

MASK64 = (1 << 64) - 1
MASK32 = 0xFFFFFFFF
STACK_SIZE = 512
MAX_FRAMES = 8
DEFAULT_BUDGET = 1_000_000
CODE_BASE = 0xC0DE << 48  # value of ``lddw rX, func`` (a code address: no data region)


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a run stopped early: instruction index, kind, and a one-line message."""

    insn: int
    kind: str  # region | budget | helper | illegal | call | map | range
    message: str

    def to_json(self) -> dict:
        return {"insn": self.insn, "kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class RunResult:
    """R0 at the final exit (unsigned 64-bit) or the fault, and how many insns ran."""

    r0: int | None
    fault: Fault | None
    insns_executed: int

    def to_json(self) -> dict:
        if self.fault is not None:
            return {"fault": self.fault.to_json(), "insns_executed": self.insns_executed}
        return {"r0": self.r0, "insns_executed": self.insns_executed}


class _Stop(Exception):
    """Internal: carries a fault (or a normal LD_ABS termination) out of the step loop."""

    def __init__(self, kind: str, message: str, r0: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.r0 = kind, message, r0


@dataclass(slots=True)
class _Frame:
    return_pc: int
    saved: tuple[int, ...]  # R6..R10 of the caller
    stack: object


class Machine:
    """One run's state: registers, memory regions, frames, maps and deterministic helper state."""

    def __init__(self, program: Program, seed: int = 0x2545F491):
        self.program = program
        self.insns = program.insns
        self.infos = [isa.lookup(i) for i in program.insns]
        self.problems = [isa.reserved_field_problem(i) if info else None
                         for i, info in zip(program.insns, self.infos, strict=True)]
        self.mem = Memory()
        self.regs = [0] * 11
        self.frames: list[_Frame] = []
        self.maps_by_addr: dict[int, RuntimeMap] = {}
        self.slot_maps: dict[int, RuntimeMap] = {}
        self.fd_maps: dict[int, RuntimeMap] = {}  # fallback: lddw imm (fd) of a bound slot
        self.slot_values: dict[int, int] = {}  # ELF data relocations: slot -> symbol address
        self.clock = 1_000_000
        self.rand_state = seed or 1
        self.packet = None  # region read by LD_ABS / LD_IND
        self.ctx = None  # the context region
        self.frame: tuple[bytes, int] | None = None  # packet mode: whole frame, network offset
        self.pc = 0

    # ---- setup -----------------------------------------------------------------------------
    def add_maps(self, specs: dict[int, MapSpec]) -> None:
        """Create one runtime map per distinct spec and bind the lddw slots that refer to it."""
        live: dict[MapSpec, RuntimeMap] = {}
        for slot, spec in specs.items():
            runtime = live.get(spec)
            if runtime is None:
                runtime = live[spec] = RuntimeMap(spec, self.mem)
                self.maps_by_addr[runtime.obj.base] = runtime
            self.slot_maps[slot] = runtime
            if 0 <= slot < len(self.insns):
                self.fd_maps.setdefault(self.insns[slot].imm, runtime)

    def add_data(self, program: Program) -> None:
        """Map an ELF object's data sections and bind the lddw slots relocated against them."""
        regions = {}
        sections = program.meta.get("data")
        for name, data in (sections.items() if isinstance(sections, dict) else ()):
            perms = READ if name.startswith(".rodata") else RW
            regions[name] = self.mem.add(f"data '{name}'", bytes(data), perms)
        symbols = program.meta.get("globals")
        symbols = symbols if isinstance(symbols, dict) else {}
        for slot, (symbol, kind) in (program.relocations or {}).items():
            if kind != "data":
                continue
            if symbol in symbols and symbols[symbol].get("section") in regions:
                where = symbols[symbol]
                self.slot_values[slot] = regions[where["section"]].base + where["offset"]
            elif symbol in regions:
                self.slot_values[slot] = regions[symbol].base

    def new_stack(self):
        stack = self.mem.add(f"stack frame {len(self.frames)}", STACK_SIZE, RW)
        self.regs[10] = stack.end
        return stack

    # ---- helpers for the step functions ----------------------------------------------------
    def reg(self, n: int) -> int:
        if n > 10:
            raise _Stop("illegal", f"R{n} is invalid")
        return self.regs[n]

    def set_reg(self, n: int, value: int) -> None:
        if n > 10:
            raise _Stop("illegal", f"R{n} is invalid")
        if n == 10:
            raise _Stop("illegal", "frame pointer is read only")
        self.regs[n] = value & MASK64

    def load(self, addr: int, size: int) -> int:
        return self.mem.load(addr & MASK64, size)

    def store(self, addr: int, size: int, value: int) -> None:
        self.mem.store(addr & MASK64, size, value)

    # ---- main loop --------------------------------------------------------------------------
    def run(self, budget: int) -> RunResult:
        executed, n = 0, len(self.insns)
        try:
            while True:
                if not 0 <= self.pc < n:
                    raise _Stop("range", f"jump out of range to insn {self.pc}")
                if executed >= budget:
                    raise _Stop("budget", f"instruction budget of {budget} exhausted")
                executed += 1
                done = self.step()
                if done:
                    return RunResult(self.regs[0], None, executed)
        except _Stop as stop:
            if stop.kind == "exit":
                return RunResult(stop.r0, None, executed)
            return RunResult(None, Fault(self.pc, stop.kind, _message(stop, self.pc)), executed)

    def step(self) -> bool:
        insn, info = self.insns[self.pc], self.infos[self.pc]
        if info is None:
            raise _Stop("illegal", f"unknown opcode {insn.opcode:02x}")
        if self.problems[self.pc]:
            raise _Stop("illegal", self.problems[self.pc])
        try:
            return _KIND[info.kind](self, insn, info)
        except ValueError as exc:  # an encoding the semantics do not define
            raise _Stop("illegal", str(exc)) from None
        except RegionFault as exc:
            raise _Stop("region", str(exc)) from None
        except HelperFault as exc:
            raise _Stop("helper", str(exc)) from None


def _message(stop: _Stop, pc: int) -> str:
    if stop.kind == "region":
        return f"region fault at insn {pc}: {stop.message}"
    if stop.kind == "budget":
        return stop.message
    return f"{stop.message} at insn {pc}"


# ---- per-kind semantics -------------------------------------------------------------------
def _operand(m: Machine, insn, info) -> int:
    if insn.opcode & isa.X:
        return m.reg(insn.src)
    return insn.imm & (MASK64 if info.width == 64 else MASK32)


def _do_alu(m: Machine, insn, info) -> bool:
    m.set_reg(insn.dst, alu(info.op, info.width, m.reg(insn.dst), _operand(m, insn, info)))
    m.pc += 1
    return False


def _do_mov(m: Machine, insn, info) -> bool:
    value = _operand(m, insn, info)
    m.set_reg(insn.dst, value & (MASK64 if info.width == 64 else MASK32))
    m.pc += 1
    return False


def _do_movsx(m: Machine, insn, info) -> bool:
    value = sext(m.reg(insn.src), insn.off) & MASK64
    m.set_reg(insn.dst, value if info.width == 64 else value & MASK32)
    m.pc += 1
    return False


def _do_neg(m: Machine, insn, info) -> bool:
    m.set_reg(insn.dst, alu("neg", info.width, m.reg(insn.dst), 0))
    m.pc += 1
    return False


def _do_end(m: Machine, insn, info) -> bool:
    m.set_reg(insn.dst, byteswap(info.op, insn.imm, m.reg(insn.dst)))
    m.pc += 1
    return False


def _do_jcond(m: Machine, insn, info) -> bool:
    rhs = m.reg(insn.src) if insn.opcode & isa.X else insn.imm & MASK64
    taken = jump_taken(info.op, info.width, m.reg(insn.dst), rhs)
    m.pc += 1 + (insn.off if taken else 0)
    return False


def _do_ja(m: Machine, insn, info) -> bool:
    m.pc += 1 + (insn.imm if info.op == "gotol" else insn.off)
    return False


def _do_call(m: Machine, insn, info) -> bool:
    if insn.src == isa.CALL_PSEUDO:
        if len(m.frames) + 1 >= MAX_FRAMES:
            raise _Stop("call", f"the call stack of {len(m.frames) + 2} frames is too deep !")
        saved = tuple(m.regs[6:11])
        m.frames.append(_Frame(m.pc + 1, saved, m.new_stack()))
        m.pc += 1 + insn.imm
        return False
    if insn.src == isa.CALL_KFUNC:
        raise _Stop("helper", f"kfunc call (btf id {insn.imm}) is not implemented")
    m.regs[0] = call_helper(m, insn.imm, tuple(m.regs[1:6]))
    m.pc += 1
    return False


def _do_exit(m: Machine, insn, info) -> bool:
    if not m.frames:
        return True
    frame = m.frames.pop()
    m.mem.remove(frame.stack)
    m.regs[6:11] = list(frame.saved)
    m.pc = frame.return_pc
    return False


def _do_load(m: Machine, insn, info) -> bool:
    value = m.load(m.reg(insn.src) + insn.off, info.size)
    if info.kind == "loadsx":
        value = sext(value, 8 * info.size) & MASK64
    m.set_reg(insn.dst, value)
    m.pc += 1
    return False


def _do_store(m: Machine, insn, info) -> bool:
    value = m.reg(insn.src) if info.kind == "store_reg" else insn.imm
    m.store(m.reg(insn.dst) + insn.off, info.size, value)
    m.pc += 1
    return False


def _do_atomic(m: Machine, insn, info) -> bool:
    size, addr = info.size, m.reg(insn.dst) + insn.off
    mask = (1 << (8 * size)) - 1
    old = m.load(addr, size)
    src = m.reg(insn.src)
    if info.op == "cmpxchg":
        if old == m.reg(0) & mask:
            m.store(addr, size, src)
        m.regs[0] = old
    elif info.op == "xchg":
        m.store(addr, size, src)
        m.set_reg(insn.src, old)
    else:
        base = info.op.removeprefix("fetch_")
        m.store(addr, size, alu(base, 64, old, src) & mask)
        if info.op.startswith("fetch_"):
            m.set_reg(insn.src, old)
    m.pc += 1
    return False


def _do_lddw(m: Machine, insn, info) -> bool:
    if m.pc + 1 >= len(m.insns):
        raise _Stop("illegal", "invalid bpf_ld_imm64 insn")
    pseudo = isa.LDDW_PSEUDO[insn.src]
    imm64 = (m.insns[m.pc + 1].imm & MASK32) << 32 | (insn.imm & MASK32)
    if pseudo == "imm64" and m.pc in m.slot_values:  # relocated against ELF data
        value = m.slot_values[m.pc] + imm64
    elif pseudo == "imm64" and m.pc in m.slot_maps:  # relocated against an ELF map
        value = m.slot_maps[m.pc].obj.base
    elif pseudo == "imm64":
        value = imm64
    elif pseudo in ("map_fd", "map_idx", "map_value", "map_idx_value"):
        runtime = m.slot_maps.get(m.pc) or m.fd_maps.get(insn.imm)
        if runtime is None:
            raise _Stop("map", f"no map is bound to the lddw (fd {insn.imm})")
        value = runtime.obj.base
        if pseudo.endswith("value"):
            first = runtime.values.get(b"\0\0\0\0")
            if first is None:
                raise _Stop("map", f"map '{runtime.spec.name}' has no direct value")
            value = first.base + m.insns[m.pc + 1].imm
    elif pseudo == "func":
        value = CODE_BASE + m.pc + insn.imm + 1
    else:
        raise _Stop("illegal", f"lddw with pseudo source {pseudo} is not supported")
    m.set_reg(insn.dst, value)
    m.pc += 2
    return False


SKF_NET_OFF, SKF_LL_OFF = -0x100000, -0x200000  # negative LD_ABS offsets: network, link layer


def _do_ld_packet(m: Machine, insn, info) -> bool:
    offset = insn.imm + (m.reg(insn.src) if info.kind == "ld_ind" else 0)
    offset = sext(offset, 32)
    pkt, size = m.packet, info.size
    data = bytes(pkt.data) if pkt is not None else b""
    if SKF_LL_OFF <= offset < 0 and m.frame is not None:
        # the kernel's bpf_internal_load_pointer_neg_helper: relative to the network or the
        # link-layer header of the frame
        frame, net = m.frame
        data = frame
        offset = (offset - SKF_NET_OFF + net) if offset >= SKF_NET_OFF else offset - SKF_LL_OFF
    if pkt is None or offset < 0 or offset + size > len(data):
        raise _Stop("exit", "LD_ABS/LD_IND outside the packet ends the program", r0=0)
    m.regs[0] = int.from_bytes(data[offset : offset + size], "big")
    m.pc += 1
    return False


_KIND = {"alu": _do_alu, "mov": _do_mov, "movsx": _do_movsx, "neg": _do_neg, "end": _do_end,
         "bswap": _do_end, "jcond": _do_jcond, "ja": _do_ja, "call": _do_call,
         "exit": _do_exit, "load": _do_load, "loadsx": _do_load, "store_imm": _do_store,
         "store_reg": _do_store, "atomic": _do_atomic, "lddw": _do_lddw,
         "ld_abs": _do_ld_packet, "ld_ind": _do_ld_packet}


def run(program: Program, mem: bytes = b"", *, prog_type: str | None = None,
        packet: bool = False, budget: int = DEFAULT_BUDGET,
        maps: dict[int, MapSpec] | None = None, seed: int = 0x2545F491) -> RunResult:
    """Run ``program`` on input ``mem`` (see the module docstring for the convention)."""
    from kernel_lsp.ebpf.run.ctxlayout import build_context

    m = Machine(program, seed)
    m.add_maps(program_maps(program) if maps is None else maps)
    m.add_data(program)
    ctx, m.packet = build_context(m.mem, bytes(mem), prog_type or program.prog_type, packet)
    m.ctx = ctx
    if packet and ctx is not m.packet:
        m.frame = (bytes(mem), 14)  # ETH_HLEN: the network header follows the MAC header
    m.new_stack()
    m.regs[1], m.regs[2] = ctx.base, ctx.size
    if not program.insns:
        return RunResult(None, Fault(0, "range", "empty program"), 0)
    return m.run(budget)
