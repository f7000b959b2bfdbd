"""Stack accesses: bounds, spill and fill of registers, uninitialised bytes, helper buffers.

Implements ``check_stack_access_within_bounds``, ``check_stack_write_{fixed,var}_off``,
``check_stack_read_{fixed,var}_off`` and ``check_stack_range_initialized`` of Linux 6.1 over
:class:`~kernel_lsp.ebpf.verify.dataflow.state.FuncState` slots. ``off`` always includes the
pointer register's fixed offset but not its variable part, as in the kernel.
"""

from __future__ import annotations

from kernel_lsp.ebpf.verify.dataflow import bounds
from kernel_lsp.ebpf.verify.dataflow.env import MAX_VAR_OFF, Env, reject
from kernel_lsp.ebpf.verify.dataflow.regs import (
    NOT_INIT,
    PTR_TO_STACK,
    SCALAR,
    Reg,
    const,
    is_spillable,
    pointer_value,
    unknown,
)
from kernel_lsp.ebpf.verify.dataflow.state import (
    INVALID,
    MAX_STACK,
    MISC,
    REG_SIZE,
    SPILL,
    ZERO,
    FuncState,
    Slot,
    VState,
)


def frame_of(st: VState, reg: Reg) -> FuncState:
    return st.frames[reg.frameno]


def within_bounds(env: Env, st: VState, regno: int, off: int, size: int, helper: bool,
                  write: bool) -> None:
    """``check_stack_access_within_bounds`` (grows the frame's allocated stack)."""
    reg = st.regs[regno]
    frame = frame_of(st, reg)
    extra = " indirect access to" if helper else (" write to" if write else " read from")
    if reg.var.is_const:
        lo = reg.var.value + off if reg.var.value < 1 << 63 else reg.var.value - (1 << 64) + off
        hi = lo + size
    else:
        if reg.smax >= MAX_VAR_OFF or reg.smin <= -MAX_VAR_OFF:
            raise reject("E202", f"invalid unbounded variable-offset{extra} stack R{regno}")
        lo, hi = reg.smin + off, reg.smax + off + size
    min_valid = -MAX_STACK if (write or env.allow_uninit_stack) else -frame.allocated
    bad = lo < min_valid or lo > -1 or hi > 0 or size < 0
    if bad:
        if reg.var.is_const:
            raise reject("E202", f"invalid{extra} stack R{regno} off={off} size={size}")
        raise reject("E202", f"invalid variable-offset{extra} stack R{regno} "
                             f"var_off={reg.var.text()} size={size}")
    need = (-lo + REG_SIZE - 1) // REG_SIZE * REG_SIZE
    frame.grow(need)
    if env.stack_depth.get(frame.subprogno, 0) < need:
        env.stack_depth[frame.subprogno] = need


def _slot(frame: FuncState, byte: int) -> tuple[Slot, int]:
    return frame.stack[byte // REG_SIZE], byte % REG_SIZE


def write_fixed(env: Env, frame: FuncState, st: VState, off: int, size: int,
                value: Reg | None, imm: int | None) -> None:
    """``check_stack_write_fixed_off``: ``value`` is the stored register, ``imm`` a BPF_ST."""
    byte = -off - 1
    spi = byte // REG_SIZE
    slot = frame.stack[spi]
    if not env.allow_ptr_leaks and slot.is_spill and size != REG_SIZE:
        raise reject("E204", "attempt to corrupt spilled pointer on stack")
    if (value is not None and off % REG_SIZE == 0 and value.type == SCALAR
            and not value.is_unbounded and not value.is_null and env.bpf_capable):
        # Linux 6.12 also keeps unbounded scalars and links a spilled value to its register by
        # a new id; both split states that kernel-lsp's pruning (no precision marks) cannot
        # merge again (strobemeta.o: 3x the instructions, test_cls_redirect.o: 1.8x)
        _save(slot, value, size)
        if value.umax.bit_length() > 8 * size:
            slot.spilled.id = 0
    elif value is None and imm is not None and off % REG_SIZE == 0 and imm != 0 \
            and env.bpf_capable:
        _save(slot, const(imm), size)
    elif value is not None and is_spillable(value.type):
        if size != REG_SIZE:
            raise reject("E204", "invalid size of register spill")
        if frame is not st.cur and value.base == PTR_TO_STACK:
            raise reject("E204", "cannot spill pointers to stack into stack frame of the caller")
        _save(slot, value, size)
    else:
        kind = MISC
        slot.spilled = Reg(NOT_INIT)
        if slot.is_spill:
            slot.types = [MISC if t == SPILL else t for t in slot.types]
        if (value is not None and value.is_null) or (value is None and imm == 0):
            kind = ZERO
        for i in range(size):
            slot.types[(byte - i) % REG_SIZE] = kind


def _save(slot: Slot, value: Reg, size: int) -> None:
    """``save_register_state``."""
    slot.spilled = value.copy()
    for i in range(REG_SIZE, REG_SIZE - size, -1):
        slot.types[i - 1] = SPILL
    for i in range(REG_SIZE - size, 0, -1):
        if slot.types[i - 1] == SPILL:
            slot.types[i - 1] = MISC


def write_var(env: Env, frame: FuncState, ptr: Reg, off: int, size: int,
              value: Reg | None, insn_idx: int) -> None:
    """``check_stack_write_var_off``."""
    lo, hi = ptr.smin + off, ptr.smax + off + size
    zero = value is not None and value.is_null
    for i in range(lo, hi):
        slot, j = _slot(frame, -i - 1)
        kind = slot.types[j]
        if not env.allow_ptr_leaks and kind not in (MISC, ZERO):
            raise reject("E206", f"spilled ptr in range of var-offset stack write; "
                                 f"insn {insn_idx}, ptr off: {i}")
        slot.spilled = Reg(NOT_INIT)
        new = ZERO if zero and kind == ZERO else MISC
        if kind == INVALID and not env.allow_uninit_stack:
            raise reject("E206", f"uninit stack in range of var-offset write prohibited for "
                                 f"!root; insn {insn_idx}, off: {i}")
        slot.types[j] = new


def _read_result(frame: FuncState, lo: int, hi: int) -> Reg:
    """``mark_reg_stack_read``: zero if every byte is STACK_ZERO, else an unknown scalar."""
    if all(frame.slot_type(i) == ZERO for i in range(lo, hi)):
        return const(0)
    return unknown()


def read_fixed(env: Env, frame: FuncState, off: int, size: int, want: bool) -> Reg | None:
    """``check_stack_read_fixed_off``; returns the loaded value when ``want``."""
    byte = -off - 1
    slot = frame.stack[byte // REG_SIZE]
    if slot.is_spill:
        spill_size = 1
        i = REG_SIZE - 1
        while i > 0 and slot.types[i - 1] == SPILL:
            spill_size += 1
            i -= 1
        if size != REG_SIZE or spill_size != REG_SIZE:
            if slot.spilled.type != SCALAR:
                raise reject("E204", "invalid size of register fill")
            if not want:
                return None
            if off % REG_SIZE == 0 and size <= spill_size:
                # the low bytes of the spilled value (little-endian); the load truncates it
                out = slot.spilled.copy()
                if out.umax.bit_length() > 8 * size:
                    out.id = 0
                return out
            for i in range(size):
                kind = slot.types[(byte - i) % REG_SIZE]
                if kind in (SPILL, MISC) or (kind == INVALID and env.allow_uninit_stack):
                    continue
                raise reject("E203", f"invalid read from stack off {off}+{i} size {size}")
            return unknown()
        if want:
            return slot.spilled.copy()
        if pointer_value(slot.spilled, env.allow_ptr_leaks):
            raise reject("E306", f"leaking pointer from stack off {off}")
        return None
    for i in range(size):
        kind = slot.types[(byte - i) % REG_SIZE]
        if kind in (MISC, ZERO) or (kind == INVALID and env.allow_uninit_stack):
            continue
        raise reject("E203", f"invalid read from stack off {off}+{i} size {size}")
    return _read_result(frame, off, off + size) if want else None


def read(env: Env, st: VState, regno: int, off: int, size: int, want: bool) -> Reg | None:
    """``check_stack_read``: dispatch on a fixed or variable offset."""
    ptr = st.regs[regno]
    frame = frame_of(st, ptr)
    if not ptr.var.is_const:
        if not want:
            raise reject("E206", f"variable offset stack pointer cannot be passed into helper "
                                 f"function; var_off={ptr.var.text()} off={off} size={size}")
        range_initialized(env, st, regno, off, size, False, False, None)
        return _read_result(frame, ptr.smin + off, ptr.smax + off + size)
    return read_fixed(env, frame, off + _sval(ptr.var.value), size, want)


def write(env: Env, st: VState, regno: int, off: int, size: int, value: Reg | None,
          imm: int | None, insn_idx: int) -> None:
    ptr = st.regs[regno]
    frame = frame_of(st, ptr)
    if ptr.var.is_const:
        write_fixed(env, frame, st, off + _sval(ptr.var.value), size, value, imm)
    else:
        write_var(env, frame, ptr, off, size, value, insn_idx)


def _sval(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def range_initialized(env: Env, st: VState, regno: int, off: int, size: int, zero_ok: bool,
                      helper: bool, meta) -> None:
    """``check_stack_range_initialized``: bytes a helper (or var-offset load) reads."""
    ptr = st.regs[regno]
    frame = frame_of(st, ptr)
    extra = " indirect" if helper else ""
    if size == 0 and not zero_ok:
        raise reject("E405", "invalid zero-sized read")
    within_bounds(env, st, regno, off, size, helper, helper)
    if ptr.var.is_const:
        lo = hi = _sval(ptr.var.value) + off
    else:
        if not env.bypass_spec_v1:
            raise reject("E206", f"R{regno}{extra} variable offset stack access prohibited for "
                                 f"!root, var_off={ptr.var.text()}")
        if meta is not None and meta.raw_mode:
            meta = None
        lo, hi = ptr.smin + off, ptr.smax + off
    if meta is not None and meta.raw_mode:
        meta.access_size, meta.regno = size, regno
        return
    for i in range(lo, hi + size):
        slot, j = _slot(frame, -i - 1)
        kind = slot.types[j]
        if kind == MISC:
            continue
        if kind == ZERO or (kind == INVALID and env.allow_uninit_stack):
            if helper:
                slot.types[j] = MISC
            continue
        if slot.is_spill and (slot.spilled.type == SCALAR or env.allow_ptr_leaks):
            if helper:
                slot.spilled = unknown()
                slot.types = [MISC if t == SPILL else t for t in slot.types]
            continue
        if ptr.var.is_const:
            raise reject("E203", f"invalid{extra} read from stack R{regno} off {lo}+{i - lo} "
                                 f"size {size}")
        raise reject("E203", f"invalid{extra} read from stack R{regno} var_off "
                             f"{ptr.var.text()}+{i - lo} size {size}")


__all__ = ["bounds", "range_initialized", "read", "within_bounds", "write"]
