"""Batch reports: render reported findings (findings with their severities) as text or JSON.

Positions in every report are 1-based. Columns are 1-based UTF-8 *byte* columns (as GCC
prints them) in text and JSON; SARIF (``sarif.py``) converts them to UTF-16 code units.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from kernel_lsp.findings import Reported
from kernel_lsp.messages import one_line, quoted_path

JSON_VERSION = 2  # 2: ``path`` as printed (relative to the current directory), ``root_path``
_RANK = {"error": 0, "warning": 1, "note": 2}


def error_count(items: Iterable[Reported]) -> int:
    return sum(1 for r in items if r.severity == "error")


def summary(items: list[Reported]) -> dict:
    """Counts by severity and by code, for the JSON stats and the terminal summary."""
    return {
        "findings": len(items),
        "by_severity": dict(sorted(Counter(r.severity for r in items).items(),
                                   key=lambda kv: _RANK.get(kv[0], 9))),
        "by_code": dict(sorted(Counter(r.finding.code for r in items).items())),
        "files_with_findings": len({r.finding.path for r in items}),
    }


def summary_line(items: list[Reported], files_checked: int | None = None, what: str = "") -> str:
    """``3 errors, 1 warning in 2 of 5 files checked`` (for humans; ``in 2 files (1 checked and
    the headers they include)`` when findings of included headers outnumber the files checked);
    ``what`` follows the counts (``introduced since v6.1``)."""
    counts = Counter(r.severity for r in items)
    parts = [f"{counts[s]} {s}{'' if counts[s] == 1 else 's'}" for s in ("error", "warning", "note")
             if counts[s] or s == "error"]
    where = ""
    if files_checked is not None:
        shown = len({r.finding.path for r in items})
        where = f" in {shown} of {files_checked} files checked" if shown <= files_checked else (
            # headers are checked in the context of the files that include them
            f" in {shown} files ({files_checked} checked and the headers they include)")
    return ", ".join(parts) + what + where


# ---------------------------------------------------------------- text


def _as_is(path: str) -> str:
    return path


def text_line(item: Reported, shown: Callable[[str], str] = _as_is) -> str:
    """``path:line:col: severity: message [code]`` with 1-based line and byte column; ``shown``
    prints the root-relative path (relative to the current directory, or absolute). A control
    character of a file name is escaped, the name quoted (``messages.quoted_path``)."""
    f = item.finding
    path = quoted_path(shown(f.path))
    head = f"{path}:{f.line + 1}:{f.col + 1}: {item.severity}: {one_line(f.message)} [{f.code}]"
    # the same use on later lines of its scope: one note line each, as a compiler lists them
    return "\n".join([head, *(f"{path}:{line + 1}:{col + 1}: note: '{f.symbol}' "
                              f"used here too [{f.code}]" for line, col, _end in also(f))])


def format_text(items: list[Reported], shown: Callable[[str], str] = _as_is) -> str:
    return "".join(text_line(item, shown) + "\n" for item in items)


# ---------------------------------------------------------------- JSON


def json_finding(item: Reported, shown: Callable[[str], str] = _as_is) -> dict:
    f = item.finding
    return {
        "code": f.code,
        "severity": item.severity,
        "path": shown(f.path),
        "root_path": f.path,
        "line": f.line + 1,
        "column": f.col + 1,
        "end_line": f.end_line + 1,
        "end_column": f.end_col + 1,
        "symbol": f.symbol,
        "message": f.message,
        # a header's finding as a unit includes it (``checks/unitvis``): that unit, root-relative
        **({"unit": f.context["unit"]} if f.context.get("unit") else {}),
        # later lines of the same use in its scope (``Finding.context["also"]``), if any
        **({"also": [{"line": line + 1, "column": col + 1, "end_column": end + 1}
                     for line, col, end in also(f)]} if also(f) else {}),
    }


def also(f) -> list:
    """[line, col, end_col] (0-based) of the later sites a finding names (``context["also"]``)."""
    return f.context.get("also") or []


def format_json(items: list[Reported], root: Path, stats: dict,
                shown: Callable[[str], str] = _as_is) -> str:
    """The JSON report: version, root, findings (1-based positions) and stats."""
    doc = {
        "version": JSON_VERSION,
        "root": str(root),
        "findings": [json_finding(item, shown) for item in items],
        "stats": {**_jsonable(stats), **summary(items)},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _jsonable(value):
    """``value`` with anything JSON cannot hold turned into strings or plain numbers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
