"""A buffer edit gives the same rows as extracting the edited file afresh."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_lsp.config import Config
from kernel_lsp.live.incremental import body_ranges
from kernel_lsp.live.workspace import Workspace
from kernel_lsp.model.rows import fact_rows
from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.macroenv import Configuration
from tests.conftest import TREE

FILES = sorted(str(p.relative_to(TREE)) for p in TREE.rglob("*.c"))
EDITS = ["x", " ", "\n", "foo(1);\n", "int y = bar();", "", "}", "{", "/*", "\"", "struct s *p;"]


def _full(path: str, source: bytes) -> dict:
    """The rows a whole-file extraction gives (under the configuration a workspace with no
    model uses: predefined macros only)."""
    return {k: Counter(v) for k, v in fact_rows(extract(path, source, env=Configuration())).items()}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return Workspace(Config(root=tmp_path_factory.mktemp("inc")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FILES), st.integers(0, 10**6), st.integers(0, 3), st.sampled_from(EDITS))
def test_edit_anywhere_matches_full_extraction(session, path, where, cut, text):
    source = (TREE / path).read_bytes()
    session.set_buffer(path, source)
    pos = where % (len(source) + 1)
    edited = source[:pos] + text.encode() + source[min(pos + cut, len(source)):]
    of = session.set_buffer(path, edited)
    if of.approximate:  # a syntax error in the edited body: exact once typing pauses
        of = session.set_buffer(path, edited, exact=True)
    assert {k: Counter(v) for k, v in of.own_rows.items()} == _full(path, edited)
    session.drop_buffer(path)
    session.open.pop(path, None)


def test_typing_inside_a_body_is_incremental(session):
    path = "kernel/sched/core.c"
    source = (TREE / path).read_bytes()
    bodies = body_ranges(session.set_buffer(path, source).buffer.tree)
    assert len(bodies) > 2
    start, end = bodies[len(bodies) // 2]
    before = session.local
    text = source
    for n, ch in enumerate(b"helper_call(42);\n"):
        pos = start + 2 + n
        text = text[:pos] + bytes([ch]) + text[pos:]
        of = session.set_buffer(path, text)
        if of.approximate:
            of = session.set_buffer(path, text, exact=True)
        assert {k: Counter(v) for k, v in of.own_rows.items()} == _full(path, text)
    assert session.local - before >= len("helper_call")  # an open parenthesis: full update
    assert any(r[1] == "helper_call" for r in of.own_rows["calls"])
