"""The bundled Linux-like fixture tree gives exactly its inline expectations, in every format."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import TREE
from tests.fixture_expect import Expected, diff_report, files_with_expectations, parse_tree

# Files that carry no expectation and must give no finding, checked one by one.
CLEAN_FILES = (
    "fs/open.c",
    "fs/read_write.c",
    "fs/ramfs/inode.c",
    "mm/page_alloc.c",
    "mm/filemap.c",
    "mm/slab_common.c",
    "kernel/sched/core.c",
    "kernel/bpf/helpers.c",
    "drivers/misc/blinker/blinker_main.c",
    "arch/x86/kernel/process.c",
)

_TEXT_LINE = re.compile(
    r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<sev>\w+): .* \[(?P<code>\d{3}_\d|E\d{3})\]$"
)


def copy_tree(dest: Path) -> Path:
    """Copy the fixture tree (without any model database) so runs leave the repo clean."""
    shutil.copytree(TREE, dest, ignore=shutil.ignore_patterns(".kernel-lsp"))
    return dest


def run_check(args: list[str], out: Path) -> tuple[int, str]:
    from kernel_lsp.cli import main

    rc = main(["check", *args, "--output", str(out)])
    return rc, out.read_text(encoding="utf-8") if out.exists() else ""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Check the whole copied tree once per format."""
    base = tmp_path_factory.mktemp("corpus")
    tree = copy_tree(base / "linux-tree")
    results = {"tree": tree}
    for fmt in ("json", "text", "sarif"):
        out = base / f"out.{fmt}"
        results[fmt] = run_check(["--root", str(tree), "--format", fmt], out)
    return results


@pytest.fixture(scope="module")
def expected() -> set[Expected]:
    return parse_tree(TREE)


def json_findings(report: dict) -> list[dict]:
    assert report.get("version") == 2, report.get("version")
    assert isinstance(report.get("findings"), list)
    assert isinstance(report.get("stats"), dict)
    return report["findings"]


def as_expected(findings: list[dict]) -> set[Expected]:
    return {Expected(f["root_path"], f["line"], f["code"], f["symbol"]) for f in findings}


def test_expectations_cover_the_error_files(expected):
    assert len(expected) >= 15
    assert not set(CLEAN_FILES) & files_with_expectations(TREE)


def test_json_exact_findings(runs, expected):
    rc, out = runs["json"]
    findings = json_findings(json.loads(out))
    problems = diff_report(expected, as_expected(findings))
    assert not problems, "JSON findings differ from the inline expectations:\n" + problems
    assert len(findings) == len(as_expected(findings)), "duplicate findings reported"


def test_exit_status_is_1_when_errors_are_found(runs):
    for fmt in ("json", "text", "sarif"):
        assert runs[fmt][0] == 1, f"{fmt}: exit status {runs[fmt][0]}"


def test_json_finding_shape(runs):
    from kernel_lsp.findings import CODES

    report = json.loads(runs["json"][1])
    assert Path(report["root"]).resolve() == runs["tree"].resolve()
    for f in report["findings"]:
        assert set(f) >= {"code", "severity", "path", "root_path", "line", "column", "end_line",
                          "end_column", "symbol", "message"}, f
        assert f["code"] in CODES
        assert f["severity"] == CODES[f["code"]].severity
        assert "\\" not in f["root_path"] and not f["root_path"].startswith("/")
        assert (runs["tree"] / f["root_path"]).is_file(), f["root_path"]
        # ``path`` is relative to the current directory (here the tree is elsewhere)
        assert Path(f["path"]).resolve() == (runs["tree"] / f["root_path"]).resolve()
        assert f["line"] >= 1 and f["column"] >= 1
        assert (f["end_line"], f["end_column"]) >= (f["line"], f["column"])
        assert f["message"].strip()


def test_json_column_points_at_the_symbol(runs):
    """The span starts on the name at fault (on the #include for 504_2, on the instruction's
    ``BPF_*`` element for an eBPF code, whose symbol is the program's array, on the name before
    ``->`` for a member access that needs an invisible struct)."""
    tree = runs["tree"]
    for f in json.loads(runs["json"][1])["findings"]:
        line = (tree / f["root_path"]).read_text(encoding="utf-8").splitlines()[f["line"] - 1]
        rest = line.encode()[f["column"] - 1:].decode(errors="replace")
        if f["code"] == "504_2":
            assert rest.startswith("#include"), (f, line)
        elif f["code"].startswith("E"):
            assert rest.startswith("BPF_"), (f, line)
        elif f["message"].startswith("invalid use of undefined type"):
            assert re.match(r"\w+\s*(->|\.)", rest), (f, line)  # the base of a member access
        else:
            assert rest.startswith(f["symbol"]), (f, line)


def test_check_reports_the_ebpf_findings_of_instruction_arrays(runs):
    """``check`` validates ``struct bpf_insn`` arrays in C files, as the editor does."""
    findings = json.loads(runs["json"][1])["findings"]
    bpf = [f for f in findings if f["code"].startswith("E")]
    assert [(f["root_path"], f["code"], f["symbol"]) for f in bpf] == [
        ("kernel/bpf/selftest.c", "E101", "selftest_bad_jump")]
    assert bpf[0]["message"] == "jump out of range from insn 1 to 7"


def test_text_reports_the_same_findings(runs):
    rc, out = runs["text"]
    items = [m for m in map(_TEXT_LINE.match, out.splitlines()) if m]
    got = sorted((m["path"], int(m["line"]), int(m["col"]), m["code"]) for m in items)
    ref = sorted((f["path"], f["line"], f["column"], f["code"])
                 for f in json.loads(runs["json"][1])["findings"])
    assert got == ref, "text and JSON findings differ:\n" + "\n".join(
        [f"  text only: {x}" for x in sorted(set(got) - set(ref))]
        + [f"  json only: {x}" for x in sorted(set(ref) - set(got))])


def test_sarif_reports_the_same_findings(runs, expected):
    rc, out = runs["sarif"]
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    got = set()
    for r in run["results"]:
        assert r["ruleId"] in rule_ids
        loc = r["locations"][0]["physicalLocation"]
        path = unquote(loc["artifactLocation"]["uri"])
        got.add(Expected(path, loc["region"]["startLine"], r["ruleId"], r["properties"]["symbol"]))
    assert len(run["results"]) == len(got), "duplicate SARIF results"
    problems = diff_report(expected, got)
    assert not problems, "SARIF findings differ from the inline expectations:\n" + problems


@pytest.mark.parametrize("rel", CLEAN_FILES)
def test_clean_file_alone_gives_nothing(rel, tmp_path, monkeypatch):
    tree = copy_tree(tmp_path / "linux-tree")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.json"
    # No --root: a Linux-like tree (Kconfig + include/linux) is found from the path itself.
    rc, text = run_check([str(tree / rel), "--format", "json"], out)
    report = json.loads(text)
    assert json_findings(report) == [], report["findings"]
    assert Path(report["root"]).resolve() == tree.resolve()
    assert rc == 0


def test_checking_an_error_file_reports_only_its_findings(tmp_path, expected):
    tree = copy_tree(tmp_path / "linux-tree")
    rel = "mm/vmscan.c"
    rc, text = run_check([str(tree / rel), "--root", str(tree), "--format", "json"],
                         tmp_path / "out.json")
    got = as_expected(json_findings(json.loads(text)))
    problems = diff_report({e for e in expected if e.path == rel}, got)
    assert not problems, problems
    assert rc == 1


def test_the_run_writes_only_the_model_database(runs):
    created = {p.relative_to(runs["tree"]).as_posix() for p in runs["tree"].rglob("*")
               if p.is_file()} - {p.relative_to(TREE).as_posix() for p in TREE.rglob("*")
                                  if p.is_file() and ".kernel-lsp" not in p.parts}
    assert {c.split("/")[0] for c in created} <= {".kernel-lsp"}, sorted(created)
