"""The verification environment: options, the program's decoded slots, maps, and run-wide state.

``Env`` holds what the Linux verifier keeps in ``bpf_verifier_env`` that is not part of a path's
state: the privilege switches derived from ``unprivileged`` (``allow_ptr_leaks``,
``allow_uninit_stack``, ``bypass_spec_v1/v4``, ``bpf_capable``), the id generator, per-instruction
facts remembered across paths (pointer type of each load/store, ALU sanitation limits), the
processed-instruction counter and the log. A rejection is the exception :class:`Reject`, which
carries the finding code and the kernel-worded message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_lsp.ebpf import isa
from kernel_lsp.ebpf.insn import Insn
from kernel_lsp.ebpf.verify.dataflow.regs import MapInfo

COMPLEXITY_LIMIT_INSNS = 1_000_000
COMPLEXITY_LIMIT_JMP_SEQ = 8192
MAX_VAR_OFF = 1 << 29
MAX_VAR_SIZ = 1 << 29
MAX_PACKET_OFF = 0xFFFF


@dataclass(frozen=True, slots=True)
class DataflowOptions:
    """What the loader tells the verifier (program type, privilege, flags)."""

    prog_type: str = "socket_filter"
    unprivileged: bool = False
    strict_alignment: bool = False  # BPF_F_STRICT_ALIGNMENT
    expected_attach_type: str | None = None  # e.g. "cgroup_inet_egress", "cgroup_inet4_bind"
    attach_target: str | None = None  # the kernel function (LSM hook) the program attaches to
    sleepable: bool = False
    gpl_compatible: bool = True  # the program's license is one the kernel counts as GPL
    test_state_freq: bool = False  # BPF_F_TEST_STATE_FREQ
    max_processed: int = COMPLEXITY_LIMIT_INSNS
    func_info: bool = False  # the loader passed BTF func_info (needed by lddw of a function)
    log: bool = False  # record the per-instruction abstract state
    maps: dict[int, MapInfo] | None = None  # lddw slot -> map; None: from the program's meta
    # the kernel JITs the program with a JIT that supports tail calls from subprograms (x86-64,
    # where Linux 6.1 allows tail calls in programs with bpf-to-bpf calls); False: the
    # interpreter, which refuses them
    jit: bool = True


class Reject(Exception):
    """The program is rejected at the current instruction: a code and the kernel's message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Env:
    insns: list[Insn]
    options: DataflowOptions
    maps: dict[int, MapInfo]
    subprog_starts: list[int]
    infos: list = field(default_factory=list)  # isa.OpInfo | None per slot
    id_gen: int = 0
    insn_idx: int = 0
    prev_insn_idx: int = -1
    processed: int = 0
    jmps_processed: int = 0
    prev_jmps: int = 0
    prev_processed: int = 0
    ptr_type: dict[int, int] = field(default_factory=dict)  # insn -> reg type seen by ld/st
    alu_state: dict[int, tuple[int, int]] = field(default_factory=dict)
    explore_alu_limits: bool = False
    log: list[str] | None = None
    states_at: dict[int, list[str]] | None = None  # insn -> abstract state texts (explain)
    value_off: dict[int, int] = field(default_factory=dict)  # ELF data relocations: offset
    unknown_maps: dict[int, str] = field(default_factory=dict)  # slot -> map symbol
    global_funcs: dict[int, tuple] = field(default_factory=dict)  # BTF-global subprograms
    global_entered: set[int] = field(default_factory=set)  # ... the walk entered
    nonint_funcs: frozenset[int] = frozenset()  # subprograms BTF says return no int
    seen: set[int] = field(default_factory=set)
    call_maps: dict[int, object] = field(default_factory=dict)  # helper call -> map or poison
    stack_depth: dict[int, int] = field(default_factory=dict)  # subprog -> allocated bytes
    tail_calling: set[int] | None = None  # subprograms holding a tail call (calls.py)
    load_time_imms: frozenset[int] = frozenset()  # lddw of a value libbpf sets (ksym address)
    # speculative paths to explore after the current instruction: (insn, regno, value)
    spec_pushes: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.infos = [isa.lookup(i) for i in self.insns]

    # ---- privilege switches (kernel/bpf/verifier.c: bpf_check) ----------------------------
    @property
    def priv(self) -> bool:
        return not self.options.unprivileged

    @property
    def attach(self) -> str | None:
        return self.options.expected_attach_type

    @property
    def allow_ptr_leaks(self) -> bool:
        return self.priv

    @property
    def allow_uninit_stack(self) -> bool:
        return self.priv

    @property
    def bypass_spec_v1(self) -> bool:
        return self.priv

    @property
    def bypass_spec_v4(self) -> bool:
        return self.priv

    @property
    def bpf_capable(self) -> bool:
        return self.priv

    @property
    def prog_type(self) -> str:
        return self.options.prog_type

    def new_id(self) -> int:
        self.id_gen += 1
        return self.id_gen

    def subprog_of(self, insn: int) -> int:
        """Index of the subprogram that contains slot ``insn``."""
        k = 0
        for i, start in enumerate(self.subprog_starts):
            if start <= insn:
                k = i
        return k


def reject(code: str, message: str) -> Reject:
    return Reject(code, message)
