"""Verification: structural tiers T0-T1, then the dataflow tiers T2-T5, as pure phases.

``verify(program, options) -> list[BpfFinding]`` runs, in the Linux 6.1 order:

1. ``size``      — empty program (``E000``), more slots than ``options.max_insns`` (``E002``);
2. ``subprogs``  — call destinations (``E106``), jump ranges (``E101``), last insn (``E103``);
   like the kernel's ``check_subprogs`` this needs only the raw slots, so it always runs;
3. ``encoding``  — per-slot T0 checks (``structural.check_encoding``);
4. ``cfg``       — back-edges (``E105``), unreachable slots (``E104``), jumps into lddw (``E102``);
5. ``calls``     — helper ids and their availability for the program type (``E108``/``E109``),
   call depth (``E107``);
6. ``dataflow``  — the path walk of :mod:`kernel_lsp.ebpf.verify.dataflow` (T2-T5), only when the
   structural phases found no error (like the kernel, it reports the first violation it meets).

Phases 4–5 need a trustworthy slot layout, so they run only when phase 3 found nothing fatal
(an unknown opcode or a broken lddw pair) and phase 2 no out-of-range jump or call.
The default is a privileged Linux 6.1 loader: bounded loops are left to the path walk; with
``unprivileged`` every back-edge is ``E105`` and the walk applies the unprivileged rules.
ISA legality and kernel policy are kept apart: with ``isa_version=4`` (RFC 9669) a shift by an
out-of-range constant or a division by the constant 0 is legal encoding, and only the dataflow
tier reports it, worded as Linux 6.1 policy; ``isa_version=3`` (Linux 6.1) rejects it in T0.
There is no global state: options travel as a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from kernel_lsp.ebpf import helpers, isa, lsmhooks
from kernel_lsp.ebpf.findings import BpfFinding, finding_at
from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.verify import cfg, structural

# kernel/bpf/syscall.c: BPF_COMPLEXITY_LIMIT_INSNS for CAP_BPF, BPF_MAXINSNS otherwise.
PRIVILEGED_MAX_INSNS = 1_000_000
UNPRIVILEGED_MAX_INSNS = 4096


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the loader would know: program type, privilege, loop policy, size limit, flags."""

    prog_type: str = helpers.DEFAULT_PROG_TYPE
    bounded_loops: bool = True  # False: every back-edge is E105 (a loop-free mode)
    max_insns: int | None = None  # None: 1,000,000 privileged, 4,096 unprivileged
    isa_version: int = 4  # 3: reject the v4 additions as Linux 6.1 does
    unprivileged: bool = False  # a loader without CAP_BPF/CAP_PERFMON (Linux's unpriv rules)
    dataflow: bool = True  # run the dataflow tiers T2-T5 after T0-T1
    strict_alignment: bool = False  # BPF_F_STRICT_ALIGNMENT
    expected_attach_type: str | None = None
    attach_target: str | None = None  # None: from an ELF section (``lsm/file_open``)
    func_info: bool = False  # the loader passes BTF func_info
    test_state_freq: bool = False  # BPF_F_TEST_STATE_FREQ
    max_processed: int = 1_000_000  # the path walk's budget (BPF_COMPLEXITY_LIMIT_INSNS)
    maps: dict | None = field(default=None, hash=False, compare=False)  # slot -> MapInfo
    # None: the program's own (an ELF object's ``license`` section and section name); a
    # program that carries no license (raw, assembly, a C array) is loaded as GPL, as Linux's
    # test_verifier loads its programs
    license: str | None = None
    sleepable: bool | None = None  # BPF_F_SLEEPABLE
    jit: bool = True  # a JIT with tail calls from subprograms (x86-64); False: the interpreter

    @property
    def insn_limit(self) -> int:
        if self.max_insns is not None:
            return self.max_insns
        return UNPRIVILEGED_MAX_INSNS if self.unprivileged else PRIVILEGED_MAX_INSNS

    def dataflow_options(self, program: Program, log: bool = False):
        """The dataflow tier's options; what the loader knows of ``program`` fills the gaps
        (BTF func_info from an ELF object's ``.BTF.ext``, its license, a sleepable section)."""
        from kernel_lsp.ebpf.verify.dataflow import DataflowOptions

        meta = program.meta or {}
        func_info = self.func_info or bool(meta.get("func_info"))
        license = self.license if self.license is not None else meta.get("license", "GPL")
        sleepable = self.sleepable if self.sleepable is not None else bool(meta.get("sleepable"))
        return DataflowOptions(prog_type=self.prog_type, unprivileged=self.unprivileged,
                               gpl_compatible=license in helpers.GPL_COMPATIBLE_LICENSES,
                               sleepable=sleepable,
                               strict_alignment=self.strict_alignment,
                               expected_attach_type=self.expected_attach_type,
                               attach_target=self.attach_target
                               or lsmhooks.hook_of_section(program.section),
                               func_info=func_info, test_state_freq=self.test_state_freq,
                               max_processed=self.max_processed, log=log, maps=self.maps,
                               jit=self.jit)


def check_size(insns: list[Insn], options: VerifyOptions) -> list[BpfFinding]:
    if not insns:
        return [finding_at("E000", None, "program has no instructions")]
    if len(insns) > options.insn_limit:
        return [finding_at("E002", None,
                           f"BPF program is too large. {len(insns)} insns, "
                           f"limit {options.insn_limit}")]
    return []


def check_helper_calls(insns: list[Insn], prog_type: str, privileged: bool = True,
                       attach: str | None = None) -> list[BpfFinding]:
    """Helper ids in range (``E108``) and available for ``prog_type`` with expected attach type
    ``attach`` (``E109``)."""
    found = []
    for i in isa.slot_starts(insns):
        insn = insns[i]
        if not isa.is_helper_call(insn):
            continue
        fid, name = insn.imm, helpers.helper_name(insn.imm)
        if not 0 <= fid < helpers.MAX_HELPER_ID:
            found.append(finding_at("E108", i, f"invalid func {name}#{fid}"))
        elif helpers.helper_allowed(prog_type, fid, privileged, attach) is False:
            found.append(finding_at("E109", i, f"unknown func {name}#{fid}"))
    return found


def verify(program: Program, options: VerifyOptions | None = None) -> list[BpfFinding]:
    """All structural findings for ``program``, sorted by instruction index."""
    options = options or VerifyOptions()
    insns = program.insns
    found = check_size(insns, options)
    if found:
        return found
    subs, call_found = cfg.find_subprogs(insns)
    layout = call_found + cfg.check_subprogs(insns, subs)
    encoding = structural.check_encoding(insns, options.isa_version,
                                         kernel_constants=options.isa_version < 4)
    found = layout + encoding
    if any(f.code in structural.FATAL_CODES for f in encoding):
        return _sorted(found)
    if not any(f.code in ("E101", "E106") for f in layout):
        loops_ok = options.bounded_loops and not options.unprivileged
        state, loops = cfg.depth_first(insns, loops_ok)
        found += loops + cfg.check_reachability(insns, state)
        if not loops:
            found += cfg.check_call_depth(insns, subs)
    found += check_helper_calls(insns, options.prog_type, not options.unprivileged,
                                options.expected_attach_type)
    if options.dataflow and accepted(found):
        from kernel_lsp.ebpf.verify import dataflow

        found += dataflow.check(program, options.dataflow_options(program)).findings
    return _sorted(found)


def explain(program: Program, options: VerifyOptions | None = None) -> tuple[list[BpfFinding],
                                                                               list[str]]:
    """Findings plus the dataflow tier's verifier log (empty when T0-T1 reject)."""
    options = options or VerifyOptions()
    found = verify(program, VerifyOptions(**{**_fields(options), "dataflow": False}))
    if not accepted(found):
        return found, []
    from kernel_lsp.ebpf.verify import dataflow

    result = dataflow.check(program, options.dataflow_options(program, log=True))
    return _sorted(found + result.findings), result.log


def abstract_states(program: Program, options: VerifyOptions | None = None) -> dict:
    """The dataflow tier's abstract states before each instruction (``{insn: [AbstractState]}``,
    see :func:`kernel_lsp.ebpf.verify.dataflow.abstract_states`); empty when T0-T1 reject.
    Meant for hovers on the instructions of ``struct bpf_insn`` arrays."""
    options = options or VerifyOptions()
    if not accepted(verify(program, VerifyOptions(**{**_fields(options), "dataflow": False}))):
        return {}
    from kernel_lsp.ebpf.verify import dataflow

    return dataflow.abstract_states(program, options.dataflow_options(program))


def _fields(options: VerifyOptions) -> dict:
    return {f.name: getattr(options, f.name) for f in fields(options)}


def accepted(findings: list[BpfFinding]) -> bool:
    """A program is accepted when no finding is an error."""
    return not any(f.is_error for f in findings)


def _sorted(found: list[BpfFinding]) -> list[BpfFinding]:
    return sorted(found, key=lambda f: (-1 if f.insn is None else f.insn, f.code))
