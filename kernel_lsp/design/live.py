"""Demand and policy files in the editor, without LSP types: their diagnostics (schema problems,
each failing invocation at its line with its code), the name under the cursor, the hover text of
an invocation, and the HTML report of the "Verify demand" command."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.design import is_demand_file, is_policy_file
from kernel_lsp.design.demand import parse_demand
from kernel_lsp.design.policy import parse_policy_yaml
from kernel_lsp.design.result import InvocationResult, Run, verdict
from kernel_lsp.findings import CODES

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?(?:@[^\s,\]#'\"]+)?")


@dataclass(frozen=True, slots=True)
class Note:
    """A diagnostic of a specification file (0-based line, byte columns)."""

    line: int
    col: int
    end_col: int
    severity: str  # error | warning | note
    message: str
    code: str | None = None


def _problem_notes(problems, code: str) -> list[Note]:
    return [Note(p.line, p.col, p.end_col if p.end_col and p.end_col > p.col else p.col + 1,
                 "error", p.message, code) for p in problems]


def demand_notes(ws, rel: str, text: str) -> tuple[list[Note], Run | None]:
    """Schema problems and, when the model is ready, each wrong invocation at its line."""
    demand, problems = parse_demand(text, rel)
    notes = _problem_notes(problems, "401_2")
    if demand is None or problems or ws is None or not ws.ready:
        return notes, None
    run = ws.verify([(demand, rel, [])])
    for inv in run.invocations():
        if inv.ok:
            continue
        ref = next(r for p in demand.paths for i in p.invocations
                   if f"{demand.id}/{p.id}/{i.index}" == inv.id for r in (i.callee,))
        notes.append(Note(ref.line, ref.col, ref.end_col, "error", invocation_message(run, inv),
                          inv.code))
    return notes, run


def first_failure(run: Run, inv: InvocationResult):
    """The first failing item of an invocation: an element's, a directory's or the relation's."""
    for k in (*inv.functions, *inv.types):
        el = run.elements.get(k)
        for item in el.items if el else ():
            if not item.ok:
                return item
    return next((i for i in (*inv.dirs, *inv.relation) if not i.ok), None)


def invocation_message(run: Run, inv: InvocationResult) -> str:
    reason = first_failure(run, inv)
    detail = f": {reason.code} {reason.subject}: {reason.message}" if reason else ""
    return (f"{inv.id} {inv.caller};{inv.callee} {verdict(inv.code)} "
            f"[{', '.join(inv.reasons)}]{detail}")


def policy_notes(ws, rel: str, text: str) -> tuple[list[Note], object]:
    """Schema problems, and globs that match no file of the model (warnings)."""
    policy, problems = parse_policy_yaml(text, rel)
    notes = _problem_notes(problems, None)
    if policy is None or ws is None or not ws.ready:
        return notes, policy
    paths = list(ws.ids)
    for dom in policy.domains.values():
        for glob, line in dom.lines.items():
            one = type(policy)(policy.name, rel, {dom.name: _only(dom, glob)})
            if not any(one.domain_of(p) for p in paths):
                col = text.splitlines()[line].find(glob) if line < len(text.splitlines()) else 0
                col = max(col, 0)
                notes.append(Note(line, col, col + len(glob.encode()), "warning",
                                  f"domain '{dom.name}': '{glob}' matches no file of the model"))
    return notes, policy


def _only(dom, glob: str):
    from kernel_lsp.design.policy import Domain, glob_regex

    return Domain(dom.name, [glob], regex=re.compile(f"(?:{glob_regex(glob)})\\Z"))


def spec_notes(ws, rel: str, text: str) -> tuple[list[Note], object]:
    if is_demand_file(rel):
        return demand_notes(ws, rel, text)
    if is_policy_file(rel):
        return policy_notes(ws, rel, text)
    return [], None


def token_at(text: str, line: int, byte_col: int
             ) -> tuple[str, str | None, str | None] | None:
    """(function name, file or None, struct or None) of the chain item or name under the
    cursor (``file_operations.open``: ("open", None, "file_operations"))."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    raw = lines[line].encode("utf-8")
    for m in _TOKEN.finditer(raw.decode("utf-8", "replace")):
        start = len(m.string[:m.start()].encode())
        end = len(m.string[:m.end()].encode())
        if start <= byte_col <= end:
            word = m.group(0)
            name, _, file = word.partition("@")
            struct, _, member = name.rpartition(".")
            return member, file or None, struct or None
    return None


def hover_markdown(run: Run | None, rel: str, line: int) -> str | None:
    """The verdict of the invocation demanded at ``line`` (its callee's chain item)."""
    if run is None:
        return None
    for inv in run.invocations():
        if inv.line != line:
            continue
        out = [f"**{inv.id}** `{inv.caller};{inv.callee}`: **{verdict(inv.code)}** "
               f"({inv.code}, {CODES[inv.code].title})"]
        if inv.reasons:
            out.append("reasons: " + ", ".join(f"`{c}` {CODES[c].title}" for c in inv.reasons))
        items = [i for i in (*inv.relation, *inv.dirs)]
        out += [f"- `{i.code}` {i.subject}: {i.message}" for i in items]
        bad = first_failure(run, inv)
        if bad is not None and bad not in items:
            out.append(f"- `{bad.code}` {bad.subject}: {bad.message}")
        return "\n".join(out)
    return None


def write_html_report(ws, rel: str, text: str) -> tuple[Path, str]:
    """Verify the demand ``rel`` and write its HTML report under ``.kernel-lsp/reports/``;
    (report path, run code)."""
    from kernel_lsp.design.html import format_html

    demand, problems = parse_demand(text, rel)
    run = ws.verify([(demand, rel, problems)])
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", demand.id if demand is not None else rel)
    out = ws.config.index_dir / "reports" / f"{name}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(format_html(run, ws.config.root), encoding="utf-8")
    return out, run.code
