"""The model's self-check (the method's check of its own model): level types referenced but
not modelled, by level; functions declared but never defined; headers no file includes; the
counts by level and relationship kind. Each missing name comes with ranked candidate repairs
(``design/repair.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kernel_lsp.checks.structure import COMPILER_TYPES
from kernel_lsp.config import Config
from kernel_lsp.design.hidden import find_hidden
from kernel_lsp.design.repair import NameIndex
from kernel_lsp.files import read_regular
from kernel_lsp.fixes.derive import derived_prototype
from kernel_lsp.model.store import Model

JSON_VERSION = 1
REPAIRS_FOR = 200  # missing names (most used first) that get candidate repairs


@dataclass(slots=True)
class Missing:
    name: str
    kind: str  # function | struct | union | enum | typedef
    level: int
    uses: int
    path: str
    line: int
    col: int
    repairs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SelfCheck:
    levels: dict
    relationships: dict
    missing: list[Missing]
    undefined: list[tuple[str, str, int]]  # (function, declared in, line) never defined
    unincluded: list[str]

    @property
    def problem_count(self) -> int:
        return len(self.missing)


def _missing_types(model: Model) -> list[tuple[str, str]]:
    defined = set(model.design_defined_type_names())
    typedefs = {n for n, k in defined if k == "typedef"}
    out = []
    for name, kind in model.design_used_type_names():
        if name in COMPILER_TYPES or not kind or kind == "base":
            continue
        if (kind == "typedef" and name not in typedefs) or \
                (kind != "typedef" and (name, kind) not in defined):
            out.append((name, kind))
    macros = model.design_names_among("macros", sorted({n for n, _ in out}))
    return [(n, k) for n, k in out if n not in macros]


def _missing_functions(model: Model, known: set[str]) -> list[str]:
    """Names called (directly) that are no function, macro or variable of the model."""
    names = [n for n in model.design_called_names()
             if n not in known and not n.startswith("__builtin")]
    skip = model.design_names_among("macros", names) | model.design_names_among("variables",
                                                                                 names)
    return [n for n in names if n not in skip]


def _prototype(config: Config, m: Missing) -> str | None:
    """The prototype derived from the first call of a missing function."""
    try:
        source = read_regular(config.root / m.path).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    return derived_prototype(source, m.line, m.col, m.name)


def selfcheck(model: Model, config: Config) -> SelfCheck:
    size = model.design_model_size()
    defined, declared = model.design_function_names()
    missing: list[Missing] = []
    funcs = _missing_functions(model, declared | defined)
    uses = model.design_first_uses("calls", funcs)
    for name in funcs:
        if name in uses:  # a direct call (a member call's name is no function)
            missing.append(Missing(name, "function", 2, *uses[name]))
    types = _missing_types(model)
    uses = model.design_first_uses("type_uses", types)
    for name, kind in types:
        n, path, line, col = uses.get((name, kind), (0, "", 0, 0))
        missing.append(Missing(name, kind, 3, n, path, line, col))
    missing.sort(key=lambda m: (-m.uses, m.name, m.kind))
    index = NameIndex(defined | declared, model.design_type_names())
    for m in missing[:REPAIRS_FOR]:
        proto = _prototype(config, m) if m.kind == "function" else None
        m.repairs = index.suggest(m.name, m.kind, proto)
        hidden = find_hidden(model, config.root, m.name, m.kind, m.path or None)
        if hidden is not None:
            close = sum(1 for r in m.repairs if r.startswith("did you mean"))
            m.repairs.insert(close, f"{hidden}: enable that configuration, or guard the use")
    never = sorted(declared - defined)
    macros = model.design_names_among("macros", never)
    never = [n for n in never if n not in macros]
    sites = model.design_declaration_sites(never)
    undefined = [(n, *sites.get(n, ("", 0))) for n in never]
    return SelfCheck(size["levels"], size["relationships"], missing, undefined,
                     model.design_unincluded_headers())


def as_dict(report: SelfCheck) -> dict:
    by_level: dict[str, int] = {}
    for m in report.missing:
        by_level[m.kind] = by_level.get(m.kind, 0) + 1
    return {
        "version": JSON_VERSION,
        "tool": "kernel-lsp selfcheck",
        "levels": report.levels,
        "relationships": report.relationships,
        "missing": {"count": len(report.missing), "by_kind": dict(sorted(by_level.items())),
                    "items": [{"name": m.name, "kind": m.kind, "level": m.level, "uses": m.uses,
                               "first_use": {"path": m.path, "line": m.line + 1,
                                             "column": m.col + 1},
                               "repairs": m.repairs} for m in report.missing]},
        "declared_never_defined": {"count": len(report.undefined), "items": [
            {"name": n, "path": p, "line": li + 1} for n, p, li in report.undefined]},
        "headers_never_included": {"count": len(report.unincluded),
                                   "items": report.unincluded},
    }


def format_json(report: SelfCheck) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False) + "\n"


def format_text(report: SelfCheck, limit: int = 20) -> str:
    d = as_dict(report)
    out = ["kernel-lsp selfcheck",
           "  level types: " + ", ".join(f"{k} {v}" for k, v in report.levels.items()),
           "  relationships: " + ", ".join(f"{k} {v}" for k, v in report.relationships.items()),
           "", f"REFERENCED BUT NOT MODELLED: {d['missing']['count']} ("
           + ", ".join(f"{k} {v}" for k, v in d["missing"]["by_kind"].items()) + ")"]
    for m in report.missing[:limit]:
        word = "" if m.kind in ("function", "typedef") else f"{m.kind} "
        line = f"  {word}{m.name} ({m.kind}, level {m.level}): {m.uses} use(s), first at " \
               f"{m.path}:{m.line + 1}:{m.col + 1}"
        out.append(line)
        out += [f"      repair: {r}" for r in m.repairs]
    if len(report.missing) > limit:
        out.append(f"  ... {len(report.missing) - limit} more (--limit, or --format json)")
    out += ["", f"DECLARED BUT NEVER DEFINED: {len(report.undefined)} function(s)"]
    out += [f"  {n}  {p}:{li + 1}" for n, p, li in report.undefined[:limit]]
    if len(report.undefined) > limit:
        out.append(f"  ... {len(report.undefined) - limit} more")
    out += ["", f"HEADERS NO FILE INCLUDES: {len(report.unincluded)}"]
    out += [f"  {p}" for p in report.unincluded[:limit]]
    if len(report.unincluded) > limit:
        out.append(f"  ... {len(report.unincluded) - limit} more")
    return "\n".join(out) + "\n"
