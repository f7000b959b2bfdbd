"""Verification reports as text and JSON (HTML: ``html.py``; SARIF: ``sarif.py``).

Text follows the method's per-invocation report: ``ID CODE caller;callee RIGHT|ERROR``, then the
participating functions, the dependent types and the relation, each with its verdict. Lines and
columns are 1-based in every format; paths are relative to the root.
"""

from __future__ import annotations

import json
from pathlib import Path

from kernel_lsp.design.result import LEVEL_NAMES, Element, InvocationResult, Item, Run, verdict
from kernel_lsp.findings import CODES

JSON_VERSION = 1


def element_id(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"


def where(item: Item) -> str:
    if not item.path:
        return ""
    if item.line is None:
        return item.path
    col = f":{item.col + 1}" if item.col is not None else ""
    return f"{item.path}:{item.line + 1}{col}"


# ---------------------------------------------------------------- JSON


def json_item(item: Item) -> dict:
    return {"code": item.code, "subject": item.subject, "message": item.message,
            "path": item.path, "line": None if item.line is None else item.line + 1,
            "column": None if item.col is None else item.col + 1,
            "end_column": None if item.end_col is None else item.end_col + 1,
            "reasons": list(item.reasons)}


def json_element(el: Element) -> dict:
    return {"id": element_id(el.key), "level": el.level, "level_name": LEVEL_NAMES[el.level],
            "name": el.name, "path": el.path, "line": None if el.line is None else el.line + 1,
            "existence": json_item(el.existence),
            "structure": json_item(el.structure) if el.structure else None,
            "types": [element_id(t) for t in el.types]}


def json_invocation(inv: InvocationResult) -> dict:
    return {"id": inv.id, "caller": inv.caller, "callee": inv.callee, "require": inv.require,
            "line": inv.line + 1, "column": inv.col + 1, "code": inv.code,
            "verdict": verdict(inv.code), "reasons": list(inv.reasons),
            "functions": [element_id(k) for k in inv.functions],
            "types": [element_id(k) for k in inv.types],
            "files": [element_id(k) for k in inv.files],
            "structure": [json_item(i) for i in inv.dirs],
            "relation": [json_item(i) for i in inv.relation]}


def report_dict(run: Run, root: Path) -> dict:
    """The JSON report as a dict (the HTML report embeds the same data)."""
    return {
        "version": JSON_VERSION,
        "tool": "kernel-lsp verify",
        "root": str(root),
        "code": run.code,
        "verdict": verdict(run.code),
        "reasons": list(run.reasons),
        "summary": run.summary(),
        "policies": run.policies,
        "model": run.model_size,
        "dependent": {"levels": run.level_counts(), "relationships": run.relationship_counts()},
        "demands": [{
            "id": d.id, "name": d.name, "file": d.file, "code": d.code,
            "verdict": verdict(d.code), "reasons": list(d.reasons),
            "problems": [{"line": p.line + 1, "column": p.col + 1, "message": p.message}
                         for p in d.problems],
            "paths": [{"id": p.id, "name": p.name, "line": p.line + 1, "code": p.code,
                       "verdict": verdict(p.code), "reasons": list(p.reasons),
                       "invocations": [json_invocation(i) for i in p.invocations]}
                      for p in d.paths],
        } for d in run.demands],
        "elements": [json_element(e) for e in run.dependent_elements()],
    }


def format_json(run: Run, root: Path) -> str:
    return json.dumps(report_dict(run, root), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- text


def _codes(el: Element) -> str:
    return " ".join(i.code for i in el.items).ljust(11)


def _element_line(el: Element, indent: str) -> str:
    item = el.structure if el.structure and not el.structure.ok else el.existence
    loc = where(el.existence) or (el.path or "")
    text = f"{indent}{_codes(el)} {el.name}"
    if loc and loc != el.name:
        text += f"  {loc}"
    if not item.ok or item.code.startswith("00") and not el.existence.ok:
        text += f"  -- {item.message}"
    return text


def _item_line(item: Item, indent: str) -> str:
    loc = where(item)
    text = f"{indent}{item.code.ljust(11)} {item.subject}"
    if loc and loc != item.subject:
        text += f"  {loc}"
    return f"{text}  -- {item.message}"


def _reasons(codes) -> str:
    return f"  [{', '.join(codes)}]" if codes else ""


def text_invocation(inv: InvocationResult, run: Run, width: int = 14) -> list[str]:
    els = run.elements
    lines = [f"{inv.id.ljust(width)} {inv.code}  {inv.caller};{inv.callee}  {verdict(inv.code)}"
             f"{_reasons(inv.reasons)}"]
    lines.append(f"      {inv.require}, demanded at line {inv.line + 1}")
    lines.append("      functions:")
    lines += [_element_line(els[k], "        ") for k in inv.functions]
    types, files, dirs, hidden = inv.shown(els)
    lines.append(f"      dependent types ({len(inv.types)}):")
    lines += [_element_line(els[k], "        ") for k in types]
    lines.append("      files:")
    lines += [_element_line(els[k], "        ") for k in files]
    lines += [_item_line(d, "        ") for d in dirs]
    if hidden:
        lines.append(f"      ... {hidden} more types and files, right (members, recursively)")
    lines.append("      relation:")
    if inv.relation:
        lines += [_item_line(i, "        ") for i in inv.relation]
    else:
        lines.append("        (not checked: a participating function does not exist)")
    return lines


def format_text(run: Run) -> str:
    s = run.summary()
    out = [f"kernel-lsp verify: {run.code} {verdict(run.code)}{_reasons(run.reasons)}",
           f"  {s['demands']} demand(s), {s['paths']} path(s), {s['invocations']} invocation(s):"
           f" {s['invocations_right']} right, {s['invocations'] - s['invocations_right']} wrong",
           f"  dependent: {_counts(run.level_counts())}",
           f"  relationships: {_counts(run.relationship_counts())}",
           f"  model: {_counts(run.model_size.get('levels', {}))}"]
    if run.policies:
        out.append(f"  layer policies: {', '.join(run.policies)}")
    for d in run.demands:
        out += ["", f"DEMAND {d.id} {d.code} {verdict(d.code)}{_reasons(d.reasons)}",
                f"  {d.name} ({d.file})"]
        out += [f"  {d.file}:{p.line + 1}:{p.col + 1}: error: {p.message}" for p in d.problems]
        for p in d.paths:
            width = max([len(i.id) for i in p.invocations] + [2])
            out += ["", f"  PATH {p.id} {p.code} {verdict(p.code)}{_reasons(p.reasons)}",
                    f"    {p.name} (line {p.line + 1})", "",
                    f"    {'ID'.ljust(width)} CODE   caller;callee  RESULT"]
            for inv in p.invocations:
                out += ["    " + line for line in text_invocation(inv, run, width)]
    out += ["", "DEPENDENT LEVEL TYPES"]
    for el in run.dependent_elements():
        out.append(_element_line(el, "  "))
    out.append("")
    legend = sorted({c for el in run.dependent_elements() for c in (i.code for i in el.items)} |
                    {i.code for inv in run.invocations() for i in (*inv.relation, *inv.dirs)} |
                    {inv.code for inv in run.invocations()} | {run.code})
    out.append("CODES")
    out += [f"  {c}  {CODES[c].title}" for c in legend]
    return "\n".join(out) + "\n"


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
