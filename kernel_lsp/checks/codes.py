"""The error-code table: one source of truth for ids, severities, titles and docs anchors.

Codes follow DESIGN §3: suffix ``_1`` means verified right, ``_2`` an error; the level digit is
1 base, 2 func, 3 struct, 4 file, 5 dentry, 6 subsys.
"""

from __future__ import annotations

from dataclasses import dataclass

DOCS_URL = "https://kernel-lsp.invalid/docs/codes.html"


@dataclass(frozen=True, slots=True)
class Code:
    """One stable finding code."""

    id: str
    severity: str  # "error" | "warning" | "note"
    title: str
    help: str

    @property
    def docs_url(self) -> str:
        return f"{DOCS_URL}#{self.id.replace('_', '-')}"


_TABLE = [
    Code("020_2", "error", "missing level type",
         "A function is called, or a struct/union/enum/typedef name is used, that is defined "
         "(and, for functions, declared) nowhere in the model. Define it, or include the file "
         "that defines it in the indexed tree."),
    Code("404_2", "error", "undeclared invocation",
         "A function that exists elsewhere in the model is called with no declaration visible at "
         "the call (GCC: implicit declaration of function). Include the header that declares it "
         "or add a prototype before the call."),
    Code("405_2", "error", "inaccessible invocation",
         "The called function's only definitions are static in other files, so it cannot be "
         "invoked from here. Remove static at the definition and declare it in a header."),
    Code("406_2", "error", "inaccessible access",
         "A variable is used where it is not accessible: an extern declaration of a variable that "
         "is static in its defining file, or a variable defined in another file with no "
         "declaration in scope."),
    Code("502_2", "error", "incorrect function structure",
         "A function's return or parameter type is a missing level type (see the 020_2 finding "
         "at the use site)."),
    Code("503_2", "error", "incorrect struct structure",
         "A struct/union member or a typedef's underlying type is a missing level type (see the "
         "020_2 finding at the use site)."),
    Code("504_2", "warning", "incorrect file structure",
         "An #include names a file that resolves to nothing on the include path (generated "
         "headers of an unbuilt tree are not reported)."),
]

CODES: dict[str, Code] = {c.id: c for c in _TABLE}


def code(code_id: str) -> Code:
    """Return the table entry for ``code_id`` (KeyError for an unknown id)."""
    return CODES[code_id]


# Severities of codes owned by other analyses (the eBPF validator's E-codes), registered by them.
_OTHER_SEVERITIES: dict[str, str] = {}


def register_severities(table: dict[str, str]) -> None:
    """Let another analysis (e.g. ``kernel_lsp.ebpf.findings``) declare its codes' severities."""
    _OTHER_SEVERITIES.update(table)


def severity_of(code_id: str) -> str:
    """Default severity of any known code (C design codes and registered ones)."""
    known = CODES.get(code_id)
    if known is not None:
        return known.severity
    return _OTHER_SEVERITIES[code_id]
