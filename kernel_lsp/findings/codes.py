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
    _c("408_2", "error", "layer violation",
       "An invocation or a variable access crosses a domain boundary that the layer policy "
       "forbids: the calling domain may not call the target's domain, the target is not in "
       "its domain's interface, or a lower layer calls a higher one. Call through the "
       "domain's interface, move the code, or change the policy."),
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

# Verification report codes (``kernel-lsp verify``): ``_1`` twins of the checks and the method's
# existence (00L), structure (50L) and verdict (400-403) codes. They appear in reports only.
_REPORT_TABLE = [
    _c("001_1", "note", "base type exists", "A base type (int, char, void, ...) is known."),
    _c("002_1", "note", "function exists",
       "The function (or member function) is defined in the model."),
    _c("002_2", "error", "function does not exist",
       "The demand names a function that the model does not define (020_2 at a call site), a "
       "static function in a file that does not define it, or a member function that its "
       "struct does not have."),
    _c("003_1", "note", "struct type exists",
       "The struct, union, enum or typedef is defined in the model."),
    _c("003_2", "error", "struct type does not exist",
       "A type the verified functions depend on is defined nowhere in the model (020_2)."),
    _c("004_1", "note", "file exists", "The file is in the model."),
    _c("004_2", "error", "file does not exist",
       "The demand names a file (name@path/file.c) that is not in the model."),
    _c("005_1", "note", "dentry exists", "The directory is in the model."),
    _c("006_1", "note", "subsystem exists", "The top-level directory is in the model."),
    _c("501_1", "note", "correct base structure", "A base type has no structure to check."),
    _c("502_1", "note", "correct function structure",
       "Every parameter and return type of the function exists."),
    _c("503_1", "note", "correct struct structure",
       "Every member type (or the underlying type of a typedef) exists."),
    _c("504_1", "note", "correct file structure", "Every #include of the file resolves."),
    _c("505_1", "note", "correct dentry structure",
       "Every file of the directory that the verification depends on has a correct structure."),
    _c("505_2", "warning", "incorrect dentry structure",
       "A file of the directory that the verification depends on has an incorrect structure "
       "(504_2)."),
    _c("506_1", "note", "correct subsystem structure",
       "Every file and directory of the subsystem that the verification depends on has a "
       "correct structure."),
    _c("506_2", "warning", "incorrect subsystem structure",
       "A file or directory of the subsystem that the verification depends on has an "
       "incorrect structure (504_2, 505_2)."),
    _c("404_1", "note", "declared invocation",
       "A declaration of the callee is visible at the call (or, for a designed invocation, "
       "in the caller's file)."),
    _c("405_1", "note", "accessible invocation",
       "The callee is not static in another file, or is a member function reached through an "
       "accessible struct."),
    _c("406_1", "note", "accessible access", "The variable is accessible where it is used."),
    _c("407_1", "note", "accessible type",
       "The type's declaration or definition is visible where the caller needs it."),
    _c("408_1", "note", "layer respected", "The invocation is allowed by every layer policy."),
    _c("400_1", "note", "verification right", "Every verified demand is right."),
    _c("400_2", "error", "verification wrong", "At least one verified demand is wrong."),
    _c("401_1", "note", "demand right", "Every demanding path of the demand is right."),
    _c("401_2", "error", "demand wrong", "At least one demanding path of the demand is wrong."),
    _c("402_1", "note", "demanding path right", "Every invocation of the path is right."),
    _c("402_2", "error", "demanding path wrong",
       "At least one invocation of the path is wrong."),
    _c("403_1", "note", "demanding invocation right",
       "Both functions, every type they depend on and the invocation itself are right."),
    _c("403_2", "error", "demanding invocation wrong",
       "A participating function or a dependent type does not exist or has an incorrect "
       "structure, the invocation is not implemented although required, or it is not allowed "
       "(undeclared, static elsewhere, inaccessible, against a layer policy)."),
]

REPORT_CODES = frozenset(c.id for c in _REPORT_TABLE)

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
    _e("E201", "uninitialised register", "R%d !read_ok",
       "A register is read on some path before anything was written to it (R0 at exit, R1-R5 "
       "after a call, R2-R9 at entry)."),
    _e("E202", "stack access out of bounds", "invalid%s stack R%d off=%d size=%d",
       "A stack access outside the 512 bytes below the frame pointer (or above it)."),
    _e("E203", "uninitialised stack read", "invalid%s read from stack R%d off %d+%d size %d",
       "Stack bytes read (by the program or a helper) that no path wrote before."),
    _e("E204", "invalid spill or fill", "invalid size of register fill",
       "A pointer spilled to the stack is read back, or overwritten, with a size other than "
       "8 bytes, or a spill crosses stack frames."),
    _e("E205", "misaligned access", "misaligned %saccess off %s+%d+%d size %d",
       "An access whose address is not a multiple of its size where alignment is required "
       "(always on the stack; everywhere with BPF_F_STRICT_ALIGNMENT)."),
    _e("E206", "variable-offset stack access", "variable offset stack pointer cannot be passed "
       "into helper function", "A stack access whose offset is not a constant, where the kernel "
       "requires one."),
    _e("E207", "combined stack too large", "combined stack size of %d calls is %d. Too large",
       "The stacks of the frames of a chain of bpf-to-bpf calls exceed 512 bytes together."),
    _e("E299", "not modelled", None,
       "The program uses a feature that kernel-lsp's dataflow tier does not model (BTF types, "
       "kfuncs, dynptrs, some callbacks); it is rejected to stay sound, not because Linux would."),
    _e("E301", "invalid memory access", "R%d invalid mem access '%s'",
       "A load or store through a register that is not a pointer to memory: a scalar, or a "
       "pointer that may be NULL (map_value_or_null, sock_or_null...) before its NULL check."),
    _e("E302", "prohibited pointer arithmetic",
       "R%d pointer arithmetic on %s prohibited, null-check it first",
       "Arithmetic that produces no valid pointer: on a possibly-NULL pointer, on pkt_end or "
       "socket pointers, 32-bit or bitwise operations on pointers, pointer minus pointer, or an "
       "offset out of range."),
    _e("E303", "helper argument type", "R%d type=%s expected=%s",
       "A helper argument is not of a type its prototype accepts."),
    _e("E304", "invalid context access", "invalid bpf_context access off=%d size=%d",
       "A load or store of the context (R1 at entry) outside the fields, sizes or permissions "
       "of the program type's context struct."),
    _e("E305", "modified pointer dereference", "dereference of modified %s ptr R%d off=%d "
       "disallowed", "A context (or similar) pointer is dereferenced after arithmetic moved it."),
    _e("E306", "pointer leak", "R%d leaks addr into %s",
       "An unprivileged program stores a pointer where user space can read it (map, context, "
       "packet, helper argument) or returns it."),
    _e("E307", "pointer comparison", "R%d pointer comparison prohibited",
       "An unprivileged program compares a pointer (other than a NULL check or packet bounds)."),
    _e("E308", "forbidden write or read", "R%d cannot write into %s",
       "A store into read-only memory (sockets, rdonly memory, a read-only map, a packet the "
       "program type may not write, the context through BPF_ST or atomics), or a read of a "
       "write-only map."),
    _e("E309", "helper not allowed here", "cannot pass map_type %d into func %s#%d",
       "A helper called with a map it cannot use, in a context its program type forbids, or "
       "GPL-only by a program whose license is not GPL-compatible."),
    _e("E310", "invalid socket access", "R%d invalid %s access off=%d size=%d",
       "A load through a socket pointer outside the fields of struct bpf_sock/bpf_tcp_sock."),
    _e("E311", "pointer types mixed", "same insn cannot be used with different pointers",
       "One load or store instruction is reached with pointers of incompatible types."),
    _e("E312", "unprivileged pointer arithmetic",
       "R%d pointer arithmetic of map value goes out of range, prohibited for !root",
       "An unprivileged program's pointer arithmetic that the kernel cannot mask against "
       "speculative execution (Spectre v1)."),
    _e("E313", "invalid map reference", "fd %d is not pointing to valid bpf_map",
       "A lddw of a map (src 1, 2, 5 or 6) that names no map, or an out-of-range direct value."),
    _e("E314", "map field rules", "bpf_spin_lock cannot be accessed directly by load/store",
       "A bpf_spin_lock or bpf_timer inside a map value used other than through its helpers."),
    _e("E315", "call and return rules", "cannot return stack pointer to the caller",
       "A subprogram or callback returns something its caller may not receive."),
    _e("E316", "legacy packet load rules",
       "BPF_LD_[ABS|IND] instructions not allowed for this program type",
       "LD_ABS/LD_IND outside socket filters and tc programs, or without R6 = context."),
    _e("E401", "memory region bounds", "invalid access to map value, value_size=%d off=%d size=%d",
       "An access outside a map value, map key, flow keys or memory region."),
    _e("E402", "packet bounds", "invalid access to packet, off=%d size=%d, R%d(id=%d,off=%d,r=%d)",
       "A packet access not proven to end before data_end by a preceding comparison."),
    _e("E403", "unbounded or negative offset",
       "R%d min value is negative, either use unsigned index or do a if (index >=0) check.",
       "A variable offset (or size) that may be negative or has no upper bound."),
    _e("E404", "return value out of range",
       "At program exit the register R0 has value %s should have been in %s",
       "R0 at exit is outside the values the program type (or callback) may return."),
    _e("E405", "zero-sized access", "invalid zero-sized read",
       "A helper reads a buffer of size 0 where the prototype needs at least one byte."),
    _e("E501", "infinite loop", "infinite loop detected at insn %d",
       "A loop that comes back to an identical state: it never terminates."),
    _e("E502", "too complex", "BPF program is too large. Processed %d insn",
       "The path walk processed more than 1,000,000 instructions (or pending branches)."),
    _e("E503", "unreleased reference", "Unreleased reference id=%d alloc_insn=%d",
       "A socket or ring-buffer reference acquired on some path is not released at exit."),
    _e("E504", "invalid release", "R%d must be referenced when passed to release function",
       "A release helper gets something never acquired, or a reference would leak through "
       "a tail call or LD_ABS."),
    _e("E505", "spin lock rules", "bpf_spin_unlock is missing",
       "A bpf_spin_lock held at exit, taken twice, released without being held, or held "
       "across a call."),
]

CODES: dict[str, Code] = {c.id: c for c in (*_C_TABLE, *_REPORT_TABLE, *_EBPF_TABLE)}


def code(code_id: str) -> Code:
    """Return the table entry for ``code_id`` (KeyError for an unknown id)."""
    return CODES[code_id]


def severity_of(code_id: str) -> str:
    """Default severity of a code (KeyError for an unknown id)."""
    return CODES[code_id].severity


def codes_of(family: str) -> dict[str, Code]:
    """The codes of one family (``"c"`` or ``"ebpf"``), in table order."""
    return {k: c for k, c in CODES.items() if c.family == family}
