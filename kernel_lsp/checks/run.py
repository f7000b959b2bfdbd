"""Run every check over a set of files and return their findings (codes: docs/codes.md).

The checks read a ``CheckInputs``; building one is the findings façade's job
(``kernel_lsp.live.workspace``). ``eager_inputs`` reads a whole stored model at once, for
whole-tree runs and tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from kernel_lsp.checks.access import check_access
from kernel_lsp.checks.inputs import CheckInputs, WithoutBodies, WithoutBranches, dead_branches
from kernel_lsp.checks.invocation import check_invocations
from kernel_lsp.checks.layers import check_layers
from kernel_lsp.checks.macrouse import check_macro_uses
from kernel_lsp.checks.structure import check_includes, check_types
from kernel_lsp.checks.typevis import check_type_visibility, unparsed_bodies
from kernel_lsp.checks.unitvis import check_unit_headers
from kernel_lsp.findings import Finding
from kernel_lsp.model.store import Model
from kernel_lsp.model.symbols import Symbols, hosted_set
from kernel_lsp.model.visibility import Visibility, forced_ids


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


def eager_inputs(model: Model, arch: str, file_ids: list[int]) -> CheckInputs:
    """Inputs over a stored model with every symbol and include edge loaded up front."""
    symbols = Symbols.load(model, arch)
    graph = model.include_graph()
    return CheckInputs(model, symbols, graph, Visibility(graph, forced=forced_ids(symbols.paths)),
                       hosted_set(graph, symbols), file_ids)


CHUNK = 512  # files checked together; what visibility computed for them is dropped after


def run_checks(inputs: CheckInputs) -> list[Finding]:
    """Every C check over ``inputs.file_ids``, deduplicated and sorted (no settings applied).

    Files are checked a chunk at a time, every check over the chunk, so that the per-position
    visibility computed for a chunk can be dropped before the next (whole-tree memory)."""
    findings: list[Finding] = []
    ids = inputs.file_ids
    for i in range(0, len(ids), CHUNK):
        chunk = dataclasses.replace(inputs, file_ids=ids[i:i + CHUNK])
        dead = dead_branches(chunk)
        if dead:  # what no compiler reads (``#ifdef NOT_YET``) is not reported either
            chunk = dataclasses.replace(chunk, facts=WithoutBranches(chunk.facts, dead), dead=dead)
        skipped = unparsed_bodies(chunk)
        if skipped:  # what the compiler does not read is not reported either
            chunk = dataclasses.replace(chunk, facts=WithoutBodies(chunk.facts, skipped))
        findings += check_invocations(chunk)
        findings += check_macro_uses(chunk)
        findings += check_types(chunk)
        findings += check_type_visibility(chunk)
        findings += check_unit_headers(chunk)
        findings += check_access(chunk)
        findings += check_includes(chunk)
        findings += check_layers(chunk)
        if len(ids) > CHUNK:
            inputs.visibility.trim()
    unique: dict[tuple, Finding] = {}
    for f in findings:  # a header's own finding wins over the same one seen from a unit,
        # and of several units the first by path (not by file id: ids follow indexing order)
        key = (f.code, f.path, f.line, f.col, f.symbol)
        if key not in unique or _before(f, unique[key]):
            unique[key] = f
    return sorted(unique.values(), key=Finding.sort_key)


def _before(f: Finding, kept: Finding) -> bool:
    """Whether ``f`` should replace ``kept``, the same finding reported first."""
    if "unit" not in kept.context:
        return False
    return "unit" not in f.context or f.context["unit"] < kept.context["unit"]
