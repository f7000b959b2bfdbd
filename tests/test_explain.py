"""``kernel-lsp explain CODE`` prints the code's section of the shipped docs, for every code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kernel_lsp.cli import main
from kernel_lsp.findings import CODES
from kernel_lsp.findings.docs import docs_dir, explain, normalise
from tests.conftest import REPO


@pytest.mark.parametrize("code_id", sorted(CODES))
def test_every_code_is_explained_from_its_docs_section(code_id, capsys):
    assert main(["explain", code_id]) == 0
    out = capsys.readouterr().out
    first = out.split("\n", 1)[0]
    assert first.startswith(("## ", "### ")) and code_id in first, first
    page = (REPO / "docs" / f"{CODES[code_id].page}.md").read_text(encoding="utf-8")
    assert out.strip() in page, "the section, verbatim from the docs page"
    assert len(out.strip().split("\n")) > 2, "more than the heading"


def test_a_section_stops_at_the_next_code_and_keeps_code_blocks():
    text = explain("404_2")
    assert "#include <linux/slab.h>" in text, "a #include in a code block is no heading"
    assert "405_2" not in text.split("\n", 1)[0] and "## 405_2" not in text


@pytest.mark.parametrize("typed, code_id", [("404_2", "404_2"), ("404-2", "404_2"),
                                            ("e101", "E101"), (" E101 ", "E101"),
                                            ("999_2", None), ("", None)])
def test_codes_are_accepted_as_users_type_them(typed, code_id):
    assert normalise(typed) == code_id


def test_unknown_code_is_a_usage_error_and_no_code_lists_them(capsys):
    assert main(["explain", "123_4"]) == 2
    assert "unknown code '123_4'" in capsys.readouterr().err
    assert main(["explain"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(CODES)


def test_docs_come_from_the_checkout_here_and_the_command_runs():
    assert docs_dir() == REPO / "docs"
    done = subprocess.run([sys.executable, "-m", "kernel_lsp", "explain", "E101"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("## E101") and "jump out of range" in done.stdout
