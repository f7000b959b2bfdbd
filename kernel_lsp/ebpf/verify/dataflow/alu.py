"""ALU instructions on the abstract state (``check_alu_op`` and ``adjust_reg_min_max_vals``).

Moves copy a register's abstract value (a 64-bit move of a scalar links both registers with one
id so that a later comparison refines both); 32-bit operations zero-extend; scalar arithmetic
goes to :mod:`scalar_alu`, arithmetic involving a pointer to :mod:`ptralu`. The constant checks
that Linux applies here (``div by zero``, ``invalid shift``) are the kernel's policy, not the
ISA's: RFC 9669 defines division by zero and masks shift amounts (see ``docs/ebpf-codes.md``).
The ISA v4 additions that Linux 6.1 does not know (``movsx``, ``sdiv``/``smod``, ``bswap``) give an
unknown scalar, which is sound.
"""

from __future__ import annotations

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.verify.dataflow import bounds, ptralu
from kernel_lsp.ebpf.verify.dataflow.env import Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    SCALAR,
    Reg,
    pointer_value,
    set_known,
    type_str,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.scalar_alu import known_scalar, make_unknown, scalar_op
from kernel_lsp.ebpf.verify.dataflow.state import VState

KERNEL_POLICY = " (Linux 6.1 verifier policy; RFC 9669 {})"


def read_reg(st: VState, regno: int) -> Reg:
    """``check_reg_arg(SRC_OP)``."""
    r = st.regs[regno]
    if r.type == 0:  # NOT_INIT
        raise reject("E201", f"R{regno} !read_ok")
    return r


def check_alu(env: Env, st: VState, insn, info: isa.OpInfo) -> None:
    op, kind, alu64 = info.op, info.kind, info.width == 64
    regs = st.regs
    if kind in ("neg", "end", "bswap"):
        read_reg(st, insn.dst)
        if pointer_value(regs[insn.dst], env.allow_ptr_leaks):
            raise reject("E302", f"R{insn.dst} pointer arithmetic prohibited")
        regs[insn.dst] = unknown()
        return
    if kind in ("mov", "movsx"):
        _mov(env, st, insn, alu64, kind == "movsx")
        return
    if insn.opcode & isa.X:
        read_reg(st, insn.src)
    read_reg(st, insn.dst)
    if not insn.opcode & isa.X:
        if op in ("div", "mod", "sdiv", "smod") and insn.imm == 0:
            raise reject("E017", "div by zero" + KERNEL_POLICY.format("defines division by 0"))
        if op in ("lsh", "rsh", "arsh") and not 0 <= insn.imm < info.width:
            raise reject("E016", f"invalid shift {insn.imm}"
                         + KERNEL_POLICY.format("masks the shift amount"))
    if op in ("sdiv", "smod"):
        if regs[insn.dst].type != SCALAR or (insn.opcode & isa.X
                                              and regs[insn.src].type != SCALAR):
            raise reject("E302", f"R{insn.dst} pointer arithmetic with {op} prohibited")
        regs[insn.dst] = unknown()
        return
    _adjust(env, st, insn, op, alu64)


def _mov(env: Env, st: VState, insn, alu64: bool, sx: bool) -> None:
    regs = st.regs
    if not insn.opcode & isa.X:
        r = Reg(SCALAR)
        set_known(r, insn.imm if alu64 else insn.imm & 0xFFFFFFFF)
        regs[insn.dst] = r
        return
    src = read_reg(st, insn.src)
    if sx:
        if src.type != SCALAR and pointer_value(src, env.allow_ptr_leaks):
            raise reject("E302", f"R{insn.src} partial copy of pointer")
        regs[insn.dst] = unknown()
        return
    if alu64:
        if src.type == SCALAR and not src.id:
            src.id = env.new_id()
        regs[insn.dst] = src.copy()
        return
    if pointer_value(src, env.allow_ptr_leaks):
        raise reject("E302", f"R{insn.src} partial copy of pointer")
    if src.type == SCALAR:
        dst = src.copy()
        dst.id = 0
    else:
        dst = unknown()
    bounds.zext_32_to_64(dst)
    bounds.sync(dst)
    regs[insn.dst] = dst


def _adjust(env: Env, st: VState, insn, op: str, alu64: bool) -> None:
    """``adjust_reg_min_max_vals``."""
    regs = st.regs
    dst = regs[insn.dst]
    if dst.type == SCALAR:
        dst.id = 0
    if insn.opcode & isa.X:
        src = regs[insn.src]
        if src.type != SCALAR:
            if dst.type != SCALAR:
                if op == "sub" and env.allow_ptr_leaks:
                    regs[insn.dst] = unknown()
                    return
                raise reject("E302", f"R{insn.dst} pointer {ptralu.OP_SYMBOL[op]} pointer "
                                     "prohibited")
            regs[insn.dst] = ptralu.ptr_op(env, st, insn, op, alu64, src, dst.copy(),
                                           insn.dst, insn.src, ptr_is_dst=False)
            return
        if dst.type != SCALAR:
            regs[insn.dst] = ptralu.ptr_op(env, st, insn, op, alu64, dst, src, insn.dst,
                                           insn.src, ptr_is_dst=True)
            return
    else:
        src = known_scalar(insn.imm)
        if dst.type != SCALAR:
            regs[insn.dst] = ptralu.ptr_op(env, st, insn, op, alu64, dst, src, insn.dst,
                                           insn.src, ptr_is_dst=True)
            return
    if op in ("add", "sub") and insn.opcode & isa.X and not env.bypass_spec_v1 \
            and not bounds.is_inconsistent(src, not alu64):
        ptralu.record_alu_state(env, ("scalar",), 0, op, insn.dst)  # sanitize_val_alu
    new = dst.copy()
    scalar_op(new, src, op, not alu64)
    regs[insn.dst] = new


def unknown_reg() -> Reg:
    r = Reg()
    make_unknown(r)
    return r


__all__ = ["check_alu", "read_reg", "type_str"]
