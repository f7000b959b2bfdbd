"""The instruction forms of eBPF assembly: one cleaned line of text -> its encoded slots.

Lines are first *squeezed* (whitespace collapsed, and dropped wherever a neighbour is
punctuation), so ``*(u32 *)(r1 + 4)`` and ``*(u32*)(r1+4)`` read alike; each form is then one
regular expression over the squeezed text. Opcode bits come from :mod:`kernel_lsp.ebpf.isa`.
"""

from __future__ import annotations

import re

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.helpers import HELPER_NAMES
from kernel_lsp.ebpf.insn import Insn

HELPER_IDS = {name: i for i, name in enumerate(HELPER_NAMES)}
SIZE_BITS = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}
ALU_SYMBOLS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "|": "or", "&": "and",
               "<<": "lsh", ">>": "rsh", "%": "mod", "^": "xor", "s>>": "arsh", "s/": "sdiv",
               "s%": "smod"}
JMP_SYMBOLS = {"==": "jeq", "!=": "jne", ">": "jgt", ">=": "jge", "<": "jlt", "<=": "jle",
               "s>": "jsgt", "s>=": "jsge", "s<": "jslt", "s<=": "jsle", "&": "jset"}
LDDW = isa.LDDW_OPCODE


class AsmError(ValueError):
    """A line that is no instruction form; the message is shown to the user."""


_R = r"([rw])(\d+)"
_N = r"([-+]?(?:0[xX][0-9a-fA-F]+|\d+))"
_OPND = r"(?:" + _R + r"|" + _N + r")"
_MEM = r"\(r(\d+)([-+])(0[xX][0-9a-fA-F]+|\d+)\)"
_TAIL = r"(?: ?<[^>]*>)?"
_WORD = r"[A-Za-z0-9_.$#]"


def squeeze(text: str) -> str:
    """Collapse whitespace; keep a single space only between two word characters."""
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(r"(?<!" + _WORD + r") | (?!" + _WORD + r")", "", text)


def num(text: str, bits: int = 32, signed_ok: bool = True) -> int:
    """An integer literal that must fit ``bits`` bits (signed or unsigned interpretation)."""
    value = int(text, 0)
    lo = -(1 << (bits - 1)) if signed_ok else 0
    if not lo <= value < (1 << bits):
        raise AsmError(f"constant {text} does not fit in {bits} bits")
    return value - (1 << bits) if value >= (1 << (bits - 1)) else value


def reg(kind: str, number: str) -> int:
    n = int(number)
    if n > 15:
        raise AsmError(f"no register {kind}{number}")
    return n


def _off(sign: str, text: str) -> int:
    value = int(text, 0)
    return num(str(-value if sign == "-" else value), 16)


def _alu_class(kind: str) -> int:
    return isa.ALU64 if kind == "r" else isa.ALU


def _form_alu(m) -> list[Insn]:
    kind, dst, op, skind, sreg, imm = m.groups()
    opname = ALU_SYMBOLS[op]
    base = opname[1:] if opname in ("sdiv", "smod") else opname
    off = 1 if opname in ("sdiv", "smod") else 0
    code = _alu_class(kind) | isa.ALU_OPS[base]
    if sreg is not None:
        return [Insn(code | isa.X, reg(kind, dst), reg(skind, sreg), off, 0)]
    return [Insn(code | isa.K, reg(kind, dst), 0, off, num(imm))]


def _form_mov(m) -> list[Insn]:
    kind, dst, skind, sreg, imm = m.groups()
    code = _alu_class(kind) | isa.ALU_OPS["mov"]
    if sreg is not None:
        return [Insn(code | isa.X, reg(kind, dst), reg(skind, sreg), 0, 0)]
    return [Insn(code | isa.K, reg(kind, dst), 0, 0, num(imm))]


def _form_movsx(m) -> list[Insn]:
    kind, dst, bits, skind, sreg = m.groups()
    code = _alu_class(kind) | isa.ALU_OPS["mov"] | isa.X
    return [Insn(code, reg(kind, dst), reg(skind, sreg), int(bits), 0)]


def _form_neg(m) -> list[Insn]:
    kind, dst, _k2, _d2 = m.groups()
    return [Insn(_alu_class(kind) | isa.ALU_OPS["neg"], reg(kind, dst), 0, 0, 0)]


def _form_end(m) -> list[Insn]:
    kind, dst, op, bits, _k2, _d2 = m.groups()
    code = {"le": isa.ALU | 0xD0 | isa.K, "be": isa.ALU | 0xD0 | isa.X,
            "bswap": isa.ALU64 | 0xD0 | isa.K}[op]
    return [Insn(code, reg(kind, dst), 0, 0, int(bits))]


def _form_lddw(m) -> list[Insn]:
    kind, dst, imm = m.groups()
    value = int(imm, 0)
    if not -(1 << 63) <= value < (1 << 64):
        raise AsmError(f"constant {imm} does not fit in 64 bits")
    value &= (1 << 64) - 1
    lo, hi = value & 0xFFFFFFFF, value >> 32
    return [Insn(LDDW, reg(kind, dst), 0, 0, num(str(lo))), Insn(0, 0, 0, 0, num(str(hi)))]


def _form_map(m) -> list[Insn]:
    kind, dst, space, ident, value_off = m.groups()
    src = {"fd": 1, "id": 1, "idx": 5}[space] + (1 if value_off is not None else 0)
    second = num(value_off) if value_off is not None else 0
    return [Insn(LDDW, reg(kind, dst), src, 0, num(ident)), Insn(0, 0, 0, 0, second)]


def _form_pseudo_ld(m) -> list[Insn]:
    kind, dst, what, value = m.groups()
    src = 3 if what == "btf_id" else 4
    return [Insn(LDDW, reg(kind, dst), src, 0, num(value)), Insn(0, 0, 0, 0, 0)]


def _form_load(m) -> list[Insn]:
    kind, dst, sign, bits, base, sgn, off = m.groups()
    size = int(bits) // 8
    mode = isa.MODE_MEMSX if sign == "s" else isa.MODE_MEM
    if sign == "s" and size == 8:
        raise AsmError("there is no sign-extending 64-bit load")
    code = isa.LDX | mode | SIZE_BITS[size]
    return [Insn(code, reg(kind, dst), reg("r", base), _off(sgn, off), 0)]


def _form_store(m) -> list[Insn]:
    bits, base, sgn, off, skind, sreg, imm = m.groups()
    size_bits = SIZE_BITS[int(bits) // 8]
    if sreg is not None:
        return [Insn(isa.STX | isa.MODE_MEM | size_bits, reg("r", base), reg(skind, sreg),
                     _off(sgn, off), 0)]
    return [Insn(isa.ST | isa.MODE_MEM | size_bits, reg("r", base), 0, _off(sgn, off),
                 num(imm))]


def _atomic(bits: str, base: str, sgn: str, off: str, src: int, imm: int) -> list[Insn]:
    code = isa.STX | isa.MODE_ATOMIC | (0x18 if bits == "64" else 0x00)
    return [Insn(code, reg("r", base), src, _off(sgn, off), imm)]


def _form_lock(m) -> list[Insn]:
    bits, base, sgn, off, op, skind, sreg = m.groups()
    opname = {"+": "add", "&": "and", "|": "or", "^": "xor"}[op]
    return _atomic(bits, base, sgn, off, reg(skind, sreg), isa.ATOMIC_OPS[opname])


def _form_fetch(m) -> list[Insn]:
    _k, _d, op, bits, base, sgn, off, skind, sreg = m.groups()
    return _atomic(bits, base, sgn, off, reg(skind, sreg), isa.ATOMIC_OPS[op] | isa.FETCH)


def _form_xchg(m) -> list[Insn]:
    _k, _d, bits, base, sgn, off, skind, sreg = m.groups()
    return _atomic(bits, base, sgn, off, reg(skind, sreg), isa.XCHG)


def _form_cmpxchg(m) -> list[Insn]:
    _k, _d, bits, base, sgn, off, _k0, _r0, skind, sreg = m.groups()
    return _atomic(bits, base, sgn, off, reg(skind, sreg), isa.CMPXCHG)


def _form_ldabs(m) -> list[Insn]:
    _k, _d, bits, inner = m.groups()
    size_bits = SIZE_BITS[int(bits) // 8]
    ind = re.fullmatch(r"r(\d+)(?:([-+])(0[xX][0-9a-fA-F]+|\d+))?", inner)
    if ind:
        imm = 0 if ind.group(2) is None else num(("-" if ind.group(2) == "-" else "")
                                                 + ind.group(3))
        return [Insn(isa.LD | isa.MODE_IND | size_bits, 0, reg("r", ind.group(1)), 0, imm)]
    try:
        return [Insn(isa.LD | isa.MODE_ABS | size_bits, 0, 0, 0, num(inner))]
    except ValueError:
        raise AsmError(f"bad packet offset '{inner}'") from None


_FORMS = [
    (re.compile(_R + r"=\*\(([us])(8|16|32|64)\*\)" + _MEM), _form_load),
    (re.compile(_R + r"=\*\(u(8|16|32)\*\)skb\[([^\]]+)\]"), _form_ldabs),
    (re.compile(r"\*\(u(8|16|32|64)\*\)" + _MEM + "=" + _OPND), _form_store),
    (re.compile(r"lock ?\*\(u(32|64)\*\)" + _MEM + r"([-+&|^])=" + _R), _form_lock),
    (re.compile(_R + r"=atomic_fetch_(add|and|or|xor)\(\(u(32|64)\*\)" + _MEM + "," + _R
                + r"\)"), _form_fetch),
    (re.compile(_R + r"=xchg(?:32)?_(32|64)\(r(\d+)([-+])(0[xX][0-9a-fA-F]+|\d+)," + _R
                + r"\)"), _form_xchg),
    (re.compile(_R + r"=cmpxchg(?:32)?_(32|64)\(r(\d+)([-+])(0[xX][0-9a-fA-F]+|\d+)," + _R
                + "," + _R + r"\)"), _form_cmpxchg),
    (re.compile(_R + "=" + _N + " ll"), _form_lddw),
    (re.compile(_R + r"=map\[(fd|id|idx):(\d+)\](?:\[0\]\+" + _N + ")?"), _form_map),
    (re.compile(_R + r"=(btf_id|func)\[(?:pc)?" + _N + r"\]"), _form_pseudo_ld),
    (re.compile(_R + r"=\(s(8|16|32)\)" + _R), _form_movsx),
    (re.compile(_R + r"=(le|be|bswap)(16|32|64) " + _R), _form_end),
    (re.compile(_R + "=-" + _R), _form_neg),
    (re.compile(_R + r" ?(s>>|s/|s%|<<|>>|[-+*/%|&^])=" + _OPND), _form_alu),
    (re.compile(_R + "=" + _OPND), _form_mov),
]


def _jump_target(text: str, field: str):
    """``+N``/``-N`` -> (offset, None); a label -> (0, (field, label))."""
    if re.fullmatch(r"[-+]\d+", text):
        return num(text, 32 if field == "imm" else 16), None
    if re.fullmatch(r"[A-Za-z_.$][\w.$]*", text):
        return 0, (field, text)
    raise AsmError(f"bad jump target '{text}'")


def _parse_jump(body: str):
    m = re.fullmatch(r"(gotol|goto) ?([^<\s]+)" + _TAIL, body)
    if m:
        field = "imm" if m.group(1) == "gotol" else "off"
        value, label = _jump_target(m.group(2), field)
        if field == "imm":
            return [Insn(isa.JMP32 | isa.JA, 0, 0, 0, value)], label
        return [Insn(isa.JMP | isa.JA, 0, 0, value, 0)], label
    m = re.fullmatch(r"if " + _R + r" ?(s?[<>]=?|==|!=|&)" + _OPND + r" ?goto ?([^<\s]+)"
                     + _TAIL, body)
    if not m:
        return None
    kind, dst, op, skind, sreg, imm, target = m.groups()
    cls = isa.JMP if kind == "r" else isa.JMP32
    code = cls | isa.JMP_CONDS[JMP_SYMBOLS[op]]
    off, label = _jump_target(target, "off")
    if sreg is not None:
        return [Insn(code | isa.X, reg(kind, dst), reg(skind, sreg), off, 0)], label
    return [Insn(code | isa.K, reg(kind, dst), 0, off, num(imm))], label


def _parse_call(arg: str):
    code = isa.JMP | isa.CALL
    m = re.fullmatch(r"pc([-+]\d+)", arg)
    if m:
        return [Insn(code, 0, isa.CALL_PSEUDO, 0, num(m.group(1)))], None
    m = re.fullmatch(r"kfunc#" + _N + r"(?::" + _N + ")?", arg)
    if m:
        return [Insn(code, 0, isa.CALL_KFUNC, num(m.group(2) or "0", 16), num(m.group(1)))], None
    m = re.fullmatch(r"(?:(bpf_)?([A-Za-z_]\w*))?(?:#)?" + _N + "?", arg)
    if m and m.group(3) is not None:
        return [Insn(code, 0, 0, 0, num(m.group(3)))], None
    if m and m.group(2):
        helper = HELPER_IDS.get(m.group(2))
        if helper is not None:
            return [Insn(code, 0, 0, 0, helper)], None
        return [Insn(code, 0, isa.CALL_PSEUDO, 0, 0)], ("imm", (m.group(1) or "") + m.group(2))
    raise AsmError(f"bad call target '{arg}'")


def _parse_raw(args: str) -> list[Insn]:
    parts = args.split(",")
    if len(parts) != 5:
        raise AsmError(".insn needs 5 fields: opcode, dst, src, off, imm")
    op, dst, src = (int(p, 0) for p in parts[:3])
    if not (0 <= op < 256 and 0 <= dst < 16 and 0 <= src < 16):
        raise AsmError(".insn opcode must fit 8 bits and registers 4 bits")
    return [Insn(op, dst, src, num(parts[3], 16), num(parts[4]))]


def parse_line(text: str):
    """Encode one instruction line: ``(slots, label_ref)`` where ``label_ref`` is
    ``(field, label)`` when a jump/call target must still be resolved, else None."""
    body = squeeze(text)
    try:
        if body == "exit":
            return [Insn(isa.JMP | isa.EXIT, 0, 0, 0, 0)], None
        if body.startswith(".insn "):
            return _parse_raw(body[6:]), None
        call = re.fullmatch(r"call ?(\S+)" + _TAIL, body)
        if call:
            return _parse_call(call.group(1))
        jump = _parse_jump(body)
        if jump is not None:
            return jump
        for pattern, build in _FORMS:
            m = pattern.fullmatch(body)
            if m:
                return build(m), None
    except AsmError:
        raise
    except ValueError as exc:
        raise AsmError(f"bad number: {exc}") from None
    raise AsmError(f"cannot parse instruction '{text.strip()}'")
