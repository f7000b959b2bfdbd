"""Where a name missing from the model is defined under another configuration.

The model holds the ``#if`` branches its configuration keeps; a type or function defined only in
a dropped branch (``struct mem_cgroup`` under ``#ifdef CONFIG_MEMCG``) is "defined nowhere" for
the checks. This looks for its definition in the dropped branches (``files.inactive``) of the
likely files: those that declare the name (a ``struct mem_cgroup;`` forward declaration) and the
headers the using file includes. A repair hint, never a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.model.store import Model

_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(?:if|ifdef|ifndef|elif|else)\b[^\n]*", re.M)
MAX_FILES = 200


@dataclass(frozen=True, slots=True)
class Hidden:
    path: str
    line: int  # 0-based
    condition: str  # the #if line of the dropped branch

    def __str__(self) -> str:
        return (f"defined in {self.path}:{self.line + 1} in a branch this configuration drops "
                f"({self.condition})")


def _pattern(name: str, kind: str) -> re.Pattern:
    n = re.escape(name).encode()
    if kind in ("struct", "union", "enum"):
        return re.compile(rb"\b" + kind.encode() + rb"\s+" + n + rb"\s*\{")
    if kind == "typedef":
        return re.compile(rb"\btypedef\b[^;{]*(?:\{[^}]*\}[^;]*)?\b" + n + rb"\s*(?:\[[^;]*)?;"
                          rb"|\btypedef\b[^;]*\(\s*\*\s*" + n + rb"\s*\)")
    return re.compile(rb"^[^\n#;]*\b" + n + rb"\s*\([^;{]*\)\s*(?:\{|;)", re.M)


def candidates(model: Model, name: str, kind: str, use_path: str | None) -> list[str]:
    out: dict[str, None] = {}
    if kind in ("struct", "union", "enum"):
        out.update((r["path"], None) for r in model.design_types(name)
                   if r["kind"] == kind and not r["is_definition"])
    if use_path is not None:
        out.update((p, None) for _, p in model.resolved_includes(use_path))
        out[use_path] = None
    return list(out)[:MAX_FILES]


def find_hidden(model: Model, root: Path, name: str, kind: str,
                use_path: str | None) -> Hidden | None:
    """The first definition of ``name`` (``kind``: struct/union/enum/typedef/function) in a
    dropped ``#if`` branch of the likely files, or None."""
    pattern = _pattern(name, kind)
    for path in candidates(model, name, kind, use_path):
        ranges = model.inactive_of(path)
        if not ranges:
            continue
        try:
            data = (root / path).read_bytes()
        except OSError:
            continue
        for start, end in ranges:
            m = pattern.search(data, start, end)
            if m is None:
                continue
            at = m.start()
            conditions = list(_DIRECTIVE.finditer(data, 0, start + 1))
            condition = conditions[-1].group(0).strip().decode("utf-8", "replace") \
                if conditions else "#if"
            return Hidden(path, data.count(b"\n", 0, at), " ".join(condition.split()))
    return None
