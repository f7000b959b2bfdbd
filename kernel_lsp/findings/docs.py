"""The documentation of each finding code, read from the docs pages shipped with the package.

``docs/codes.md`` (C design codes, a section per ``<a id="404-2"></a>`` anchor) and
``docs/ebpf-codes.md`` (a ``## E101`` section per eBPF code) are the one source of the long help
texts: the wheel carries them as ``kernel_lsp/docs/*.md`` (``pyproject.toml``), a checkout reads
the repository's ``docs/``. ``kernel-lsp explain CODE`` prints a section, like ``rustc --explain``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from kernel_lsp.findings.codes import CODES, Code

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s")
_ANCHOR = re.compile(r'^<a id="([^"]+)"></a>\s*$')


def docs_dir() -> Path:
    """``kernel_lsp/docs`` in an installed wheel; the repository's ``docs/`` in a checkout."""
    packaged = resources.files("kernel_lsp") / "docs"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "docs"


def normalise(text: str) -> str | None:
    """The code id a user typed (``404_2``, ``404-2``, ``e101``, ``E101``), None if unknown."""
    guess = text.strip().upper().replace("-", "_")
    return guess if guess in CODES else None


def section(entry: Code, text: str) -> str | None:
    """The markdown of ``entry``'s section in the page ``text`` (heading included), or None."""
    lines = text.split("\n")
    start = _start(entry, lines)
    if start is None:
        return None
    level = len(_HEADING.match(lines[start]).group(1))
    out, fenced = [lines[start]], False
    for line in lines[start + 1:]:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            heading = _HEADING.match(line)
            if _ANCHOR.match(line) or (heading and len(heading.group(1)) <= level):
                break
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _start(entry: Code, lines: list[str]) -> int | None:
    """Index of the heading line that opens ``entry``'s section."""
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        anchor = _ANCHOR.match(line)
        if anchor and anchor.group(1) == entry.anchor:
            for j in range(i + 1, min(i + 4, len(lines))):
                if _HEADING.match(lines[j]):
                    return j
        heading = _HEADING.match(line)
        if heading and re.match(rf"#+\s+`?{re.escape(entry.id)}`?(\s|$)", line):
            return i
    return None


def explain(code_id: str) -> str | None:
    """The documentation of ``code_id`` as markdown (None for an unknown code); the code table's
    help text when the docs page has no section for it."""
    entry = CODES.get(code_id)
    if entry is None:
        return None
    try:
        text = (docs_dir() / f"{entry.page}.md").read_text(encoding="utf-8")
    except OSError:
        text = ""
    found = section(entry, text)
    if found is not None:
        return found
    return f"## {entry.id} — {entry.title}\n\n{entry.help}\n"
