"""Shared test paths and fixtures: the repository, the fixture trees, a fresh in-memory model.

End-to-end tests (marked ``e2e``: real processes, editors, browsers) run after the others, so a
broken unit shows up first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel_lsp.model.store import Model

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
TREE = FIXTURES / "linux-tree"  # the bundled Linux-like example tree
GADGET_TREE = FIXTURES / "fixes" / "gadget-tree"
EBPF_FIXTURES = FIXTURES / "ebpf"


@pytest.fixture
def fresh_model():
    """An empty model database in memory (closed after the test)."""
    model = Model(None)
    yield model
    model.close()


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
