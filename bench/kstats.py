"""Shared bench counting: call sites and type uses from a model database, and finding classes.

Rates of findings are per 1,000 call sites (``calls`` rows of kind ``direct``) for function
findings and per 1,000 type uses (``files.type_use_total``) for type findings, counted over the
same files as the findings (see docs/model.md for the schema).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from kernel_lsp.model import factlists

# The part of Linux that x86 does not build (issue "Real-kernel precision and recall"), nor
# arm64 (the other architectures' directories aside: ``in_arch_tree``).
NOT_X86 = ("tools/", "samples/", "scripts/", "Documentation/", "rust/", "drivers/s390/")
_FUNCTION_MESSAGE = re.compile(r"^(implicit declaration of )?function\b|\bis called\b")


def in_x86_tree(path: str) -> bool:
    """Whether a root-relative path is in the tree that x86 builds."""
    return in_arch_tree(path, "x86")


def in_arch_tree(path: str, arch: str) -> bool:
    """Whether a root-relative path is in the tree that ``arch`` builds: its own directory
    under ``arch/`` and the architecture-neutral part (``NOT_X86`` aside)."""
    if path.startswith("arch/") and not path.startswith(f"arch/{arch}/"):
        return False
    return not path.startswith(NOT_X86)


def rate_class(code: str, message: str) -> str:
    """The finding's class for rates: ``020_2`` splits into functions and types."""
    if code != "020_2":
        return code
    return "020_2 functions" if _FUNCTION_MESSAGE.search(message) else "020_2 types"


def per_file_counts(db: Path) -> dict[str, tuple[int, int]]:
    """path -> (direct call sites, type uses) of every indexed file (read-only access; the
    calls are counted in each file's list, ``kernel_lsp.model.factlists``)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        direct = conn.execute("SELECT id FROM names WHERE name = 'direct'").fetchone()
        calls = {path: factlists.CALLS.count_where(data, "kind", direct[0])
                 for path, data in conn.execute(
                     "SELECT f.path, l.data FROM call_lists l JOIN files f ON f.id = l.file_id")
                 } if direct else {}
        uses = dict(conn.execute("SELECT path, coalesce(type_use_total, 0) FROM files"))
    finally:
        conn.close()
    return {path: (calls.get(path, 0), uses.get(path, 0)) for path in uses}


def totals(counts: dict[str, tuple[int, int]], keep: Callable[[str], bool]) -> tuple[int, int]:
    """(call sites, type uses) summed over the files ``keep`` accepts."""
    calls = uses = 0
    for path, (c, u) in counts.items():
        if keep(path):
            calls += c
            uses += u
    return calls, uses


def unbuilt_paths(db: Path) -> set[str]:
    """The ``.c`` files the model found that no configuration of the architecture builds
    (``meta.unbuilt_sources``): kernel-lsp reports nothing there, so they are not counted."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'unbuilt_sources'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return set(json.loads(row[0]).get("paths", ())) if row else set()


def per_1000(count: int, base: int) -> float:
    return 1000 * count / base if base else 0.0


def extracted_files(db: Path) -> int:
    """How many files of the model are extracted (0 when there is no model yet)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM files WHERE sha1 IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def table_sizes(db: Path, top: int = 12) -> list[tuple[str, float]]:
    """(table or index, MiB on disk) of the ``top`` largest in the database, largest first
    (SQLite's ``dbstat``; empty when there is no model yet or this SQLite lacks it)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(name, size / 2**20) for name, size in conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT ?",
            (top,))]
    except sqlite3.Error:
        return []
    finally:
        conn.close()
