"""Finding and Fix: what every check produces, free of any LSP type."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_lsp.findings.codes import severity_of


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text of ``path`` between two 0-based (line, byte column) positions."""

    path: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A titled set of edits that repairs one finding."""

    title: str
    edits: tuple[Edit, ...]
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a check.

    Positions are 0-based lines and 0-based *byte* columns in the file's UTF-8 text; consumers
    convert (the CLI to 1-based, the LSP to the negotiated encoding). ``path`` is POSIX and
    relative to the model root. ``context`` carries what a fix builder needs (e.g. the header
    that declares the missing function), never re-analysis; ``plans`` the planned quick fixes.
    """

    code: str
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    symbol: str
    message: str
    context: dict = field(default_factory=dict, compare=False, hash=False)
    # JSON fix plans (``kernel_lsp.fixes.plan_fixes``), best first; set by the façade when asked
    plans: tuple[dict, ...] = field(default=(), compare=False, hash=False)

    @property
    def severity(self) -> str:
        return severity_of(self.code)

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.col, self.code, self.symbol)
