"""The design fixtures give exactly their expected verification reports, in every format.

Each case (``tests/design_cases.py``) is the fixture tree with an overlay, verified with
``kernel-lsp verify`` as a user runs it. The expected reports sit beside the demands in
``fixtures/design/*/expected/``; ``KERNEL_LSP_UPDATE_EXPECTED=1`` rewrites them (review the diff).
"""

from __future__ import annotations

import json
import os

import pytest

from kernel_lsp.cli import main
from tests.design_cases import CASES, FORMATS, normalise
from tests.fixture_expect import Expected, diff_report, parse_tree

UPDATE = os.environ.get("KERNEL_LSP_UPDATE_EXPECTED") == "1"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    """Every case verified once per format: (status, normalised report) by (case, format)."""
    out = {}
    for case in CASES:
        base = tmp_path_factory.mktemp(case.name)
        tree = case.build(base / "tree")
        for fmt in FORMATS:
            dest = base / f"report.{fmt}"
            status = main(["verify", *[str(tree / d.name) for d in case.demands], "--root", str(tree),
                           "--format", fmt, "--output", str(dest)])
            out[(case.name, fmt)] = (status, normalise(dest.read_text(encoding="utf-8"), tree),
                                     tree)
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_is_exactly_the_expected_one(reports, case, fmt):
    status, text, _tree = reports[(case.name, fmt)]
    path = case.expected(fmt)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert status == case.status
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_formats_agree_on_the_verdicts(reports, case):
    """JSON, SARIF and text state the same verdict for every invocation."""
    doc = json.loads(reports[(case.name, "json")][1])
    sarif = json.loads(reports[(case.name, "sarif")][1])
    text = reports[(case.name, "text")][1]
    verdicts = {i["id"]: i["code"] for d in doc["demands"] for p in d["paths"]
                for i in p["invocations"]}
    assert verdicts
    in_sarif = {r["properties"]["invocation"]: r["ruleId"] for r in sarif["runs"][0]["results"]
                if r["ruleId"].startswith("403_")}
    assert in_sarif == verdicts
    for ident, code in verdicts.items():
        assert any(line.startswith(f"    {ident} ") and f" {code} " in line
                   for line in text.splitlines()), ident
    assert doc["code"] == ("400_1" if case.status == 0 else "400_2")
    assert sarif["runs"][0]["properties"]["code"] == doc["code"]


@pytest.mark.parametrize("case", [c for c in CASES if c.overlay is not None],
                         ids=lambda c: c.name)
def test_check_reports_the_seeded_errors(reports, case, capsys):
    """``kernel-lsp check`` on a seeded tree reports exactly the ``expect:`` comments of the
    overlaid tree: the verifier and the checks agree on what is wrong."""
    tree = reports[(case.name, "json")][2]
    main(["check", "--root", str(tree), "--format", "json"])
    got = {Expected(f["root_path"], f["line"], f["code"], f["symbol"])
           for f in json.loads(capsys.readouterr().out)["findings"]}
    want = parse_tree(tree)
    assert got == want, diff_report(want, got)
