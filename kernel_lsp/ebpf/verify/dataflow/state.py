"""The abstract machine state on one path: call frames of registers and stack slots, references.

``FuncState`` is one frame (``bpf_func_state``): R0..R10, the stack as 8-byte slots (each byte
``?`` uninitialised, ``m`` data, ``0`` zero, ``r`` part of a spilled register, whose abstract
value is kept in ``Slot.spilled``), the acquired references and callback facts. ``VState`` is the
whole path state (``bpf_verifier_state``): the frames, the speculative flag, the held spin lock,
and the checkpoint it descends from (used to count unexplored branches for pruning).
"""

from __future__ import annotations

from collections.abc import Iterator

from kernel_lsp.ebpf.verify.dataflow.regs import (
    NOT_INIT,
    PTR_TO_CTX,
    PTR_TO_STACK,
    Reg,
    not_init,
    pointer,
)

INVALID, SPILL, MISC, ZERO, DYNPTR = "?", "r", "m", "0", "d"
REG_SIZE = 8
MAX_STACK = 512
CALLER_SAVED = (0, 1, 2, 3, 4, 5)


class Slot:
    """Eight stack bytes: their kinds (index ``i`` is byte ``-(8*spi + i) - 1``) and a spill."""

    __slots__ = ("types", "spilled")

    def __init__(self):
        self.types = [INVALID] * REG_SIZE
        self.spilled = not_init()

    def copy(self) -> Slot:
        s = Slot.__new__(Slot)
        s.types = list(self.types)
        s.spilled = self.spilled.copy()
        return s

    @property
    def is_spill(self) -> bool:
        return self.types[REG_SIZE - 1] == SPILL

    def text(self) -> str:
        return "".join(self.types)


class FuncState:
    """One call frame."""

    __slots__ = ("regs", "stack", "callsite", "frameno", "subprogno", "refs",
                 "in_callback_fn", "in_async_callback_fn", "callback_ret", "callback_entry")

    def __init__(self, callsite: int, frameno: int, subprogno: int):
        self.regs = [not_init() for _ in range(11)]
        fp = pointer(PTR_TO_STACK)
        fp.frameno = frameno
        self.regs[10] = fp
        self.stack: list[Slot] = []
        self.callsite = callsite
        self.frameno = frameno
        self.subprogno = subprogno
        self.refs: list[tuple[int, int, int]] = []  # (id, insn_idx, callback frame)
        self.in_callback_fn = False
        self.in_async_callback_fn = False
        self.callback_ret = (0, 0)
        # a callback frame: (its first insn, R1-R5 and the outer frames' stacks at its entry)
        self.callback_entry: tuple | None = None

    def copy(self) -> FuncState:
        f = FuncState.__new__(FuncState)
        f.regs = [r.copy() for r in self.regs]
        f.stack = [s.copy() for s in self.stack]
        f.callsite, f.frameno, f.subprogno = self.callsite, self.frameno, self.subprogno
        f.refs = list(self.refs)
        f.in_callback_fn = self.in_callback_fn
        f.in_async_callback_fn = self.in_async_callback_fn
        f.callback_ret = self.callback_ret
        f.callback_entry = self.callback_entry
        return f

    @property
    def allocated(self) -> int:
        """Allocated stack bytes (``allocated_stack``), a multiple of 8."""
        return len(self.stack) * REG_SIZE

    def grow(self, size: int) -> None:
        """``grow_stack_state``: make at least ``size`` bytes addressable."""
        while len(self.stack) * REG_SIZE < size:
            self.stack.append(Slot())

    def slot_type(self, off: int) -> str:
        """Kind of the stack byte at ``fp + off`` (``off`` in [-512, -1])."""
        byte = -off - 1
        spi = byte // REG_SIZE
        if spi >= len(self.stack):
            return INVALID
        return self.stack[spi].types[byte % REG_SIZE]


class VState:
    """The state of one path through the program."""

    __slots__ = ("frames", "speculative", "active_spin_lock", "parent", "branches",
                 "insn_idx", "reentry")

    def __init__(self):
        self.frames: list[FuncState] = []
        self.speculative = False
        self.active_spin_lock = 0
        self.parent: VState | None = None  # the checkpoint this path continues from
        self.branches = 0  # checkpoints only: paths from here not yet fully explored
        self.insn_idx = 0
        self.reentry = False  # a callback called again, about to run its first insn

    def copy(self) -> VState:
        v = VState.__new__(VState)
        v.frames = [f.copy() for f in self.frames]
        v.speculative = self.speculative
        v.active_spin_lock = self.active_spin_lock
        v.parent = self.parent
        v.branches = 0
        v.insn_idx = self.insn_idx
        v.reentry = False
        return v

    @property
    def cur(self) -> FuncState:
        return self.frames[-1]

    @property
    def regs(self) -> list[Reg]:
        return self.frames[-1].regs

    @property
    def curframe(self) -> int:
        return len(self.frames) - 1

    def all_regs(self) -> Iterator[Reg]:
        """Every register and spilled register of every frame (``bpf_for_each_reg_in_vstate``)."""
        for frame in self.frames:
            yield from frame.regs
            for slot in frame.stack:
                if slot.is_spill:
                    yield slot.spilled

    def replace_regs(self, fn) -> None:
        """Apply ``fn(reg) -> Reg | None`` to every register; a returned Reg replaces it."""
        for frame in self.frames:
            for i, r in enumerate(frame.regs):
                new = fn(r)
                if new is not None:
                    frame.regs[i] = new
            for slot in frame.stack:
                if slot.is_spill:
                    new = fn(slot.spilled)
                    if new is not None:
                        slot.spilled = new


def initial_state(entry_subprog: int = 0) -> VState:
    """R1 = ctx, R10 = fp, everything else uninitialised (``do_check_common``)."""
    st = VState()
    frame = FuncState(-1, 0, entry_subprog)
    frame.regs[1] = pointer(PTR_TO_CTX)
    st.frames.append(frame)
    return st


def is_not_init(r: Reg) -> bool:
    return r.type == NOT_INIT
