"""Run every check over the model for a set of files and return their findings (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Iterable

from kernel_lsp.checks.access import check_access
from kernel_lsp.checks.finding import Finding
from kernel_lsp.checks.invocation import check_invocations
from kernel_lsp.checks.structure import check_includes, check_types
from kernel_lsp.checks.symbols import Symbols, is_system_header
from kernel_lsp.config import Config
from kernel_lsp.model.store import Model
from kernel_lsp.model.visibility import Visibility


class CheckContext:
    """What all checks share in one run: symbols, include visibility, and the files to check."""

    def __init__(self, model: Model, config: Config | None, file_ids: list[int]):
        self.model, self.config, self.file_ids = model, config, file_ids
        self.symbols = Symbols.load(model, config.arch if config is not None else "x86")
        self.graph = model.include_graph()
        self.visibility = Visibility(self.graph)
        self.hosted = {fid for fid, rows in self.graph.items()
                       if any(r is None and is_system_header(t) for _, r, t, *_ in rows)}

    def path(self, fid: int) -> str:
        return self.symbols.paths[fid]


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
    ctx = CheckContext(model, config, select_files(model, paths))
    findings: list[Finding] = []
    findings += check_invocations(ctx)
    findings += check_types(ctx)
    findings += check_access(ctx)
    findings += check_includes(ctx)
    if config is not None:
        findings = [f for f in findings if config.enabled(f.code)]
    unique = {(f.code, f.path, f.line, f.col, f.symbol): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)
