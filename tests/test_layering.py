"""The import structure follows the data flow (DESIGN §4-5): nothing below ``lsp/`` imports the
LSP libraries, ``findings/`` depends on nothing, ``ebpf/`` sits beside the model (not above the
checks), and no two modules import each other in a circle."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGE = REPO / "kernel_lsp"


def _modules() -> dict[str, set[str]]:
    """module name -> every ``kernel_lsp``/pygls/lsprotocol module it imports (any depth)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{a.name}" for a in node.names)
        out[name] = imported
    return out


MODULES = _modules()


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_nothing_below_lsp_imports_the_lsp_libraries():
    bad = sorted(f"{m} imports {i}" for m, imports in MODULES.items()
                 if not m.startswith("kernel_lsp.lsp") for i in imports
                 if i.split(".")[0] in ("pygls", "lsprotocol"))
    assert not bad, bad


def _deps(module: str) -> set[str]:
    """The kernel_lsp packages a module imports (itself excluded)."""
    return {_package(i) for i in MODULES[module] if i.startswith("kernel_lsp.")} - {
        _package(module), "kernel_lsp.__init__"}


def test_findings_depends_on_nothing_else():
    deps = set().union(*(_deps(m) for m in MODULES if m.startswith("kernel_lsp.findings")))
    assert deps <= {"kernel_lsp"}, deps


def test_ebpf_sits_beside_the_model():
    deps = set().union(*(_deps(m) for m in MODULES if m.startswith("kernel_lsp.ebpf")))
    assert deps <= {"kernel_lsp.findings"}, deps


def test_the_analysis_never_imports_its_consumers():
    consumers = {"kernel_lsp.lsp", "kernel_lsp.batch", "kernel_lsp.cli"}
    analysis = ("kernel_lsp.parse", "kernel_lsp.model", "kernel_lsp.checks", "kernel_lsp.live",
                "kernel_lsp.fixes", "kernel_lsp.navigate", "kernel_lsp.ebpf",
                "kernel_lsp.findings")
    bad = sorted(f"{m} -> {d}" for m in MODULES if m.startswith(analysis)
                 for d in _deps(m) & consumers)
    assert not bad, bad


def test_no_module_import_cycle():
    graph = {m: {i for i in imports if i in MODULES and i != m}
             for m, imports in MODULES.items()}
    # a package's __init__ importing its own submodules is a re-export, not a cycle
    graph = {m: {i for i in deps if not (m.count(".") < i.count(".") and i.startswith(m + "."))}
             for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, path: list[str]) -> bool:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle.extend(path[path.index(n):] + [n] if n in path else [m, n])
                return True
            if n not in state and visit(n, path + [n]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if m not in state and visit(m, [m]):
            break
    assert not cycle, " -> ".join(cycle)
