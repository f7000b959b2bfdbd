"""Headless Neovim 0.7 as the client of the real server: diagnostics, quick fix, definition, gd."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp_helpers import REPO, SERVER, TREE, apply_text_edits

pytestmark = pytest.mark.e2e

NVIM_DIR = REPO / "tests" / "nvim"
SNIPPET = NVIM_DIR / "kernel_lsp_07.lua"
DOC = REPO / "docs" / "neovim.md"
TIMEOUT = 90


@dataclass
class NvimRun:
    returncode: int | None
    stdout: str
    stderr: str
    lsp_log: str
    events: dict[str, dict] = field(default_factory=dict)

    def report(self) -> str:
        return (f"nvim exit code: {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n"
                f"{self.stderr}\n--- lsp.log (tail)\n{self.lsp_log[-6000:]}")


def _text(data) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def run_nvim(script: str, tree: Path, tmp_path: Path, **env: str) -> NvimRun:
    """Run tests/nvim/<script> in headless Neovim against the server on ``tree``."""
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.fail("nvim is not installed: these tests need Neovim 0.7 or later "
                    "(scripts/test.sh installs Debian's neovim package)")
    xdg = tmp_path / "xdg"
    full_env = {**os.environ, "KERNEL_LSP_CMD": json.dumps(SERVER),
                "KERNEL_LSP_SETTINGS": json.dumps({"debounceMs": 10}), **env}
    for var in ("CONFIG", "DATA", "STATE", "CACHE"):
        full_env[f"XDG_{var}_HOME"] = str(xdg / var.lower())
    path = str(NVIM_DIR / script).replace(" ", "\\ ")
    cmd = [nvim, "--headless", "--clean", "-n", "-c", f"luafile {path}"]
    try:
        done = subprocess.run(cmd, cwd=tree, env=full_env, capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, _text(exc.stdout), _text(exc.stderr) + f"\n(killed after {TIMEOUT} s)"
    logs = sorted(xdg.glob("*/nvim/lsp.log"))
    run = NvimRun(code, out, err, logs[0].read_text(errors="replace") if logs else "")
    for line in out.splitlines():
        if line.startswith("KLSP "):
            event = json.loads(line[5:])
            run.events[event["event"]] = event
    print(run.report())  # pytest shows it when the test fails
    assert code == 0 and "error" not in run.events, run.report()
    return run


@pytest.fixture
def tree(tmp_path):
    """An indexed copy of the fixture tree with a Kconfig in subdirectories, as a kernel has."""
    root = tmp_path / "linux"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    for sub in ("fs", "drivers"):
        (root / sub / "Kconfig").write_text("# subdirectory Kconfig\n")
    subprocess.run([sys.executable, "-m", "kernel_lsp", "index", str(root)], check=True,
                   capture_output=True, timeout=TIMEOUT)
    return root


def expected_finding(text: str, code: str) -> tuple[int, str]:
    """(0-based line, symbol) of the first ``/* expect: CODE SYMBOL */`` comment."""
    for i, line in enumerate(text.split("\n")):
        m = re.search(r"/\* expect: (.*?) \*/", line)
        for item in (m.group(1).split(", ") if m else ()):
            got_code, symbol = item.split(" ", 1)
            if got_code == code:
                return i, symbol
    raise AssertionError(f"no expected {code} in the fixture")


def header_file(tree: Path, rel: str, spelled: str) -> Path:
    name = spelled[1:-1]
    return (tree / rel).parent / name if spelled.startswith('"') else tree / "include" / name


def test_quick_fix_in_neovim(tree: Path, tmp_path: Path):
    rel = "fs/stat.c"
    original = (tree / rel).read_text()
    line, symbol = expected_finding(original, "404_2")
    run = run_nvim("quickfix.lua", tree, tmp_path, KERNEL_LSP_FILE=str(tree / rel),
                   KERNEL_LSP_CODE="404_2", KERNEL_LSP_SYMBOL=symbol)
    ev = run.events

    attached = ev["attached"]
    assert attached["root"] == str(tree), "the root is the tree's top, not the nearest Kconfig"
    assert (attached["filetype"], attached["encoding"], attached["change"]) == ("c", "utf-16", 2)
    assert all(attached["keymaps"].values()), attached["keymaps"]

    diag = ev["diagnostic"]["diagnostic"]
    assert (diag["code"], diag["source"], diag["data"]["symbol"]) == ("404_2", "kernel-lsp", symbol)
    assert diag["range"]["start"]["line"] == line and symbol in diag["message"]

    titles = [a["title"] for a in ev["actions"]["actions"]]
    assert f"Declare {symbol}" in titles
    preferred = [a for a in ev["actions"]["actions"] if a.get("isPreferred")]
    assert len(preferred) == 1 and preferred[0]["kind"] == "quickfix"
    m = re.fullmatch(rf'Include ([<"].+[>"]) for symbol {symbol}', preferred[0]["title"])
    assert m, titles
    assert ev["applied"]["title"] == preferred[0]["title"]

    # the applied edit went to the server as incremental changes carrying the edit's text
    edits = preferred[0]["edit"]["changes"][(tree / rel).as_uri()]
    sent = ev["fixed"]["changes"]
    assert sent and all("range" in c for c in sent)
    assert sorted(c["text"] for c in sent) == sorted(e["newText"] for e in edits)
    assert not any(d["code"] == "404_2" and d["data"]["symbol"] == symbol
                   for d in ev["fixed"]["remaining"])

    # :write put exactly the quick fix on disk, and the included header declares the symbol
    on_disk = (tree / rel).read_text()
    assert on_disk == apply_text_edits(original, [types.TextEdit(
        range=types.Range(types.Position(**e["range"]["start"]), types.Position(**e["range"]["end"])),
        new_text=e["newText"]) for e in edits])
    assert f"#include {m.group(1)}\n" in on_disk
    assert re.search(rf"\b{symbol}\s*\(", header_file(tree, rel, m.group(1)).read_text())
    assert ev["stopped"]["clean"]


def _call_site(text: str, name: str) -> tuple[int, int]:
    for i, line in enumerate(text.split("\n")):
        m = re.search(rf"=\s*({name})\(", line)
        if m:
            return i, m.start(1)
    raise AssertionError(f"no call of {name}")


def _definition(text: str, name: str) -> tuple[int, int]:
    for i, line in enumerate(text.split("\n")):
        m = re.match(rf"\w[\w\s*]*\b({name})\(.*\)\s*$", line)
        if m:
            return i, m.start(1)
    raise AssertionError(f"no definition of {name}")


def test_definition_hover_and_gd_in_neovim(tree: Path, tmp_path: Path):
    caller, callee, name = ("drivers/misc/blinker/blinker_main.c",
                            "drivers/misc/blinker/blinker_hw.c", "blinker_hw_init")
    line, col = _call_site((tree / caller).read_text(), name)
    def_line, def_col = _definition((tree / callee).read_text(), name)
    run = run_nvim("definition.lua", tree, tmp_path, KERNEL_LSP_FILE=str(tree / caller),
                   KERNEL_LSP_LINE=str(line), KERNEL_LSP_COL=str(col),
                   KERNEL_LSP_OTHER=str(tree / "fs/internal.h"))
    ev = run.events

    loc = ev["definition"]["location"]
    assert loc["uri"] == (tree / callee).as_uri()
    assert (loc["range"]["start"]["line"], loc["range"]["start"]["character"]) == (def_line, def_col)
    hover = ev["hover"]["contents"]
    assert hover["kind"] == "markdown" and name in hover["value"] and callee in hover["value"]
    jumped = ev["jumped"]
    assert (jumped["file"], jumped["line"], jumped["col"]) == (str(tree / callee), def_line, def_col)
    clients = ev["clients"]
    assert clients["same"] and clients["active"] == 1, "one server for the whole tree"
    assert clients["filetype"] == "c" and clients["attached"] == 3, "headers are C and attached"
    assert ev["stopped"]["clean"]


def test_docs_show_the_tested_neovim_07_setup():
    """docs/neovim.md carries the exact snippet the Neovim tests run."""
    assert SNIPPET.read_text().strip() in DOC.read_text()


def test_completion_in_neovim(tree: Path, tmp_path: Path):
    """<C-x><C-o> in Insert mode: a header's function by prefix, then struct members after ->."""
    rel = "fs/open.c"
    text = (tree / rel).read_text()
    line = text.split("\n").index("\tstruct file *f;")  # in alloc_empty_file, after its local
    run = run_nvim("completion.lua", tree, tmp_path, KERNEL_LSP_FILE=str(tree / rel),
                   KERNEL_LSP_LINE=str(line), KERNEL_LSP_WORD="kz", KERNEL_LSP_MEMBER="f->f_")
    ev = run.events
    assert ev["attached"]["omnifunc"] == "v:lua.vim.lsp.omnifunc"
    word = ev["word"]
    words = {i["word"] for i in word["items"]}
    # the server's answer filled the popup menu (vim.lsp.omnifunc calls complete(): mode eval)
    assert "kzalloc" in words and word["mode"] in ("omni", "eval"), word
    assert all(w.startswith("kz") for w in words), words
    kz = next(i for i in word["items"] if i["word"] == "kzalloc")
    assert kz["kind"] == "Function" and "kzalloc(" in kz["menu"], kz
    member = ev["member"]
    assert {i["word"] for i in member["items"]} == {"f_inode", "f_op", "f_lock", "f_flags",
                                                    "f_pos", "f_list"}, member
    assert all(i["kind"] == "Field" for i in member["items"])
    assert ev["stopped"]["clean"]
