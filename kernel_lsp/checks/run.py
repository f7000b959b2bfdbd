"""Run every check over the model for a set of files and return their findings (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Iterable

from kernel_lsp.checks.access import check_access
from kernel_lsp.checks.invocation import check_invocations
from kernel_lsp.checks.structure import check_includes, check_types
from kernel_lsp.checks.symbols import Symbols, is_system_header
from kernel_lsp.config import Config
from kernel_lsp.findings import Finding
from kernel_lsp.model.store import Model
from kernel_lsp.model.visibility import Visibility


class CheckContext:
    """What all checks share in one run: symbols, include visibility, and the files to check."""

    def __init__(self, model: Model, config: Config | None, file_ids: list[int]):
        symbols = Symbols.load(model, config.arch if config is not None else "x86")
        graph = model.include_graph()
        self.assemble(model, config, file_ids, symbols, graph, Visibility(graph))

    @classmethod
    def from_parts(cls, model, config: Config | None, file_ids: list[int], symbols: Symbols,
                   graph: dict, visibility: Visibility, hosted: set[int]) -> CheckContext:
        """A context over state kept alive between runs (the language server's session)."""
        ctx = cls.__new__(cls)
        ctx.assemble(model, config, file_ids, symbols, graph, visibility, hosted)
        return ctx

    def assemble(self, model, config, file_ids, symbols, graph, visibility, hosted=None) -> None:
        self.model, self.config, self.file_ids = model, config, file_ids
        self.symbols, self.graph, self.visibility = symbols, graph, visibility
        self.hosted = hosted if hosted is not None else hosted_files(graph)

    def path(self, fid: int) -> str:
        return self.symbols.paths[fid]


def hosted_files(graph: dict) -> set[int]:
    """Files that include a C library header: host programs, not kernel code."""
    return {fid for fid, rows in graph.items()
            if any(r is None and is_system_header(t) for _, r, t, *_ in rows)}


def select_files(model: Model, paths: Iterable[str] | None) -> list[int]:
    """File ids under the root-relative ``paths`` (files or directories); all when None."""
    all_paths = model.file_paths()
    if paths is None:
        return sorted(all_paths)
    wanted = [p.strip("/") for p in paths]
    out = []
    for fid, path in all_paths.items():
        for w in wanted:
            if w in ("", ".") or path == w or path.startswith(w + "/"):
                out.append(fid)
                break
    return sorted(out)


def run_checks(model: Model, config: Config | None = None,
               paths: list[str] | None = None) -> list[Finding]:
    """Findings for the files under ``paths`` (root-relative POSIX; None = every file)."""
    return findings_of(CheckContext(model, config, select_files(model, paths)))


def findings_of(ctx: CheckContext) -> list[Finding]:
    """Every check over ``ctx.file_ids``, filtered by the configuration, deduplicated, sorted."""
    findings: list[Finding] = []
    findings += check_invocations(ctx)
    findings += check_types(ctx)
    findings += check_access(ctx)
    findings += check_includes(ctx)
    if ctx.config is not None:
        findings = [f for f in findings if ctx.config.enabled(f.code)]
    unique = {(f.code, f.path, f.line, f.col, f.symbol): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)
