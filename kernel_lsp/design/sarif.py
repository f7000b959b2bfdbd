"""The verification report as SARIF 2.1.0: one result per demand, path and invocation (at its
line of the demand file; ``kind: pass`` when right), and one per failing check at its place in
the code, each with the code of the table as its rule (``batch/sarif.py`` builds the rules)."""

from __future__ import annotations

import hashlib
import json

from kernel_lsp.batch.sarif import (
    SARIF_SCHEMA,
    SARIF_VERSION,
    SRCROOT,
    LineTable,
    _uri,
    sarif_driver,
    sarif_rule,
)
from kernel_lsp.config import Config
from kernel_lsp.design.result import Item, Run, verdict
from kernel_lsp.findings import CODES


class _Results:
    def __init__(self, config: Config, index: dict[str, int]):
        self.table = LineTable(config.root)
        self.index = index
        self.out: list[dict] = []

    def location(self, path: str, line: int, col: int | None = None,
                 end_col: int | None = None) -> dict:
        start = self.table.utf16_col(path, line, col or 0) + 1
        region = {"startLine": line + 1, "startColumn": start}
        if end_col is not None and end_col > (col or 0):
            region["endColumn"] = self.table.utf16_col(path, line, end_col) + 1
        return {"physicalLocation": {"artifactLocation": {"uri": _uri(path), "uriBaseId": SRCROOT},
                                     "region": region}}

    def add(self, code: str, message: str, location: dict | None, related=(), **props) -> None:
        passed = code.endswith("_1")
        level = "none" if passed else CODES[code].severity
        result = {"ruleId": code, "ruleIndex": self.index[code], "kind": "pass" if passed
                  else "fail", "level": level, "message": {"text": message}}
        if location is not None:
            result["locations"] = [location]
        if related:
            result["relatedLocations"] = [dict(loc, id=i, message={"text": text})
                                          for i, (loc, text) in enumerate(related)]
        key = f"{code}\0{message}".encode()
        result["partialFingerprints"] = {"kernelLsp/v1": hashlib.sha256(key).hexdigest()[:16]}
        if props:
            result["properties"] = props
        self.out.append(result)


def _failing(inv) -> list[Item]:
    return [i for i in (*inv.dirs, *inv.relation) if not i.code.endswith("_1")]


def _used_codes(run: Run) -> set[str]:
    used = {run.code, "401_2"}
    for d in run.demands:
        used |= {d.code, *(p.code for p in d.paths)}
        for inv in (i for p in d.paths for i in p.invocations):
            used.add(inv.code)
            used |= {i.code for i in (*_failing(inv), *_bad_elements(run, inv))}
    return used


def build_run_sarif(run: Run, config: Config) -> dict:
    """The SARIF log of a verification run; its rules are the codes the run uses."""
    used = _used_codes(run)
    rules = [sarif_rule(entry, config) for entry in CODES.values() if entry.id in used]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    res = _Results(config, index)
    elements_seen: set = set()
    for d in run.demands:
        for p in d.problems:
            res.add("401_2", f"{d.file}: {p.message}", res.location(d.file, p.line, p.col))
        res.add(d.code, f"demand {d.id} ({d.name}): {verdict(d.code)}" + _why(d.reasons),
                res.location(d.file, 0), demand=d.id)
        for p in d.paths:
            res.add(p.code, f"path {d.id}/{p.id} ({p.name}): {verdict(p.code)}" + _why(p.reasons),
                    res.location(d.file, p.line), demand=d.id, path=p.id)
            for inv in p.invocations:
                bad = _failing(inv) + _bad_elements(run, inv)
                related = [(res.location(i.path, i.line, i.col, i.end_col), f"{i.code}: "
                            f"{i.message}") for i in bad if i.path and i.line is not None]
                res.add(inv.code, f"{inv.id} {inv.caller};{inv.callee}: {verdict(inv.code)}" +
                        _why(inv.reasons), res.location(d.file, inv.line, inv.col), related,
                        invocation=inv.id)
                for item in bad:
                    key = (item.code, item.subject, item.path, item.line, item.col)
                    if item.path and item.line is not None and key not in elements_seen:
                        elements_seen.add(key)
                        res.add(item.code, f"{item.subject}: {item.message}",
                                res.location(item.path, item.line, item.col, item.end_col),
                                invocation=inv.id)
    sarif_run = {
        "tool": {"driver": sarif_driver(config, rules)},
        "originalUriBaseIds": {SRCROOT: {"uri": config.root.resolve().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": True,
                         "properties": {"code": run.code, "verdict": verdict(run.code),
                                        "summary": run.summary()}}],
        "results": res.out,
        "columnKind": "utf16CodeUnits",
        "properties": {"code": run.code, "reasons": list(run.reasons),
                       "policies": run.policies},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [sarif_run]}


def _bad_elements(run: Run, inv) -> list[Item]:
    out = []
    for k in (*inv.functions, *inv.types, *inv.files):
        el = run.elements.get(k)
        if el is not None:
            out += [i for i in el.items if not i.code.endswith("_1")]
    return out


def _why(reasons) -> str:
    return f" [{', '.join(reasons)}]" if reasons else ""


def format_run_sarif(run: Run, config: Config) -> str:
    return json.dumps(build_run_sarif(run, config), indent=2, ensure_ascii=False) + "\n"
