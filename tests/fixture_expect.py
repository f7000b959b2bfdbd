"""Read the expected findings written inline in a fixture C tree.

A fixture line carries its expectations in a trailing comment::

    fd = do_sys_open(dfd, filename, 0, 0);	/* expect: 404_2 do_sys_open */
    typedef led_brightness_t ledctl_level_t;	/* expect: 020_2 led_brightness_t, 503_2 ledctl_level_t */

(``//`` comments work too). Each item is ``CODE SYMBOL``; the expectation's line is the line of
the comment. A malformed expectation raises ``ValueError`` so that a typo cannot silently drop
an expected finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SOURCE_SUFFIXES = (".c", ".h")

_EXPECT = re.compile(r"(?:/\*|//)\s*expect:(?P<body>.*?)(?:\*/|$)")
_ITEM = re.compile(r"^(?P<code>\d{3}_[12]|E\d{3})\s+(?P<symbol>\S+)$")


@dataclass(frozen=True, order=True)
class Expected:
    """One finding: root-relative POSIX path, 1-based line, code and symbol."""

    path: str
    line: int
    code: str
    symbol: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.symbol}"


def parse_text(text: str, path: str) -> list[Expected]:
    """Return the expectations of one file's text (``path`` is what they are reported under)."""
    found: list[Expected] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for match in _EXPECT.finditer(line):
            for item in match.group("body").split(","):
                parsed = _ITEM.match(item.strip())
                if not parsed:
                    raise ValueError(f"{path}:{lineno}: malformed expectation {item.strip()!r}")
                found.append(Expected(path, lineno, parsed["code"], parsed["symbol"]))
    return found


def source_files(root: Path) -> list[Path]:
    """The C sources and headers of a fixture tree (skipping kernel-lsp's own state dir)."""
    return sorted(
        p for p in root.rglob("*")
        if p.suffix in SOURCE_SUFFIXES and p.is_file() and ".kernel-lsp" not in p.parts
    )


def parse_tree(root: Path) -> set[Expected]:
    """All expectations of a fixture tree, paths relative to ``root``."""
    out: set[Expected] = set()
    for path in source_files(root):
        rel = path.relative_to(root).as_posix()
        out.update(parse_text(path.read_text(encoding="utf-8"), rel))
    return out


def files_with_expectations(root: Path) -> set[str]:
    """Root-relative paths of the files that carry at least one expectation."""
    return {e.path for e in parse_tree(root)}


def diff_report(expected: Iterable[Expected], actual: Iterable[Expected]) -> str:
    """A readable account of what is missing and what is unexpected ('' when equal)."""
    want, got = set(expected), set(actual)
    lines: list[str] = []
    missing, unexpected = sorted(want - got), sorted(got - want)
    if missing:
        lines.append(f"missing ({len(missing)}): expected but not reported")
        lines += [f"  - {e}" for e in missing]
    if unexpected:
        lines.append(f"unexpected ({len(unexpected)}): reported but not expected")
        lines += [f"  + {e}" for e in unexpected]
    return "\n".join(lines)
