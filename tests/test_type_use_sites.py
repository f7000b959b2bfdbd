"""Every line of a missing type: the model stores one use per scope (a struct's members, one
function body, one signature) and a finding on it names the later lines of that scope too, as
the compiler reports each line: in the JSON (``also``), as note lines in text, as SARIF related
locations, and as one diagnostic per line in the editor."""

from __future__ import annotations

import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from kernel_lsp.cli import main
from kernel_lsp.parse.extract import extract
from tests.conftest import write_tree
from tests.lsp_helpers import SERVER, VSCODE, capabilities, open_doc, start, wait_published

USER = ("struct pkt {\n"          # 1
        "\tu8 kind;\n"            # 2  407_2 u8, also 3 and 5
        "\tu8 len;\n"             # 3
        "\tint n;\n"              # 4
        "\tu8 crc;\n"             # 5
        "};\n"                    # 6
        "int sum(void)\n"         # 7
        "{\n"                     # 8
        "\tu8 a = 1;\n"           # 9  407_2 u8, also 10
        "\tu8 b = 2;\n"           # 10
        "\tbogus_t c = 0;\n"      # 11 020_2 bogus_t, also 12
        "\tbogus_t d = 0;\n"      # 12
        "\treturn a + b + c + d;\n"
        "}\n"
        "int one(void)\n"         # 15
        "{\n"
        "\tu8 r = 3;\n"           # 17 407_2 u8 alone: another body, another finding
        "\treturn r;\n"
        "}\n"
        "int deref(void)\n"       # 20
        "{\n"
        "\tstruct ghost *g = 0;\n"  # 22 020_2 ghost: the pointer and (23) what the compiler
        "\treturn g->n;\n"        # 23 reports, the dereference, are one finding
        "}\n")
TREE = {
    "Kconfig": "",
    "include/linux/types.h": "typedef unsigned char u8;\n",
    "drivers/pkt/pkt.c": USER,
}
# (1-based line, code, symbol) -> the later lines the finding names
EXPECTED = {(2, "407_2", "u8"): [3, 5], (9, "407_2", "u8"): [10],
            (11, "020_2", "bogus_t"): [12], (17, "407_2", "u8"): [], (22, "020_2", "ghost"): [23]}


def test_one_use_per_scope_remembers_its_later_lines():
    facts = extract("drivers/pkt/pkt.c", USER.encode())
    uses = {(u.span.line + 1, u.name): [line + 1 for line, _col in u.more]
            for u in facts.type_uses}
    # the pointer to struct ghost and the access through it are two uses (two needs)
    assert uses == {**{(line, symbol): also for (line, _code, symbol), also in EXPECTED.items()},
                    (22, "ghost"): [], (23, "ghost"): []}


def test_file_scope_uses_name_no_later_lines():
    """At file scope an include may come between two uses: each stands for itself."""
    text = b"u8 a;\n#include <linux/types.h>\nu8 b;\n"
    (use,) = [u for u in extract("x.c", text).type_uses if u.name == "u8"]
    assert use.more == ()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = write_tree(tmp_path_factory.mktemp("sites"), TREE)
    assert main(["index", str(root)]) == 0
    return root


def _check(root, capsys, fmt: str) -> str:
    capsys.readouterr()
    assert main(["check", "--root", str(root), "--format", fmt]) == 1
    return capsys.readouterr().out


def test_json_names_the_later_lines(tree, capsys):
    found = json.loads(_check(tree, capsys, "json"))["findings"]
    got = {(f["line"], f["code"], f["symbol"]): [a["line"] for a in f.get("also", [])]
           for f in found if f["code"] in ("407_2", "020_2")}
    assert got == EXPECTED
    (first,) = [f for f in found if f["line"] == 2]
    assert first["also"][0] == {"line": 3, "column": 2, "end_column": 4}


def test_text_lists_each_later_line_as_a_note(tree, capsys):
    out = _check(tree, capsys, "text").splitlines()
    notes = [line for line in out if ": note: 'u8' used here too [407_2]" in line]
    assert [n.split(":")[1] for n in notes] == ["3", "5", "10"]
    first = next(i for i, line in enumerate(out) if "pkt.c:2:2: error:" in line)
    assert "pkt.c:3:2: note:" in out[first + 1]


def test_sarif_gives_related_locations(tree, capsys):
    results = json.loads(_check(tree, capsys, "sarif"))["runs"][0]["results"]
    got = {r["locations"][0]["physicalLocation"]["region"]["startLine"]:
           [x["physicalLocation"]["region"]["startLine"] for x in r.get("relatedLocations", [])]
           for r in results if r["ruleId"] in ("407_2", "020_2")}
    assert got == {line: also for (line, _c, _s), also in EXPECTED.items()}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def client(lsp_client: LanguageClient, tree):
    await start(lsp_client, tree, capabilities(VSCODE))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.e2e
@pytest.mark.asyncio(loop_scope="module")
async def test_the_editor_marks_every_line(client, tree):
    u = open_doc(client, tree, "drivers/pkt/pkt.c", USER)
    got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics))
    marked = sorted((d.range.start.line + 1, d.code) for d in got.diagnostics
                    if d.code in ("407_2", "020_2"))
    assert marked == sorted((line, code) for (first, code, _s), also in EXPECTED.items()
                            for line in (first, *also))
    fixable = [d for d in got.diagnostics if d.code == "407_2" and d.range.start.line == 2]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(u), range=fixable[0].range,
        context=types.CodeActionContext(diagnostics=fixable)))
    assert any("<linux/types.h>" in a.title for a in actions)
