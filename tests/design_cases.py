"""The design verification fixtures (fixtures/design/): each case is the fixture tree, an
optional overlay of changed files, the demand files it verifies and its expected reports."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FIXTURES, TREE

DESIGN = FIXTURES / "design"
FORMATS = {"text": "txt", "json": "json", "sarif": "sarif", "html": "html"}
ROOT_MARK = "<ROOT>"


@dataclass(frozen=True)
class Case:
    name: str
    home: Path  # where expected/ lives
    demands: tuple[Path, ...]
    overlay: Path | None = None
    status: int = 1  # the exit status of verify

    def expected(self, fmt: str) -> Path:
        return self.home / "expected" / f"report.{FORMATS[fmt]}"

    def build(self, dest: Path) -> Path:
        """The tree of this case at ``dest``: the fixture tree, the overlay, the demands."""
        shutil.copytree(TREE, dest, ignore=shutil.ignore_patterns(".kernel-lsp"))
        if self.overlay is not None:
            shutil.copytree(self.overlay, dest, dirs_exist_ok=True)
        for d in self.demands:
            shutil.copy(d, dest / d.name)
        return dest


OPEN = DESIGN / "open" / "open.demand.yaml"
CASES = [
    Case("open", DESIGN / "open", (OPEN,), status=0),
    *[Case(name, DESIGN / "seeded" / name, (OPEN,), DESIGN / "seeded" / name / "tree")
      for name in ("missing-type", "undeclared", "static-callee", "layer-violation")],
    Case("broken", DESIGN / "broken", tuple(sorted((DESIGN / "broken").glob("*.demand.yaml")))),
]


def normalise(text: str, root: Path) -> str:
    """A report with the machine's root replaced by ``<ROOT>``."""
    for form in (root.resolve().as_uri(), root.as_uri(), str(root.resolve()), str(root)):
        text = text.replace(form, ROOT_MARK)
    return text


def expected_codes() -> set[str]:
    """Every code some expected JSON report of the design fixtures contains."""
    codes: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "code" and isinstance(v, str):
                    codes.add(v)
                elif k == "reasons" and isinstance(v, list):
                    codes.update(v)
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for case in CASES:
        path = case.expected("json")
        if path.exists():
            walk(json.loads(path.read_text(encoding="utf-8")))
    return codes
