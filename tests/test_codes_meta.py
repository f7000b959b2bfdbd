"""Every finding code of the one table is documented on its page and exercised by a fixture.

C design codes: a fixture tree expects them and docs/codes.md has their anchor; the report
codes of verification (``REPORT_CODES``: never in ``check`` output) appear instead in an
expected report of the design fixtures (fixtures/design/*/expected/report.json, asserted whole
by tests/test_design_reports.py). eBPF codes: docs/ebpf-codes.md has their section (their
fixtures are kept covered by test_ebpf_structural).
"""

from __future__ import annotations

import re

import pytest

from kernel_lsp.findings import CODES, codes_of
from kernel_lsp.findings.codes import REPORT_CODES
from tests.conftest import REPO
from tests.design_cases import expected_codes
from tests.fixture_expect import parse_tree

DOCS = REPO / "docs" / "codes.md"
C_CODES = codes_of("c")
DESIGN_TREES = sorted(
    p for p in (REPO / "fixtures").iterdir()
    if p.is_dir() and ((p / "Kconfig").exists() or (p / "include" / "linux").is_dir())
)


def all_expectations():
    return {e for tree in DESIGN_TREES for e in parse_tree(tree)}


def test_there_is_a_design_fixture_tree():
    assert REPO / "fixtures" / "linux-tree" in DESIGN_TREES


@pytest.mark.parametrize("code_id", sorted(C_CODES))
def test_every_code_is_expected_somewhere(code_id):
    if code_id in REPORT_CODES:
        assert code_id in expected_codes(), f"no expected design report contains {code_id}"
        return
    codes = {e.code for e in all_expectations()}
    assert code_id in codes, f"no fixture expects {code_id}"


def test_design_reports_name_only_known_codes():
    assert expected_codes() and expected_codes() <= set(CODES)


def test_every_expectation_names_a_known_code():
    unknown = sorted(str(e) for e in all_expectations() if e.code not in CODES)
    assert not unknown, unknown


@pytest.mark.parametrize("code_id", sorted(CODES))
def test_every_code_has_a_docs_section_with_its_anchor(code_id):
    entry = CODES[code_id]
    text = (REPO / "docs" / f"{entry.page}.md").read_text(encoding="utf-8")
    fragment = entry.docs_url("https://example.org/docs").rsplit("#", 1)[1]
    assert fragment == entry.anchor == code_id.lower().replace("_", "-")
    if entry.family == "ebpf":  # the heading is the code itself: its slug is the anchor
        assert re.search(rf"^## {code_id}$", text, flags=re.M), f"no '## {code_id}' section"
        return
    anchor = re.search(rf'<a id="{re.escape(fragment)}"></a>\s*\n#+ [^\n]*{code_id}', text)
    assert anchor, f'docs/codes.md lacks <a id="{fragment}"></a> before a heading naming {code_id}'


@pytest.mark.parametrize("code_id", sorted(CODES))
def test_every_code_has_a_severity_title_and_help(code_id):
    entry = CODES[code_id]
    assert entry.severity in ("error", "warning", "note")
    assert entry.title and entry.help.endswith(".")


def test_docs_anchors_are_unique():
    ids = re.findall(r'<a id="([^"]+)"></a>', DOCS.read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
