"""Demand verification, the method's Algorithm 1, over the findings façade.

For every demanding invocation: the existence and structure of both functions and of every type
they depend on, with their files, dentries and subsystems (``elements.py``); then the invocation
itself: implemented (the caller's body calls the callee) when the demand requires it, invocable
(a declaration visible, not static in another file; a member function through an accessible
struct), the caller's accesses (the callee's types, the variables it uses) and every layer
policy. The relation's verdicts are the findings the workspace reports at the call sites, so a
demand and ``kernel-lsp check`` cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel_lsp.checks.layers import judge, reachable_definitions
from kernel_lsp.design.demand import Demand, DemandInvocation
from kernel_lsp.design.elements import Elements, ancestors
from kernel_lsp.design.result import (
    DemandResult,
    InvocationResult,
    Item,
    PathResult,
    Run,
    merge_reasons,
)
from kernel_lsp.files import read_regular
from kernel_lsp.model.visibility import visible

_CALL_CODES = ("020_2", "404_2", "405_2", "408_2")


@dataclass(slots=True)
class Site:
    line: int
    col: int
    end_col: int
    start_byte: int


def _same_expansion(a: dict, b: dict) -> bool:
    """Two functions written by one macro invocation (``SYSCALL_DEFINE3`` writes ``sys_open``
    calling ``__do_sys_open``): the expansion implements the call."""
    return bool(a["generated_by"]) and a["generated_by"] == b["generated_by"] and \
        a["file_id"] == b["file_id"] and a["start_byte"] == b["start_byte"]


class Verifier:
    """One verification run over a workspace (``live.workspace.Workspace``)."""

    def __init__(self, ws):
        self.ws, self.model = ws, ws.model
        self.ctx = ws.check_inputs([])
        self.run = Run(policies=[p.origin for p in ws.config.policies])
        self.elements = Elements(self.model, ws.config.arch, self.run.elements, ws.config.root)
        self._findings: dict[str, list] = {}
        self._closures: dict[tuple, dict] = {}
        self._bad: dict[tuple, tuple] = {}

    # -- the run -----------------------------------------------------------------------------
    def verify(self, demands: list[tuple[Demand | None, str, list]]) -> Run:
        """``demands``: (demand or None, its file, its schema problems) per demand file."""
        self._prefetch([d for d, _f, _p in demands if d is not None])
        for demand, file, problems in demands:
            self.run.demands.append(self._demand(demand, file, problems))
        self.elements.finish_types()
        for inv in self.run.invocations():
            self._conclude(inv)
        for d in self.run.demands:
            for p in d.paths:
                p.reasons = merge_reasons(*(i.reasons for i in p.invocations),
                                          [i.code for i in p.invocations if not i.ok])
                p.code = "402_2" if p.reasons else "402_1"
            d.reasons = merge_reasons(*(p.reasons for p in d.paths),
                                      [p.code for p in d.paths if p.code != "402_1"],
                                      ["401_2"] if d.problems else [])
            d.code = "401_2" if d.reasons or d.problems else "401_1"
        self.run.reasons = merge_reasons(*(d.reasons for d in self.run.demands))
        self.run.code = "400_2" if any(d.code != "401_1" for d in self.run.demands) else "400_1"
        self.run.model_size = self.model.design_model_size()
        return self.run

    def _demand(self, demand: Demand | None, file: str, problems: list) -> DemandResult:
        if demand is None:
            return DemandResult(file, file, file, problems=list(problems))
        out = DemandResult(demand.id, demand.name, file, problems=list(problems))
        for path in demand.paths:
            pr = PathResult(path.id, path.name, path.line)
            for inv in path.invocations:
                pr.invocations.append(self._invocation(f"{demand.id}/{path.id}/{inv.index}", inv))
            out.paths.append(pr)
        return out

    # -- one invocation ----------------------------------------------------------------------
    def _invocation(self, ident: str, inv: DemandInvocation) -> InvocationResult:
        caller = self.elements.function(inv.caller)
        callee = self.elements.function(inv.callee)
        out = InvocationResult(ident, inv.caller.label, inv.callee.label, inv.require,
                               inv.callee.line, inv.callee.col, functions=[caller, callee])
        el_from, el_to = self.run.elements[caller], self.run.elements[callee]
        if not (el_from.existence.ok and el_to.existence.ok):
            return out  # nothing to relate: the verdict comes from the existence items
        if inv.caller.struct:
            out.relation = self._from_member(inv, el_to)
        elif inv.callee.struct:
            out.relation = self._to_member(inv, caller)
        else:
            out.relation = self._direct(inv, caller, callee)
        out.relation += self._accesses(caller, callee)
        return out

    def _sites(self, caller_key, name: str, kind: str) -> list[Site]:
        row = self.elements.rows[caller_key]
        return [Site(li, c, e, b) for b, li, c, e in self.model.design_call_sites(
            row["file_id"], row["name"], name, kind)]

    def _prefetch(self, demands: list[Demand]) -> None:
        """The findings of every demanded caller's body, in one run of the checks."""
        wanted: dict[str, set[str]] = {}
        for d in demands:
            for p in d.paths:
                for inv in p.invocations:
                    key = self.elements.function(inv.caller)
                    row = self.elements.rows.get(key)
                    if row is not None and not inv.caller.struct:
                        wanted.setdefault(row["path"], set()).add(row["name"])
        for path in wanted:
            self._findings[path] = []
        for r in self.ws.body_findings(wanted):
            self._findings.setdefault(r.finding.path, []).append(r.finding)

    def _findings_of(self, path: str) -> list:
        got = self._findings.get(path)
        if got is None:
            got = self._findings[path] = [r.finding for r in self.ws.findings([path])]
        return got

    def _not_implemented(self, inv: DemandInvocation, row: dict) -> Item:
        return Item("403_2", f"{inv.caller.label} -> {inv.callee.label}",
                    f"not implemented: the body of {inv.caller.label} ({row['path']}:"
                    f"{row['name_line'] + 1}) has no call to {inv.callee.label}",
                    row["path"], row["name_line"], row["name_col"], row["name_end_col"])

    def _direct(self, inv: DemandInvocation, caller_key, callee_key) -> list[Item]:
        row = self.elements.rows[caller_key]
        target = self.elements.rows[callee_key]
        name, subject = inv.callee.name, f"{inv.caller.label} -> {inv.callee.label}"
        sites = self._sites(caller_key, name, "direct")
        if target["storage"] == "static" and target["path"] != row["path"] \
                and not target["path"].endswith(".h"):
            at = sites[0] if sites else None
            return [Item("405_2", subject, f"{inv.callee.label} is static in {target['path']} "
                         f"and cannot be invoked from {row['path']}", row["path"],
                         at.line if at else row["name_line"], at.col if at else row["name_col"],
                         at.end_col if at else row["name_end_col"], ("405_2",))]
        if not sites and _same_expansion(row, target):
            where = (row["path"], row["name_line"], row["name_col"], row["name_end_col"])
            return [Item("404_1", subject, f"implemented by the expansion of "
                         f"{row['generated_by']} at {row['path']}:{row['name_line'] + 1}",
                         *where),
                    Item("405_1", subject, "both are generated in the same file", *where)]
        if not sites:
            if inv.require == "implemented":
                return [self._not_implemented(inv, row)]
            return self._designed(inv, row, subject)
        at = sites[0]
        keys = {(s.line, s.col) for s in sites}
        found = [f for f in self._findings_of(row["path"]) if f.code in _CALL_CODES
                 and f.symbol == name and (f.line, f.col) in keys]
        items = [Item(f.code, subject, f.message, f.path, f.line, f.col, f.end_col, (f.code,))
                 for f in found if f.code != "408_2"]
        if not items:
            where = f"{row['path']}:{at.line + 1}:{at.col + 1}"
            items = [Item("404_1", subject, f"called at {where} with a declaration in scope",
                          row["path"], at.line, at.col, at.end_col),
                     Item("405_1", subject, f"{inv.callee.label} ({target['path']}) can be "
                          "invoked from here", row["path"], at.line, at.col, at.end_col)]
        items += self._layers(subject, row, name, at, [f for f in found if f.code == "408_2"])
        return items

    def _layers(self, subject: str, row: dict, name: str, at: Site | None,
                found: list) -> list[Item]:
        if not self.ws.config.policies:
            return []
        if found:
            return [Item("408_2", subject, f.message, f.path, f.line, f.col, f.end_col,
                         ("408_2",)) for f in found]
        line = at.line if at else row["name_line"]
        col = at.col if at else row["name_col"]
        return [Item("408_1", subject, "allowed by " + ", ".join(self.run.policies),
                     row["path"], line, col)]

    def _designed(self, inv: DemandInvocation, row: dict, subject: str) -> list[Item]:
        """A designed invocation with no call: allowed by scope from the caller's file?"""
        ctx, fid, pos, name = self.ctx, row["file_id"], row["end_byte"], inv.callee.name
        entries = ctx.symbols.functions.get(name) or []
        mask = ctx.visibility.before(fid, pos)
        where = (row["path"], row["name_line"], row["name_col"], row["name_end_col"])
        if not any((e.file_id == fid and e.start_byte < pos) or
                   (e.file_id != fid and visible(mask, e.file_id)) for e in entries):
            return [Item("404_2", subject, f"designed but not invocable: no declaration of "
                         f"{name} is visible in {row['path']}", *where, ("404_2",))]
        items = [Item("404_1", subject, f"designed: a declaration of {name} is visible in "
                      f"{row['path']}", *where),
                 Item("405_1", subject, f"{name} can be invoked from {row['path']}", *where)]
        found = []
        for policy in self.ws.config.policies:
            targets = reachable_definitions(ctx, entries, fid, pos)
            got = judge(ctx, policy, fid, name, targets) if targets else None
            if got is not None:
                found.append(Item("408_2", subject, f"layer violation: {got[2]} [policy "
                                  f"{policy.name}]", *where, ("408_2",)))
        return items + (found or self._layers(subject, row, name, None, []))

    def _to_member(self, inv: DemandInvocation, caller_key) -> list[Item]:
        """A call through a function-pointer member: ``x->open(...)``."""
        row = self.elements.rows[caller_key]
        subject = f"{inv.caller.label} -> {inv.callee.label}"
        sites = self._sites(caller_key, inv.callee.name, "member")
        if not sites and inv.require == "implemented":
            return [self._not_implemented(inv, row)]
        pos = sites[0].start_byte if sites else row["end_byte"]
        fid, struct = row["file_id"], inv.callee.struct
        mask = self.ctx.visibility.before(fid, pos)
        defs = [t for t in self.ctx.symbols.types.get(struct) or []
                if t.kind in ("struct", "union") and t.is_definition]
        at = sites[0] if sites else None
        where = (row["path"], at.line if at else row["name_line"],
                 at.col if at else row["name_col"], at.end_col if at else row["name_end_col"])
        if any((t.file_id == fid and t.start_byte < pos) or visible(mask, t.file_id)
               for t in defs):
            return [Item("405_1", subject, f"through struct {struct}, whose definition is "
                         f"visible in {row['path']}", *where)]
        return [Item("407_2", subject, f"struct {struct} is not defined where "
                     f"{inv.caller.label} calls through it", *where, ("407_2",))]

    def _from_member(self, inv: DemandInvocation, callee) -> list[Item]:
        """``struct.member -> f``: f is installed as that member (``.member = f``)."""
        subject = f"{inv.caller.label} -> {inv.callee.label}"
        text = self._text(callee.path) or ""
        pattern = re.compile(rf"(?:\.|->)\s*{re.escape(inv.caller.name)}\s*=\s*&?\s*"
                             rf"{re.escape(inv.callee.name)}\b")
        m = pattern.search(text)
        if m is None:
            if inv.require == "implemented":
                return [Item("403_2", subject, f"not implemented: {callee.path} never assigns "
                             f"{inv.callee.name} to .{inv.caller.name}", callee.path,
                             callee.line)]
            return [Item("405_1", subject, f"designed: {inv.callee.label} can implement "
                         f"{inv.caller.label}", callee.path, callee.line)]
        line = text.count("\n", 0, m.start())
        col = len(text[text.rfind("\n", 0, m.start()) + 1:m.start()].encode())
        return [Item("405_1", subject, f"{inv.callee.name} is installed as .{inv.caller.name} "
                     f"at {callee.path}:{line + 1}", callee.path, line, col)]

    def _text(self, path: str | None) -> str | None:
        if path is None:
            return None
        of = self.ws.open.get(path)
        if of is not None:
            return of.buffer.source.decode("utf-8", "replace")
        try:
            text = read_regular(self.ws.config.root / path).decode("utf-8", "replace")
            return text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read
        except OSError:
            return None

    def _accesses(self, caller_key, callee_key) -> list[Item]:
        """Accessible: the callee's types the caller uses, and the caller's variables."""
        row = self.elements.rows.get(caller_key)
        callee = self.run.elements[callee_key]
        if row is None:
            return []
        wanted = {self.run.elements[t].name for t in callee.types
                  if t[0] == "type" and self.run.elements[t].existence.ok}
        found: dict[tuple[int, int], list] = {}
        for f in self._findings_of(row["path"]):
            if f.code in ("406_2", "407_2", "408_2"):
                found.setdefault((f.line, f.col), []).append(f)
        uses: dict[str, list] = {}
        for name, kind, line, col, _need in self.model.design_type_uses(row["file_id"],
                                                                        row["name"]):
            spelled = name if kind == "typedef" else f"{kind} {name}"
            if spelled in wanted:
                uses.setdefault(spelled, []).append((line, col))
        out = []
        for spelled, sites in uses.items():
            bad = [f for s in sites for f in found.get(s, ()) if f.code == "407_2"]
            if bad:
                f = bad[0]
                out.append(Item("407_2", spelled, f.message, f.path, f.line, f.col, f.end_col,
                                ("407_2",)))
            else:
                out.append(Item("407_1", spelled, f"visible where {row['name']} uses it",
                                row["path"], *sites[0]))
        return out + self._variables(row, found)

    def _variables(self, row: dict, found: dict) -> list[Item]:
        out = []
        syms = self.ctx.symbols
        for name, line, col, end_col in self.model.design_var_uses(row["file_id"], row["name"]):
            bad = [f for f in found.get((line, col), ()) if f.code in ("406_2", "408_2")
                   and f.symbol == name]
            if bad:
                out += [Item(f.code, name, f.message, f.path, line, col, end_col, (f.code,))
                        for f in bad]
            elif any(v.is_definition or v.storage == "extern" for v in syms.variables.get(name)
                     or ()) and name not in syms.functions:
                out.append(Item("406_1", name, f"accessible in {row['name']}", row["path"],
                                line, col, end_col))
        return out

    # -- verdicts ----------------------------------------------------------------------------
    def _closure(self, key) -> tuple[dict, dict, set]:
        """(every type element ``key`` depends on, transitively; the files of those types and
        of ``key``; the codes that make any of them wrong), memoised per element."""
        got = self._closures.get(key)
        if got is not None:
            return got
        els = self.run.elements
        types: dict = {}
        todo = [key]
        while todo:
            el = els.get(todo.pop())
            if el is None:
                continue
            for t in el.types:
                if t not in types:
                    types[t] = None
                    todo.append(t)
        files: dict = {}
        reasons: set = set()
        for k in (key, *types):
            el = els.get(k)
            if el is None:
                continue
            reasons.update(self._failing(k))
            if el.file:
                files[("file", el.file)] = None
        for f in files:
            reasons.update(self._failing(f))
        got = self._closures[key] = (types, files, reasons)
        return got

    def _failing(self, key) -> tuple[str, ...]:
        """The codes that make element ``key`` wrong (memoised)."""
        got = self._bad.get(key)
        if got is None:
            el = self.run.elements.get(key)
            got = self._bad[key] = () if el is None else tuple(
                c for it in el.items if not it.ok for c in it.failing)
        return got

    def _conclude(self, inv: InvocationResult) -> None:
        els = self.run.elements
        (t1, f1, r1), (t2, f2, r2) = (self._closure(k) for k in inv.functions)
        types = dict(t1)
        types.update(t2)
        inv.types = list(types)
        files = dict(f1)
        files.update(f2)
        bad_files = [k[1] for k in files
                     if els[k].structure and not els[k].structure.code.endswith("_1")]
        dirs: dict[str, None] = {}
        for k in files:
            dirs.update((d, None) for d in ancestors(k[1]))
        inv.files = list(files) + [("subsys" if "/" not in d else "dentry", d) for d in dirs]
        inv.dirs = [self._dir_structure(d, bad_files) for d in dirs]
        reasons = r1 | r2
        reasons.update(c for it in (*inv.dirs, *inv.relation) if not it.ok for c in it.failing)
        inv.reasons = tuple(sorted(reasons))
        inv.code = "403_2" if inv.reasons else "403_1"

    @staticmethod
    def _dir_structure(d: str, bad_files: list[str]) -> Item:
        top = "/" not in d
        bad = [f for f in bad_files if f.startswith(d + "/")]
        if bad:
            return Item("506_2" if top else "505_2", d, f"{bad[0]} has an incorrect structure",
                        d, reasons=("504_2",))
        return Item("506_1" if top else "505_1", d, "its files here have a correct structure", d)
