"""Report formats: severity overrides, text lines, exact JSON keys, GitHub's SARIF requirements."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kernel_lsp.batch.report import error_count, format_json, format_text, summary_line
from kernel_lsp.batch.sarif import build_sarif, format_sarif
from kernel_lsp.config import Config
from kernel_lsp.findings import CODES, Finding, apply_severities

SOURCE = "int x;\n/* é ü */ int y = foo(1);\n\tbar();\n\tbar();\n"


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "a.c").write_text(SOURCE, encoding="utf-8")
    return tmp_path


def foo_finding() -> Finding:
    line = SOURCE.split("\n")[1].encode()
    col = line.index(b"foo")
    return Finding("404_2", "fs/a.c", 1, col, 1, col + 3, "foo",
                   "call to 'foo' with no declaration visible")


def findings() -> list[Finding]:
    return [
        Finding("020_2", "fs/a.c", 3, 1, 3, 4, "bar", "'bar' is defined nowhere"),
        foo_finding(),
        Finding("020_2", "fs/a.c", 2, 1, 2, 4, "bar", "'bar' is defined nowhere"),
        Finding("504_2", "fs/a.c", 0, 0, 0, 6, "x.h", "'x.h' resolves to nothing"),
        foo_finding(),  # duplicate: reported once
    ]


@pytest.mark.parametrize("checked, expected", [
    (5, "4 errors, 1 warning in 2 of 5 files checked"),
    (2, "4 errors, 1 warning in 2 of 2 files checked"),
    # one .c file checked, a header it includes has findings too
    (1, "4 errors, 1 warning in 2 files (1 checked and the headers they include)"),
    (None, "4 errors, 1 warning"),
])
def test_summary_line_counts_files(checked, expected):
    items = apply_severities(findings() + [
        Finding("404_2", "include/linux/x.h", 4, 1, 4, 4, "baz", "call to 'baz'")], {})
    assert summary_line(items, checked) == expected


def test_apply_config_sorts_dedups_and_overrides(root):
    config = Config(root=root, severity={"504_2": "off", "020_2": "note"})
    items = apply_severities(findings(), config.severity)
    assert [(r.finding.line, r.finding.code, r.severity) for r in items] == [
        (1, "404_2", "error"), (2, "020_2", "note"), (3, "020_2", "note")]
    assert error_count(items) == 1
    config.severity["404_2"] = "warning"
    assert error_count(apply_severities(findings(), config.severity)) == 0


def test_text_lines_are_gcc_like_with_byte_columns(root):
    items = apply_severities(findings(), Config(root=root).severity)
    lines = format_text(items).splitlines()
    assert lines[0] == "fs/a.c:1:1: warning: 'x.h' resolves to nothing [504_2]"
    # 'foo' starts at byte 20 of the line (é and ü are two bytes each): column 21
    assert lines[1] == "fs/a.c:2:21: error: call to 'foo' with no declaration visible [404_2]"
    assert lines[2] == "fs/a.c:3:2: error: 'bar' is defined nowhere [020_2]"
    assert len(lines) == 4
    assert format_text([]) == ""


def test_json_exact_keys_and_one_based_positions(root):
    items = apply_severities(findings(), Config(root=root).severity)
    doc = json.loads(format_json(items, root, {"files": 1, "seconds": 0.12345, "p": Path("x")}))
    assert list(doc) == ["version", "root", "findings", "stats"]
    assert doc["version"] == 2
    assert doc["root"] == str(root)
    assert len(doc["findings"]) == 4
    for f in doc["findings"]:
        assert list(f) == ["code", "severity", "path", "root_path", "line", "column",
                           "end_line", "end_column", "symbol", "message"]
    assert doc["findings"][1] == {
        "code": "404_2", "severity": "error", "path": "fs/a.c", "root_path": "fs/a.c",
        "line": 2, "column": 21,
        "end_line": 2, "end_column": 24, "symbol": "foo",
        "message": "call to 'foo' with no declaration visible"}
    stats = doc["stats"]
    assert stats["files"] == 1 and stats["seconds"] == 0.123 and stats["p"] == "x"
    assert stats["findings"] == 4
    assert stats["by_severity"] == {"error": 3, "warning": 1}
    assert stats["by_code"] == {"020_2": 2, "404_2": 1, "504_2": 1}


# ---------------------------------------------------------------- SARIF


@pytest.fixture
def sarif(root) -> dict:
    config = Config(root=root, severity={"406_2": "off", "504_2": "note"})
    items = apply_severities(findings(), config.severity)
    return json.loads(format_sarif(items, config, ["fs/b.c: binary file; skipped"]))


def test_sarif_top_level_and_driver(sarif):
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kernel-lsp"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", driver["version"])
    assert "informationUri" not in driver  # no docs URL configured: no link at all
    assert ".invalid" not in json.dumps(sarif)
    assert run["columnKind"] == "utf16CodeUnits"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes == [{"level": "warning", "message": {"text": "Fs/b.c: binary file; skipped."}}]


def test_sarif_rules_cover_the_code_table(sarif):
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    for rule in rules:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["name"])
        for key in ("shortDescription", "fullDescription"):
            assert rule[key]["text"].strip()
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].strip()
        assert "helpUri" not in rule
        assert f"kernel-lsp explain {rule['id']}" in rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
    by_id = {r["id"]: r for r in rules}
    assert by_id["406_2"]["defaultConfiguration"] == {"enabled": False, "level": "error"}
    assert by_id["504_2"]["defaultConfiguration"] == {"enabled": True, "level": "note"}
    assert by_id["020_2"]["name"] == "MissingLevelType"


def test_sarif_results_meet_github_requirements(sarif):
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == 4
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("note", "warning", "error")
        assert res["message"]["text"]
        assert 1 <= len(res["locations"]) <= 10
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "fs/a.c", "uriBaseId": "%SRCROOT%"}
        region = loc["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert all(isinstance(v, int) and v >= 1 for v in region.values())
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"],
                                                            region["startColumn"])
        assert re.fullmatch(r"[0-9a-f]{16}:\d+",
                            res["partialFingerprints"]["primaryLocationLineHash"])
    assert results[0]["level"] == "note"  # 504_2 overridden


def test_sarif_columns_are_utf16_code_units(sarif):
    foo = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "404_2")
    region = foo["locations"][0]["physicalLocation"]["region"]
    line = SOURCE.split("\n")[1]
    assert region == {"startLine": 2, "startColumn": line.index("foo") + 1,
                      "endLine": 2, "endColumn": line.index("foo") + 4}


def test_sarif_fingerprints_are_stable_and_distinguish_repeated_lines(root, sarif):
    bars = [r["partialFingerprints"]["primaryLocationLineHash"]
            for r in sarif["runs"][0]["results"] if r["ruleId"] == "020_2"]
    assert bars[0].split(":")[0] == bars[1].split(":")[0]
    assert [b.split(":")[1] for b in bars] == ["1", "2"]
    # moving the code down and re-indenting it keeps every fingerprint
    (root / "fs" / "a.c").write_text("\n\n" + SOURCE.replace("\t", "    "), encoding="utf-8")
    moved = [Finding(f.code, f.path, f.line + 2, f.col, f.end_line + 2, f.end_col, f.symbol,
                     f.message) for f in findings()]
    config = Config(root=root, severity={"406_2": "off", "504_2": "note"})
    again = build_sarif(apply_severities(moved, config.severity), config)
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == [
        r["partialFingerprints"] for r in sarif["runs"][0]["results"]]


def test_sarif_unknown_code_and_missing_file(tmp_path):
    config = Config(root=tmp_path)
    f = Finding("404_2", "gone/x.c", 4, 2, 4, 5, "f", "m")
    doc = build_sarif(apply_severities([f], config.severity), config)
    res = doc["runs"][0]["results"][0]
    assert res["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 5, "startColumn": 3, "endLine": 5, "endColumn": 6}
    assert re.fullmatch(r"[0-9a-f]{16}:1", res["partialFingerprints"]["primaryLocationLineHash"])


def test_sarif_links_to_the_configured_docs(root):
    config = Config(root=root, docs_url="https://example.org/kl/docs")
    doc = build_sarif(apply_severities(findings(), config.severity), config)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://example.org/kl/docs"
    by_id = {r["id"]: r for r in driver["rules"]}
    assert by_id["404_2"]["helpUri"] == "https://example.org/kl/docs/codes.md#404-2"
    assert by_id["E101"]["helpUri"] == "https://example.org/kl/docs/ebpf-codes.md#e101"
    assert "(https://example.org/kl/docs/codes.md#404-2)" in by_id["404_2"]["help"]["markdown"]


def test_sarif_with_no_results_is_valid(tmp_path):
    doc = build_sarif([], Config(root=tmp_path))
    assert doc["runs"][0]["results"] == []
    assert len(doc["runs"][0]["tool"]["driver"]["rules"]) == len(CODES)
