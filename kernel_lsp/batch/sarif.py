"""SARIF 2.1.0 output that GitHub code scanning accepts (rules, full regions, fingerprints).

SARIF columns are UTF-16 code units by default; findings carry UTF-8 byte columns, so each
result's line is read back from the file and converted (``columnKind`` is stated explicitly).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from kernel_lsp import __version__
from kernel_lsp.batch.report import also
from kernel_lsp.config import Config
from kernel_lsp.files import read_regular
from kernel_lsp.findings import CODES, Code, Reported

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "kernel-lsp"
SRCROOT = "%SRCROOT%"


def rule_name(entry: Code) -> str:
    """``missing level type`` -> ``MissingLevelType`` (SARIF ``name``: an identifier)."""
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", entry.title) if w)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def sarif_rule(entry: Code, config: Config) -> dict:
    """One ``reportingDescriptor`` with everything GitHub displays for a rule."""
    level = config.severity.get(entry.id, entry.severity)
    url = entry.docs_url(config.docs_url)
    more = f"See {url}" if url else f"`kernel-lsp explain {entry.id}` prints its documentation."
    rule = {
        "id": entry.id,
        "name": rule_name(entry),
        "shortDescription": {"text": _sentence(entry.title)},
        "fullDescription": {"text": _sentence(entry.help)},
        "help": {
            "text": f"{_sentence(entry.help)} {more}",
            "markdown": f"**{entry.id}: {entry.title}**\n\n{_sentence(entry.help)}\n\n" + (
                f"[Documentation of {entry.id}]({url})" if url else more),
        },
        "defaultConfiguration": {
            "enabled": level != "off",
            "level": entry.severity if level == "off" else level,
        },
        "properties": {
            "tags": ["kernel-lsp", "design"],
            "precision": "high",
            "problem.severity": {"note": "recommendation"}.get(entry.severity, entry.severity),
        },
    }
    if url:  # only a configured docs URL: never a placeholder
        rule["helpUri"] = url
    return rule


class LineTable:
    """Lines of the reported files, read lazily, for column conversion and fingerprints."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[bytes] | None] = {}
        self._prints: dict[str, list[str]] = {}

    def lines(self, path: str) -> list[bytes] | None:
        if path not in self._lines:
            try:
                self._lines[path] = read_regular(self.root / path).split(b"\n")
            except OSError:
                self._lines[path] = None
        return self._lines[path]

    def line(self, path: str, line: int) -> bytes | None:
        lines = self.lines(path)
        return lines[line] if lines is not None and 0 <= line < len(lines) else None

    def utf16_col(self, path: str, line: int, byte_col: int) -> int:
        """0-based UTF-16 column of a 0-based UTF-8 byte column (the byte column if unknown)."""
        text = self.line(path, line)
        if text is None:
            return byte_col
        prefix = text[:byte_col].decode("utf-8", "replace")
        extra = byte_col - len(text) if byte_col > len(text) else 0  # past the end: keep going
        return len(prefix.encode("utf-16-le")) // 2 + extra

    def fingerprint(self, path: str, line: int) -> str | None:
        """``<hash of the line's text, whitespace ignored>:<occurrence of that text in the file>``."""
        if path not in self._prints:
            lines = self.lines(path)
            if lines is None:
                return None
            seen: dict[str, int] = {}
            prints: list[str] = []
            for raw in lines:
                digest = hashlib.sha256(b"".join(raw.split())).hexdigest()[:16]
                seen[digest] = seen.get(digest, 0) + 1
                prints.append(f"{digest}:{seen[digest]}")
            self._prints[path] = prints
        prints = self._prints[path]
        return prints[line] if 0 <= line < len(prints) else None


def sarif_result(item: Reported, index: int, table: LineTable) -> dict:
    f = item.finding
    start = table.utf16_col(f.path, f.line, f.col) + 1
    end = table.utf16_col(f.path, f.end_line, f.end_col) + 1
    end_line = max(f.end_line, f.line)
    if end_line == f.line and end < start:
        end = start
    fingerprint = table.fingerprint(f.path, f.line) or (
        hashlib.sha256(f"{f.code}\0{f.symbol}".encode()).hexdigest()[:16] + ":1"
    )
    return {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": item.severity,
        "message": {"text": f.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(f.path), "uriBaseId": SRCROOT},
                "region": {"startLine": f.line + 1, "startColumn": start,
                           "endLine": end_line + 1, "endColumn": end},
            }
        }],
        **({"relatedLocations": [{
            "id": n,
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(f.path), "uriBaseId": SRCROOT},
                "region": {"startLine": line + 1,
                           "startColumn": table.utf16_col(f.path, line, col) + 1,
                           "endLine": line + 1,
                           "endColumn": table.utf16_col(f.path, line, end) + 1},
            },
            "message": {"text": f"'{f.symbol}' used here too"},
        } for n, (line, col, end) in enumerate(also(f), 1)]} if also(f) else {}),
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
        "properties": {"symbol": f.symbol},
    }


def _uri(path: str) -> str:
    """A relative URI reference for a root-relative POSIX path (percent-encoding specials)."""
    from urllib.parse import quote

    return quote(path, safe="/-._~")


def sarif_driver(config: Config, rules: list[dict]) -> dict:
    """The ``tool.driver`` object: our name and version, the docs site only when one is configured."""
    driver = {"name": TOOL_NAME, "version": __version__, "semanticVersion": __version__}
    if config.docs_url:
        driver["informationUri"] = config.docs_url
    driver["rules"] = rules
    return driver


def build_sarif(items: list[Reported], config: Config, problems: list[str] | None = None) -> dict:
    """The SARIF log of one run: one rule per code of the table (C and eBPF codes)."""
    rules = [sarif_rule(entry, config) for entry in CODES.values()]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    table = LineTable(config.root)
    results = [sarif_result(item, index[item.finding.code], table) for item in items]
    run = {
        "tool": {"driver": sarif_driver(config, rules)},
        "originalUriBaseIds": {SRCROOT: {"uri": config.root.resolve().as_uri() + "/"}},
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": _sentence(p)}} for p in problems or ()
            ],
        }],
        "results": results,
        "columnKind": "utf16CodeUnits",
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def format_sarif(items: list[Reported], config: Config, problems: list[str] | None = None) -> str:
    return json.dumps(build_sarif(items, config, problems), indent=2, ensure_ascii=False) + "\n"
