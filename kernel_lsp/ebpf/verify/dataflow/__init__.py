"""Tiers T2-T5: the dataflow verifier, abstract interpretation in the Linux 6.1 verifier's terms.

Entry points (pure functions; nothing here imports the language server):

``check(program, options) -> DataflowResult``
    Walk every path of ``program`` (which must have passed the structural tiers) and return the
    first violation as a :class:`~kernel_lsp.ebpf.findings.BpfFinding` (``at insn N``, the
    kernel's wording), the number of processed instructions and, with ``options.log``, a log
    like the kernel's verifier log at level 2.
``abstract_states(program, options) -> dict[int, list[AbstractState]]``
    The distinct abstract states reached before each instruction, each as the log's text
    (``R1=ctx(off=0,imm=0) R10=fp0``) and as ``registers`` (``{"R1": "ctx(off=0,imm=0)",
    "R10": "fp0", "fp-8": "mmmmmmmm"}``), for hovers and explanations.

Modules: ``tnum``/``bounds``/``scalar_alu`` the scalar domain; ``regs``/``state`` registers,
stack slots and frames; ``alu``/``ptralu``/``branch``/``mem``/``stack``/``ctxaccess`` transfer
functions; ``protos``/``protodata``/``helpercall``/``maps``/``calls`` helpers, maps, calls and
exits; ``prune``/``walk`` the path walk with state pruning; ``log`` the log format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_lsp.ebpf import helpers, isa, lsmhooks
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.ebpf.verify.dataflow import calls, helpercall, maps
from kernel_lsp.ebpf.verify.dataflow.env import DataflowOptions, Env, Reject
from kernel_lsp.ebpf.verify.dataflow.walk import AbstractState, Walker

INTERNAL_ERROR = "internal error of kernel-lsp's dataflow tier (rejected to stay sound)"
__all__ = ["INTERNAL_ERROR", "AbstractState", "DataflowOptions", "DataflowResult", "abstract_states", "check"]


@dataclass(slots=True)
class DataflowResult:
    findings: list[BpfFinding]
    processed: int
    log: list[str] = field(default_factory=list)
    states: dict[int, list[AbstractState]] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not any(f.is_error for f in self.findings)


def _subprog_starts(program: Program) -> list[int]:
    starts = {0}
    for i in isa.slot_starts(program.insns):
        insn = program.insns[i]
        if isa.is_local_call(insn) or isa.is_func_ref(insn):
            starts.add(i + insn.imm + 1)
    return sorted(starts)


def _prepare(env: Env) -> None:
    """The checks Linux makes before the walk: calls need CAP_BPF (``add_subprog_and_kfunc``),
    calls to global functions (BTF func_info linkage) are refused as not modelled,
    every map reference names a usable map (``resolve_pseudo_ldimm64``), LD_ABS only in the main
    program without BTF func_info (``check_abnormal_return``)."""
    if env.prog_type == "lsm" and (why := lsmhooks.refusal(env.options.attach_target)):
        env.insn_idx = None
        raise Reject(*why)
    cgroup_storage: dict[str, object] = {}
    for i in isa.slot_starts(env.insns):
        insn = env.insns[i]
        env.insn_idx = i
        if (isa.is_local_call(insn) or isa.is_func_ref(insn)
                or (isa.is_helper_call(insn) is False and insn.opcode == isa.CALL_OPCODE
                    and insn.src == isa.CALL_KFUNC)) and not env.bpf_capable:
            raise Reject("E315", "loading/calling other bpf or kernel functions are allowed "
                                 "for CAP_BPF and CAP_SYS_ADMIN")
        if (isa.is_local_call(insn) or isa.is_func_ref(insn)) \
                and i + insn.imm + 1 in env.global_funcs:
            _global_call(env, insn, env.global_funcs[i + insn.imm + 1])
        if isa.is_lddw(insn) and (insn.src in (1, 2, 5, 6) or i in env.maps
                                  or i in env.unknown_maps):
            m = maps.resolve(env, insn, i)
            if m.kind in ("cgroup_storage", "percpu_cgroup_storage"):
                if cgroup_storage.setdefault(m.kind, m) != m:
                    raise Reject("E313", "only one cgroup storage of each type is allowed")
    nonint = env.nonint_funcs
    for i in isa.slot_starts(env.insns) if nonint else ():
        info, k = env.infos[i], env.subprog_of(i)
        if not k or env.subprog_starts[k] not in nonint or info is None:
            continue
        env.insn_idx = i  # check_btf_func: the hidden exit of LD_ABS, a tail call's return
        if info.kind in ("ld_abs", "ld_ind"):
            raise Reject("E316", "LD_ABS is only allowed in functions that return 'int'.")
        if isa.is_helper_call(env.insns[i]) and \
                env.insns[i].imm == helpers.HELPER_IDS["tail_call"]:
            raise Reject("E309", "tail_call is only allowed in functions that return 'int'.")
    if not env.options.func_info:  # check_abnormal_return: its hidden exit may not return int
        for i in isa.slot_starts(env.insns):
            info = env.infos[i]
            if info is not None and info.kind in ("ld_abs", "ld_ind") and env.subprog_of(i):
                env.insn_idx = i
                raise Reject("E316", "LD_ABS is not allowed in subprogs without BTF")


def _global_call(env: Env, insn, func: tuple) -> None:
    """What kernel-lsp models of a global function (``BTF_FUNC_GLOBAL``): called directly, with
    at most five parameters, each a scalar, a pointer to the program type's context struct or a
    pointer to a type of known size, and a scalar return (``btf_prepare_func_args``); the walk
    then enters it with unknown scalars, the context and maybe-NULL memory of that size as
    arguments, and returns an unknown scalar to the caller."""
    name, params, returns_scalar = func
    if not returns_scalar:
        raise Reject("E315", f"Global function {name}() doesn't return scalar. Only those are "
                             "supported.")
    ctx = calls.CTX_STRUCTS.get(env.prog_type)
    if isa.is_func_ref(insn) or len(params) > 5 or \
            any(p != "scalar" and p.split("@")[0] != f"struct:{ctx}" and "@" not in p
                for p in params):
        raise Reject("E299", f"global function {name}: Linux verifies it once, with pointer "
                             "arguments typed by its BTF prototype (or as a callback), which "
                             "kernel-lsp models only for scalar, context and sized memory "
                             "arguments (not a pointer to void, a function or a struct only "
                             "declared: Linux needs the size)")


def check(program: Program, options: DataflowOptions | None = None,
          states: bool = False) -> DataflowResult:
    """Run the path walk; see the module docstring."""
    options = options or DataflowOptions()
    infos, offsets, unknown = maps.map_infos(program)
    if options.maps is not None:
        infos = options.maps
    env = Env(list(program.insns), options, infos, _subprog_starts(program))
    env.value_off, env.unknown_maps = offsets, unknown
    env.load_time_imms = frozenset(slot for slot, (_, kind) in program.relocations.items()
                                   if kind == "ksym_addr")
    if options.func_info:
        env.global_funcs = dict((program.meta or {}).get("global_funcs") or {})
        env.nonint_funcs = frozenset((program.meta or {}).get("nonint_funcs") or ())
    if options.log:
        env.log = []
    if states:
        env.states_at = {}
    findings: list[BpfFinding] = []
    try:
        _prepare(env)
        Walker(env, program).run()
        env.insn_idx = None
        calls.check_stack_depth(env)
        calls.check_globals_walked(env)
        helpercall.check_poisoned_tail_calls(env)
    except Reject as exc:
        findings.append(finding_at(exc.code, env.insn_idx, exc.message))
        if env.log is not None:
            env.log.append(exc.message)
    except Exception as exc:  # noqa: BLE001 - a verifier bug must reject, never crash
        findings.append(finding_at("E299", env.insn_idx, f"{INTERNAL_ERROR}: "
                                                          f"{type(exc).__name__}: {exc}"))
    if env.log is not None:
        env.log.append(f"processed {env.processed} insns")
    return DataflowResult(findings, env.processed, env.log or [], env.states_at or {})


def abstract_states(program: Program,
                    options: DataflowOptions | None = None) -> dict[int, list[AbstractState]]:
    """The distinct abstract states reached before each instruction (see module docstring)."""
    return check(program, options, states=True).states
