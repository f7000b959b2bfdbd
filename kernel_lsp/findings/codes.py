"""The one code table: every stable finding code (C design and eBPF) with its severity, title,
help text and docs anchor.

C codes (docs/codes.md): suffix ``_1`` means verified right, ``_2`` an error; the level digit is
1 base, 2 func, 3 struct, 4 file, 5 dentry, 6 subsys. eBPF codes are ``E`` plus a tier digit:
``E0xx`` encoding (T0), ``E1xx`` control flow (T1); ``E2xx`` dataflow, ``E3xx`` types, ``E4xx``
ranges and ``E5xx`` termination belong to the dataflow tiers. ``kernel`` is the Linux 6.1 verifier's
message format for the same problem, when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """One stable finding code."""

    id: str
    severity: str  # "error" | "warning" | "note"
    title: str
    help: str
    kernel: str | None = None  # the Linux verifier's wording (eBPF codes)

    @property
    def family(self) -> str:
        """``"ebpf"`` for the validator's E-codes, ``"c"`` for the design codes."""
        return "ebpf" if self.id.startswith("E") else "c"

    @property
    def page(self) -> str:
        """The docs page (under ``docs/``) that has a section for this code."""
        return "ebpf-codes" if self.family == "ebpf" else "codes"

    @property
    def anchor(self) -> str:
        """The section anchor on :attr:`page` (GitHub's slug of the heading's first word)."""
        return self.id.lower().replace("_", "-")

    def docs_url(self, base: str | None) -> str | None:
        """The link to this code's section under ``base``, the URL where the ``docs/``
        directory is published (``docs_url`` setting); None when no URL is configured."""
        if not base:
            return None
        return f"{base.rstrip('/')}/{self.page}.md#{self.anchor}"


def _c(id_: str, severity: str, title: str, help_: str) -> Code:
    return Code(id_, severity, title, help_)


def _e(id_: str, title: str, kernel: str | None, help_: str, severity: str = "error") -> Code:
    return Code(id_, severity, title, help_, kernel)


_C_TABLE = [
    _c("020_2", "error", "missing level type",
       "A function is called, or a struct/union/enum/typedef name is used, that is defined "
       "(and, for functions, declared) nowhere in the model. Define it, or include the file "
       "that defines it in the indexed tree."),
    _c("404_2", "error", "undeclared invocation",
       "A function that exists elsewhere in the model is called with no declaration visible at "
       "the call (GCC: implicit declaration of function). Include the header that declares it "
       "or add a prototype before the call."),
    _c("405_2", "error", "inaccessible invocation",
       "The called function's only definitions are static in other files, so it cannot be "
       "invoked from here. Remove static at the definition and declare it in a header."),
    _c("406_2", "error", "inaccessible access",
       "A variable is used where it is not accessible: an extern declaration of a variable that "
       "is static in its defining file, or a variable defined in another file with no "
       "declaration in scope."),
    _c("407_2", "error", "inaccessible type",
       "A typedef name, or a struct/union/enum used by value, in sizeof or through member "
       "access, with no declaration (typedef) or definition visible at that point although the "
       "tree has one (GCC: unknown type name, incomplete type). Include the header that defines "
       "it. A pointer to an undeclared struct stays legal."),
    _c("502_2", "error", "incorrect function structure",
       "A function's return or parameter type is a missing level type (see the 020_2 finding "
       "at the use site)."),
    _c("503_2", "error", "incorrect struct structure",
       "A struct/union member or a typedef's underlying type is a missing level type (see the "
       "020_2 finding at the use site)."),
    _c("504_2", "warning", "incorrect file structure",
       "An #include names a file that resolves to nothing on the include path (generated "
       "headers of an unbuilt tree are not reported)."),
]

_EBPF_TABLE = [
    _e("E000", "empty program", None, "The program has no instructions."),
    _e("E001", "truncated instruction", None,
       "Raw bytecode whose length is not a multiple of 8 bytes; the trailing bytes are ignored."),
    _e("E002", "program too large", "BPF program is too large. Processed %d insn",
       "More instructions than the loader accepts (1,000,000 privileged, 4,096 unprivileged)."),
    _e("E003", "input syntax error", None,
       "The input (assembly text or a C struct bpf_insn array) could not be read as instructions."),
    _e("E004", "ELF machine EM_NONE", None,
       "The object's ELF header says EM_NONE (old LLVM wrote that) instead of EM_BPF; it is "
       "loaded as eBPF, as libbpf does.", severity="warning"),
    _e("E005", "unresolved extern symbol", None,
       "A call or load of a symbol the object does not define: a memset/memcpy/memmove/memcmp "
       "clang could not inline, a kfunc or kernel symbol (__ksym) or a Kconfig value "
       "(__kconfig). libbpf refuses the first kind (failed to find BTF for extern) and resolves "
       "the others against the running kernel, which kernel-lsp does not model."),
    _e("E006", "legacy section name", None,
       "The section name is not one libbpf 1.x knows; the program type comes from the older "
       "prefix convention (libbpf < 1.0, samples/bpf's bpf_load.c, iproute2).",
       severity="note"),
    _e("E007", "unrecognized section name", None,
       "No loader convention gives this section a program type; the program is checked as "
       "the default type unless --prog-type says otherwise.", severity="warning"),
    _e("E008", "unreadable map definition", None,
       "A program loads a map whose definition cannot be read (a BTF-defined map in .maps "
       "without BTF, a struct member that is not __uint/__type, a truncated legacy "
       "definition)."),
    _e("E010", "unknown opcode", "unknown opcode %02x",
       "The opcode byte is not a legal encoding of the selected ISA."),
    _e("E011", "reserved field in use", "BPF_%s uses reserved fields",
       "A register, offset or immediate field that must be zero for this opcode is not."),
    _e("E012", "invalid register", "R%d is invalid", "A register number above R10."),
    _e("E013", "write to frame pointer", "frame pointer is read only",
       "R10, the frame pointer, is written; it is read-only."),
    _e("E014", "malformed lddw pair", "invalid bpf_ld_imm64 insn",
       "A 64-bit immediate load (lddw) whose second slot is missing or not all zero but imm."),
    _e("E015", "unrecognized lddw pseudo source", "unrecognized bpf_ld_imm64 insn",
       "A lddw whose source field names no known pseudo source (map fd, map value, BTF id, func)."),
    _e("E016", "invalid shift", "invalid shift %d",
       "A shift by a constant at least the operand width (32 or 64)."),
    _e("E017", "division by constant zero", "div by zero",
       "A division or modulo by the immediate 0."),
    _e("E018", "invalid atomic operation", "BPF_ATOMIC uses invalid atomic opcode %02x",
       "An atomic instruction with an operation or width the ISA does not define."),
    _e("E101", "jump out of range", "jump out of range from insn %d to %d",
       "A jump or call whose target lies outside the program (or its subprogram)."),
    _e("E102", "jump into the middle of lddw", "jump into the middle of ldimm64 insn %d",
       "A jump that lands on the second slot of a lddw."),
    _e("E103", "fall-through at end", "last insn is not an exit or jmp",
       "The last instruction of a (sub)program can fall through past its end."),
    _e("E104", "unreachable code", "unreachable insn %d",
       "An instruction that no path from the entry reaches."),
    _e("E105", "back-edge (loop)", "back-edge from insn %d to %d",
       "A jump backwards: a loop, refused where loops are not allowed."),
    _e("E106", "invalid call destination", "call to invalid destination",
       "A bpf-to-bpf call whose target is not an instruction of the program."),
    _e("E107", "call stack too deep", "the call stack of %d frames is too deep !",
       "Nested bpf-to-bpf calls deeper than 8 frames."),
    _e("E108", "invalid helper id", "invalid func %s#%d", "A call to a helper id that does not exist."),
    _e("E109", "helper not available", "unknown func %s#%d",
       "A helper that exists but is not available to this program type."),
]

CODES: dict[str, Code] = {c.id: c for c in (*_C_TABLE, *_EBPF_TABLE)}


def code(code_id: str) -> Code:
    """Return the table entry for ``code_id`` (KeyError for an unknown id)."""
    return CODES[code_id]


def severity_of(code_id: str) -> str:
    """Default severity of a code (KeyError for an unknown id)."""
    return CODES[code_id].severity


def codes_of(family: str) -> dict[str, Code]:
    """The codes of one family (``"c"`` or ``"ebpf"``), in table order."""
    return {k: c for k, c in CODES.items() if c.family == family}
