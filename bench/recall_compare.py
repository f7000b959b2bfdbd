"""Recall harness comparison: GCC's new diagnostics against kernel-lsp's new findings.

GCC diagnostics fall in three categories: ``implicit`` (implicit declaration of function 'X'),
``type`` (the errors of an undefined or invisible type: unknown type name, storage size isn't
known, invalid use of undefined type, incomplete type, sizeof of an incomplete type, ...) and
``other``. A diagnostic sits at its caret line and at the lines of the macro expansions GCC lists
under it. "New" means present after the edit and not before (a multiset difference on file, line
and message; edits keep line numbers).

A GCC diagnostic of the first two categories is *matched* when a new kernel-lsp finding with an
accepted code sits at one of its lines and, when the message names a function or type, names the
same symbol. A file-scope macro invocation whose macro is not visible (kernel-lsp: ``macro 'M'
is not defined here``, 404_2) is the cause of whatever GCC says at its line, reading it as an
old-style declaration ("unknown type name" for its arguments, "expected ')'"): such a finding
sits on every line of the invocation and matches the diagnostics there, whatever symbol they
name. A new kernel-lsp finding is
*noise* when no new GCC diagnostic of any category sits
at its line (with the same symbol when both name one), it is not a later call of a function GCC
reported as implicitly declared (GCC reports the first call of each only), and it is not the
finding the fault requires (kind e: ``405_2`` at the call). When GCC stopped at a fatal error
(an include of a file that does not exist), such findings are *unjudged* instead: GCC never
reached the code they are about.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

ACCEPT = {"implicit": {"404_2", "020_2", "405_2"}, "type": {"020_2", "407_2"}}
_IMPLICIT = re.compile(r"^implicit declaration of function '([^']+)'")
_TAG = r"'(?:(?:const|volatile) )*(?:(?:struct|union|enum) )?([A-Za-z_]\w*)'"
_TYPE_NAMED = [re.compile(p) for p in (
    r"^unknown type name " + _TAG,
    r"invalid use of undefined type " + _TAG,
    r"dereferencing pointer to incomplete type " + _TAG,
    r"to incomplete type " + _TAG,  # invalid application of 'sizeof' / '__alignof__' to ...
    r"array type has incomplete element type " + _TAG,
    r"invalid use of incomplete typedef " + _TAG,
)]
_TYPE_UNNAMED = re.compile(r"storage size of '[^']*' isn't known|has incomplete type|"
                           r"incomplete type")
_SYNTAX = re.compile(r"^(expected |stray |unterminated |missing terminating |macro \")")
_QUOTED = re.compile(r"'([A-Za-z_]\w*)'")


def categorize(message: str) -> tuple[str, str | None]:
    """(category, symbol named by the message or None)."""
    m = _IMPLICIT.search(message)
    if m:
        return "implicit", m.group(1)
    for pattern in _TYPE_NAMED:
        m = pattern.search(message)
        if m:
            return "type", m.group(1)
    if _TYPE_UNNAMED.search(message):
        return "type", None
    m = _QUOTED.search(message)
    return "other", m.group(1) if m else None


def _loc(loc: dict) -> tuple[str, int]:
    return os.path.normpath(loc.get("file", "?")), int(loc.get("line", 0))


def flatten(diags: list[dict]) -> list[dict]:
    """GCC's JSON diagnostics (warnings and errors) as plain records with their line set."""
    out = []
    for d in diags:
        if d.get("kind") not in ("error", "warning", "fatal error"):
            continue
        carets = [_loc(loc["caret"]) for loc in d.get("locations", []) if "caret" in loc]
        lines = list(carets[:1])
        for child in d.get("children", []):
            if child.get("message", "").startswith("in expansion of macro"):
                lines += [_loc(loc["caret"]) for loc in child.get("locations", [])
                          if "caret" in loc]
        cat, symbol = categorize(d.get("message", ""))
        file, line = carets[0] if carets else ("?", 0)
        column = d["locations"][0]["caret"].get("byte-column", 1) if carets else 1
        out.append({"file": file, "line": line, "column": column, "message": d.get("message", ""),
                    "kind": d.get("kind"), "cat": cat, "symbol": symbol,
                    "lines": sorted(set(lines))})
    return out


def _invocation_end(data: bytes, line: int, column: int) -> int:
    """The last line of the ``name(...)`` that starts at 1-based ``line``/byte ``column``, or
    ``line`` when no call or macro invocation starts there."""
    lines = data.split(b"\n")
    if not 0 < line <= len(lines):
        return line
    rest = lines[line - 1][column - 1:]
    m = re.match(rb"[A-Za-z_]\w*\s*\(", rest)
    if not m:
        return line
    depth, at = 0, line
    for text in [rest[m.end() - 1:], *lines[line:]]:
        for ch in text:
            depth += (ch == 40) - (ch == 41)  # '(' and ')'
            if depth == 0:
                return at
        at += 1
    return line


def widen(d: dict, read) -> dict:
    """GCC puts an error inside the arguments of a macro at the macro's name (``max_t(...,
    sizeof(struct x), ...)``): the diagnostic sits on every line of that invocation."""
    file, line = d["file"], d["line"]
    try:
        data = read(file)
    except OSError:
        return d
    end = _invocation_end(data, line, d.get("column", 1))
    extra = [[file, n] for n in range(line + 1, end + 1)]
    return {**d, "lines": sorted({tuple(x) for x in d["lines"] + extra})} if extra else d


def widen_finding(f: dict, read) -> dict:
    """A finding of a file-scope macro invocation whose macro is not visible sits on every
    line of that invocation (GCC reports the arguments it cannot read where they are)."""
    if not _undefined_macro(f):
        return f
    try:
        data = read(f["path"])
    except OSError:
        return f
    end = _invocation_end(data, f["line"], f.get("column", 1))
    return {**f, "also": sorted({*f.get("also", ()), *range(f["line"] + 1, end + 1)})}


def new_items(before: list[dict], after: list[dict], key) -> list[dict]:
    """Items of ``after`` beyond the same items of ``before`` (multiset difference by key)."""
    left = Counter(key(x) for x in before)
    out = []
    for item in after:
        k = key(item)
        if left[k]:
            left[k] -= 1
        else:
            out.append(item)
    return out


def gcc_key(d: dict) -> tuple:
    return d["file"], d["line"], d["message"]


def klsp_key(f: dict) -> tuple:
    return f["path"], f["line"], f["code"], f["symbol"]


def is_syntax_damage(d: dict) -> bool:
    """A new GCC error that says an edit broke the syntax: the deleted range was not exactly a
    prototype (kind b), or the renamed "call" was an iterator macro followed by a block (c)."""
    return d["kind"] != "warning" and bool(_SYNTAX.match(d["message"]))


# ---------------------------------------------------------------- kernel-lsp


def kernel_lsp_command() -> list[str]:
    """The kernel-lsp of this interpreter's environment (the venv that runs the harness)."""
    import sys
    return [sys.executable, "-m", "kernel_lsp"]


def check(root: Path, paths: list[str], jobs: int) -> list[dict]:
    """``kernel-lsp check PATHS --root ROOT --format json``: its findings (1-based lines)."""
    cmd = kernel_lsp_command() + ["check", *[str(root / p) for p in paths], "--root", str(root),
                                  "--format", "json", "--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=1800)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"kernel-lsp check failed ({proc.returncode}): {proc.stderr[-2000:]}")
    # JSON report v2: "path" is relative to the current directory, "root_path" to the root
    return [{"path": f.get("root_path", f["path"]),
             **{k: f[k] for k in ("line", "column", "code", "symbol", "message")},
             # the later lines of the same use that the finding names (type findings)
             "also": [a["line"] for a in f.get("also", ())],
             # a header's finding as this unit includes it: the unit
             **({"unit": f["unit"]} if f.get("unit") else {})}
            for f in json.loads(proc.stdout)["findings"]]


def index(root: Path, jobs: int) -> str:
    cmd = kernel_lsp_command() + ["index", str(root), "--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"kernel-lsp index failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return (proc.stdout.strip().splitlines() or [""])[-1]


# ---------------------------------------------------------------- matching


def _same_symbol(d: dict, f: dict) -> bool:
    return d["symbol"] is None or d["symbol"] == f["symbol"]


def _at(d: dict, f: dict) -> bool:
    """Whether finding ``f`` sits at a line of diagnostic ``d`` (at its own line or at one of
    the later lines of the same use it names)."""
    at = {tuple(x) for x in d["lines"]}
    return any((f["path"], line) in at for line in (f["line"], *f.get("also", ())))


def _undefined_macro(f: dict) -> bool:
    """Whether finding ``f`` says a file-scope macro invocation has no macro visible."""
    return f["code"] == "404_2" and f.get("message", "").startswith("macro '")


def _explains(d: dict, f: dict) -> bool:
    """Whether finding ``f`` at a line of diagnostic ``d`` accounts for it."""
    return _at(d, f) and (_same_symbol(d, f) or _undefined_macro(f))


def _expected(f: dict, expect: dict | None) -> bool:
    return bool(expect) and (f["path"], f["line"], f["code"], f["symbol"]) == (
        expect["path"], expect["line"], expect["code"], expect["symbol"])


def compare(gcc_new: list[dict], klsp_new: list[dict], expect: dict | None) -> dict:
    """Matched and missed GCC diagnostics, noise findings, and the required finding (kind e).
    Categories are taken from the messages again, so stored results follow these rules."""
    gcc_new = [{**d, **dict(zip(("cat", "symbol"), categorize(d["message"]), strict=True))}
               for d in gcc_new]
    matched, missed = [], []
    for d in gcc_new:
        if d["cat"] not in ACCEPT:
            continue
        hit = any((f["code"] in ACCEPT[d["cat"]] or _undefined_macro(f)) and _explains(d, f)
                  for f in klsp_new)
        (matched if hit else missed).append(d)
    # GCC reports an implicit declaration at the first call only: later calls are not noise
    implicit = {d["symbol"] for d in gcc_new if d["cat"] == "implicit"}
    noise = [f for f in klsp_new if not _expected(f, expect) and not (
        f["code"] in ACCEPT["implicit"] and f["symbol"] in implicit) and not any(
        _at(d, f) and d["cat"] == "other" or _explains(d, f) for d in gcc_new)]
    found = None if expect is None else any(_expected(f, expect) for f in klsp_new)
    if any(d.get("kind") == "fatal error" for d in gcc_new):
        # GCC stopped there (a missing header): what it never reached, it cannot deny
        return {"matched": matched, "missed": missed, "noise": [], "unjudged": noise,
                "expect_found": found}
    return {"matched": matched, "missed": missed, "noise": noise, "unjudged": [],
            "expect_found": found}
