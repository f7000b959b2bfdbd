"""Conversions between analysis results (byte columns, root-relative paths) and LSP types.

Analysis positions are 0-based lines and UTF-8 byte columns; the client counts in the
negotiated position encoding (UTF-16 unless it offered another). Columns are converted with
the text of the line, from the open buffer when there is one, else from the file on disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from kernel_lsp.files import lone_crs_as_lf
from kernel_lsp.findings import CODES, Edit, Fix, Reported

SOURCE = "kernel-lsp"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "note": types.DiagnosticSeverity.Information}


class Lines:
    """Line access for one file's text, for column conversion."""

    def __init__(self, text: str | bytes | None):
        if isinstance(text, str):
            text = text.encode("utf-8", "surrogatepass")
        self.lines = lone_crs_as_lf(text or b"").split(b"\n")

    def line(self, n: int) -> bytes:
        return self.lines[n] if 0 <= n < len(self.lines) else b""

    def to_client(self, line: int, byte_col: int, encoding: str) -> int:
        prefix = self.line(line)[:max(byte_col, 0)]
        if encoding == types.PositionEncodingKind.Utf8:
            return len(prefix)
        text = prefix.decode("utf-8", "replace")
        if encoding == types.PositionEncodingKind.Utf32:
            return len(text)
        return len(text.encode("utf-16-le")) // 2

    def to_bytes(self, line: int, col: int, encoding: str) -> int:
        raw = self.line(line)
        if encoding == types.PositionEncodingKind.Utf8:
            return min(max(col, 0), len(raw))
        text = raw.decode("utf-8", "replace")
        if encoding == types.PositionEncodingKind.Utf32:
            return len(text[:max(col, 0)].encode("utf-8"))
        units = 0
        for i, ch in enumerate(text):
            if units >= col:
                return len(text[:i].encode("utf-8"))
            units += 2 if ord(ch) > 0xFFFF else 1
        return len(raw)

    def range(self, line: int, col: int, end_line: int, end_col: int, enc: str) -> types.Range:
        return types.Range(types.Position(line, self.to_client(line, col, enc)),
                           types.Position(end_line, self.to_client(end_line, end_col, enc)))


def uri_of(root: Path, path: str) -> str:
    return from_fs_path(str(root / path)) or ""


def path_of(uri: str) -> str | None:
    """The file system path of a ``file:`` URI; None when it names none (another scheme, a
    malformed URI, a NUL byte: ``%00`` decodes to a path no file system call takes)."""
    try:
        path = to_fs_path(uri)
    except Exception:  # noqa: BLE001 - a malformed URI is just not ours
        return None
    return None if path is None or "\x00" in path else path


def diagnostic(item: Reported, lines: Lines, enc: str, docs_url: str | None = None
               ) -> types.Diagnostic:
    """The LSP diagnostic of a reported finding; ``data`` carries what a code action needs.
    It links to the code's docs section only when ``docs_url`` (the setting) is configured."""
    f, level = item.finding, item.severity
    code = CODES.get(f.code)
    href = code.docs_url(docs_url) if code is not None else None
    return types.Diagnostic(
        range=lines.range(f.line, f.col, f.end_line, f.end_col, enc),
        message=f.message, severity=_SEVERITY.get(level, types.DiagnosticSeverity.Error),
        code=f.code, source=SOURCE,
        code_description=types.CodeDescription(href=href) if href else None,
        data={"code": f.code, "path": f.path, "symbol": f.symbol, "line": f.line,
              "col": f.col, "fixes": list(f.plans)})


def file_diagnostics(reported: list[Reported], rel: str, lines: Lines, enc: str, root: Path,
                     docs_url: str | None = None) -> list[types.Diagnostic]:
    """The diagnostics of file ``rel``: its own findings, then those of the headers it
    includes as this unit sees them (``unit_diagnostics``)."""
    own = [diagnostic(s, lines, enc, docs_url) for r in reported if r.finding.path == rel
           for s in sites(r)]
    return own + unit_diagnostics([r for r in reported if r.finding.path != rel
                                   and r.finding.context.get("unit") == rel],
                                  lines, enc, root, docs_url)


def sites(item: Reported) -> list[Reported]:
    """``item``, then one copy at each later line of the same use that its finding names
    (``context["also"]``): an editor marks every line, as a compiler reports every line."""
    f = item.finding
    extra = f.context.get("also") or ()
    return [item, *(dataclasses.replace(item, finding=dataclasses.replace(
        f, line=line, col=col, end_line=line, end_col=end)) for line, col, end in extra)]


def unit_diagnostics(items: list[Reported], lines: Lines, enc: str, root: Path,
                     docs_url: str | None = None) -> list[types.Diagnostic]:
    """The findings a unit's check reports inside the headers it includes (``checks/unitvis``),
    as one diagnostic per include line of the unit that brings such a header in: the header
    uses, as related information; the fixes (an include before that line), as data."""
    groups: dict[tuple[int, int], list[Reported]] = {}
    for item in items:
        ctx = item.finding.context
        groups.setdefault((ctx["unit_line"], ctx["unit_col"]), []).append(item)
    out = []
    for (line, col), group in sorted(groups.items()):
        first = group[0].finding
        names = sorted({g.finding.symbol for g in group})
        homes = {g.finding.symbol: _home(g.finding.context) for g in group}
        missing = ", ".join(f"'{n}' ({homes[n]})" for n in names[:6])
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        fixes, titles = [], set()
        for g in group:
            for plan in g.finding.plans:
                if plan.get("title") not in titles:
                    titles.add(plan.get("title"))
                    fixes.append(plan)
        code = CODES.get(first.code)
        href = code.docs_url(docs_url) if code is not None else None
        related = [types.DiagnosticRelatedInformation(
            types.Location(uri_of(root, g.finding.path), types.Range(
                types.Position(g.finding.line, g.finding.col),
                types.Position(g.finding.end_line, g.finding.end_col))), g.finding.message)
            for g in [s for item in group for s in sites(item)][:20]]
        out.append(types.Diagnostic(
            range=lines.range(line, col, line, first.context["unit_end_col"], enc),
            message=(f"a header this line brings in ({first.path}:{first.line + 1}"
                     f"{f' and {len(group) - 1} more uses' if len(group) > 1 else ''}) needs "
                     f"declarations not visible here: {missing}{more}"),
            severity=_SEVERITY.get(group[0].severity, types.DiagnosticSeverity.Error),
            code=first.code, source=SOURCE, related_information=related,
            code_description=types.CodeDescription(href=href) if href else None,
            data={"code": first.code, "path": first.context["unit"], "symbol": first.symbol,
                  "line": line, "col": col, "fixes": fixes[:8]}))
    return out


def _home(context: dict) -> str:
    """Where a unit-header finding's symbol is declared (a type's or a function's header)."""
    homes = context.get("declared_in") or context.get("defined_in") or ["?"]
    return homes[0]


def workspace_edit(fix: Fix, uri_for: Callable[[str], str],
                   text_of: Callable[[str], str | None], enc: str) -> types.WorkspaceEdit:
    """The fix's edits keyed by ``uri_for`` (the URI an open file's client spells)."""
    changes: dict[str, list[types.TextEdit]] = {}
    for e in fix.edits:
        lines = Lines(text_of(e.path))
        changes.setdefault(uri_for(e.path), []).append(types.TextEdit(
            range=lines.range(e.start_line, e.start_col, e.end_line, e.end_col, enc),
            new_text=e.new_text))
    return types.WorkspaceEdit(changes=changes)


def code_action(fix: Fix, diag: types.Diagnostic, uri_for, text_of, enc: str
                ) -> types.CodeAction:
    return types.CodeAction(title=fix.title, kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diag], is_preferred=fix.preferred or None,
                            edit=workspace_edit(fix, uri_for, text_of, enc))


__all__ = ["Edit", "Lines", "code_action", "diagnostic", "file_diagnostics", "path_of",
           "unit_diagnostics", "uri_of",
           "workspace_edit"]
