"""Where a name missing from the model is defined under another configuration.

The model holds the ``#if`` branches its configuration keeps; a type or function defined only in
a dropped branch (``struct mem_cgroup`` under ``#ifdef CONFIG_MEMCG``) is "defined nowhere" for
the checks. The extractor records what the dropped branches define (the ``hidden`` table,
``parse/hidden.py``); this names the first such definition, preferring the files the use
already reaches (a forward declaration's, the using file's includes), with the condition of its
branch. A repair hint, never a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.files import read_regular
from kernel_lsp.model.store import Model

_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif|else)\b[^\n]*", re.M)


@dataclass(frozen=True, slots=True)
class Hidden:
    path: str
    line: int  # 0-based
    condition: str  # the #if line of the dropped branch

    def __str__(self) -> str:
        return (f"defined in {self.path}:{self.line + 1} in a branch this configuration drops "
                f"({self.condition})")


def _likely(model: Model, name: str, kind: str, use_path: str | None) -> set[str]:
    out: set[str] = set()
    if kind in ("struct", "union", "enum"):
        out.update(r["path"] for r in model.design_types(name)
                   if r["kind"] == kind and not r["is_definition"])
    if use_path is not None:
        out.update(p for _, p in model.resolved_includes(use_path))
        out.add(use_path)
    return out


def find_hidden(model: Model, root: Path, name: str, kind: str,
                use_path: str | None) -> Hidden | None:
    """The first definition of ``name`` (``kind``: struct/union/enum/typedef/function) in a
    dropped ``#if`` branch, in a file the use reaches if there is one, or None."""
    rows = model.hidden_definitions(name, kind)
    if not rows:
        return None
    likely = _likely(model, name, kind, use_path)
    path, at = min(rows, key=lambda r: (r[0] not in likely, r[0], r[1]))
    try:
        data = read_regular(root / path)
    except OSError:
        return None
    start = next((s for s, e in model.inactive_of(path) if s <= at < e), at)
    conditions = list(_DIRECTIVE.finditer(data, 0, start + 1))
    condition = conditions[-1].group(0).strip().decode("utf-8", "replace") \
        if conditions else "#if"
    return Hidden(path, data.count(b"\n", 0, at), " ".join(condition.split()))
