"""Print eBPF instructions in the LLVM / kernel assembly syntax that ``asmtext`` parses back.

``format_insn(program, index)`` prints one slot (an ``lddw`` first slot prints the whole pair;
its second slot prints as an empty string); ``disassemble(program)`` prints one line per
instruction. Forms follow ``llvm-objdump -d``: ``r0 = *(u32 *)(r1 + 4)``, ``if w1 s> w2 goto -3``,
``lock *(u64 *)(r1 + 0) += r2``, ``r0 = cmpxchg_64(r1 + 0, r0, r2)``, ``r1 = 0x1234 ll``.
Where LLVM prints nothing round-trippable this project uses: ``r1 = map[fd:N]`` /
``map[fd:N][0]+K`` / ``map[idx:N]`` (lddw pseudo sources 1, 2, 5, 6), ``r1 = btf_id[N]``,
``r1 = func[pc+N]``, ``call pc+N`` (bpf-to-bpf), ``call kfunc#N`` (``:OFF`` when off != 0), and
``.insn OP, DST, SRC, OFF, IMM`` for any slot with no legal mnemonic, so that
``parse_asm(disassemble(p)).insns == p.insns`` for every program.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.asmforms import ALU_SYMBOLS, JMP_SYMBOLS

_ALU_TEXT = {v: k for k, v in ALU_SYMBOLS.items()}
_JMP_TEXT = {v: k for k, v in JMP_SYMBOLS.items()}
_ATOMIC_TEXT = {"add": "+", "and": "&", "or": "|", "xor": "^"}


def _raw(insn: Insn) -> str:
    return f".insn {insn.opcode:#04x}, {insn.dst}, {insn.src}, {insn.off}, {insn.imm}"


def _r(n: int, width: int = 64) -> str:
    return ("r" if width == 64 else "w") + str(n)


def _mem(base: int, off: int) -> str:
    return f"(r{base} {'-' if off < 0 else '+'} {abs(off)})"


def _rel(value: int) -> str:
    return f"{value:+d}"


def _regs_ok(insn: Insn, info) -> bool:
    """Registers above 10 print only as raw slots (they are not registers)."""
    return (insn.dst <= 10 or not info.dst.reads and not info.dst.writes) and (
        insn.src <= 10 or info.src is isa.Use.NONE)


def _alu(insn: Insn, info) -> str:
    w = info.width
    if info.kind == "mov":
        rhs = _r(insn.src, w) if insn.opcode & isa.X else str(insn.imm)
        return f"{_r(insn.dst, w)} = {rhs}"
    if info.kind == "movsx":
        return f"{_r(insn.dst, w)} = (s{insn.off}){_r(insn.src, w)}"
    if info.kind == "neg":
        return f"{_r(insn.dst, w)} = -{_r(insn.dst, w)}"
    if info.kind in ("end", "bswap"):
        return f"{_r(insn.dst)} = {info.op}{insn.imm} {_r(insn.dst)}"
    rhs = _r(insn.src, w) if insn.opcode & isa.X else str(insn.imm)
    return f"{_r(insn.dst, w)} {_ALU_TEXT[info.op]}= {rhs}"


def _jump(insn: Insn, info) -> str:
    if info.kind == "ja":
        return f"gotol {_rel(insn.imm)}" if info.op == "gotol" else f"goto {_rel(insn.off)}"
    w = info.width
    rhs = _r(insn.src, w) if insn.opcode & isa.X else str(insn.imm)
    return f"if {_r(insn.dst, w)} {_JMP_TEXT[info.op]} {rhs} goto {_rel(insn.off)}"


def _call(insn: Insn) -> str:
    if insn.src == isa.CALL_PSEUDO:
        return f"call pc{_rel(insn.imm)}"
    if insn.src == isa.CALL_KFUNC:
        return f"call kfunc#{insn.imm}" + (f":{insn.off}" if insn.off else "")
    return f"call {insn.imm}"


def _memop(insn: Insn, info) -> str:
    bits = 8 * info.size
    where = _mem(insn.src if info.kind in ("load", "loadsx") else insn.dst, insn.off)
    if info.kind == "load":
        return f"{_r(insn.dst)} = *(u{bits} *){where}"
    if info.kind == "loadsx":
        return f"{_r(insn.dst)} = *(s{bits} *){where}"
    if info.kind == "store_imm":
        return f"*(u{bits} *){where} = {insn.imm}"
    if info.kind == "store_reg":
        return f"*(u{bits} *){where} = {_r(insn.src)}"
    return _atomic(insn, info, bits, where)


def _atomic(insn: Insn, info, bits: int, where: str) -> str:
    w = 64 if bits == 64 else 32
    src = _r(insn.src, w)
    if info.op in _ATOMIC_TEXT:
        return f"lock *(u{bits} *){where} {_ATOMIC_TEXT[info.op]}= {src}"
    if info.op.startswith("fetch_"):
        return f"{src} = atomic_{info.op}((u{bits} *){where}, {src})"
    addr = where[1:-1]
    suffix = "_64" if bits == 64 else "32_32"
    if info.op == "xchg":
        return f"{src} = xchg{suffix}({addr}, {src})"
    return f"{_r(0, w)} = cmpxchg{suffix}({addr}, {_r(0, w)}, {src})"


def _lddw(program: Program, index: int, insn: Insn, info) -> str | None:
    if index + 1 >= len(program.insns):
        return None
    nxt = program.insns[index + 1]
    if (nxt.opcode, nxt.dst, nxt.src, nxt.off) != (0, 0, 0, 0) or insn.off:
        return None
    dst = _r(insn.dst)
    pseudo = isa.LDDW_PSEUDO[insn.src]
    if pseudo == "imm64":
        value = (nxt.imm & 0xFFFFFFFF) << 32 | (insn.imm & 0xFFFFFFFF)
        return f"{dst} = {value:#x} ll"
    if pseudo in ("map_fd", "map_idx", "map_value", "map_idx_value"):
        space = "idx" if "idx" in pseudo else "fd"
        if insn.imm < 0 or (nxt.imm and not pseudo.endswith("value")):
            return None
        tail = f"[0]+{nxt.imm}" if pseudo.endswith("value") else ""
        return f"{dst} = map[{space}:{insn.imm}]{tail}"
    if nxt.imm:
        return None
    if pseudo == "btf_id":
        return f"{dst} = btf_id[{insn.imm}]"
    return f"{dst} = func[pc{_rel(insn.imm)}]"


def _is_second_slot(program: Program, index: int) -> bool:
    """Whether slot ``index`` is the tail of an lddw pair (pairing left to right)."""
    i = 0
    insns = program.insns
    while i < index:
        i += 2 if isa.is_lddw(insns[i]) and i + 1 < len(insns) else 1
    return i != index


def format_insn(program: Program, index: int, *, _paired: bool | None = None) -> str:
    """The assembly text of slot ``index`` ("" for the second slot of a printed lddw)."""
    insn = program.insns[index]
    second = _is_second_slot(program, index) if _paired is None else _paired
    if second:
        prev = program.insns[index - 1]
        return "" if _lddw(program, index - 1, prev, isa.lookup(prev)) is not None else _raw(insn)
    info = isa.lookup(insn)
    if info is None or not _regs_ok(insn, info) or isa.reserved_field_problem(insn):
        return _raw(insn)
    if info.kind == "lddw":
        return _lddw(program, index, insn, info) or _raw(insn)
    if info.kind in ("alu", "mov", "movsx", "neg", "end", "bswap"):
        return _alu(insn, info)
    if info.kind in ("jcond", "ja"):
        return _jump(insn, info)
    if info.kind == "call":
        return _call(insn)
    if info.kind == "exit":
        return "exit"
    if info.kind in ("ld_abs", "ld_ind"):
        return _ldpkt(insn, info)
    return _memop(insn, info)


def _ldpkt(insn: Insn, info) -> str:
    bits = 8 * info.size
    if info.kind == "ld_abs":
        return f"r0 = *(u{bits} *)skb[{insn.imm}]"
    tail = f" {'-' if insn.imm < 0 else '+'} {abs(insn.imm)}" if insn.imm else ""
    return f"r0 = *(u{bits} *)skb[r{insn.src}{tail}]"


def disassemble(program: Program, *, numbered: bool = False) -> str:
    """One line per instruction (``numbered``: prefix ``N:`` slot indices like llvm-objdump)."""
    lines, i, insns = [], 0, program.insns
    while i < len(insns):
        text = format_insn(program, i, _paired=False)
        lines.append(f"{i:5d}:\t{text}" if numbered else text)
        pair = isa.is_lddw(insns[i]) and i + 1 < len(insns)
        if pair and text.startswith(".insn"):
            lines.append(f"{i + 1:5d}:\t{_raw(insns[i + 1])}" if numbered else _raw(insns[i + 1]))
        i += 2 if pair else 1
    return "\n".join(lines) + ("\n" if lines else "")
