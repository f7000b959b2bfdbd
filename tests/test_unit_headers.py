"""Headers as each unit sees them: a header that relies on its includer for a type (``u32``,
``struct dev``) is fine where the includer provides it first and wrong where it does not; the
finding sits in the header, as the compiler reports it, and the fix goes into the unit."""

from __future__ import annotations

import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from kernel_lsp.cli import main
from tests.conftest import checked_errors, write_tree
from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    apply_text_edits,
    capabilities,
    open_doc,
    replace_all,
    start,
    uri,
    wait_published,
)

TREE = {
    "Kconfig": "",
    "include/linux/types.h": "#ifndef _T\n#define _T\ntypedef unsigned int u32;\n#endif\n",
    "include/linux/dev.h": "struct dev {\n\tint id;\n};\nint dev_id(struct dev *d);\n",
    # relies on its includers for u32 and struct dev (not self-contained, as many are)
    "drivers/regs/regs.h": (
        "struct regs {\n"
        "\tu32 ctrl;\n"
        "\tstruct dev owner;\n"
        "\tstruct dev *peer;\n"  # a pointer: legal without the definition
        "};\n"
        "static inline u32 regs_ctrl(struct regs *r)\n{\n\treturn r->ctrl;\n}\n"
        "static inline int regs_id(struct regs *r)\n{\n\treturn dev_id(&r->owner);\n}\n"),
    # provides both first: nothing to report
    "drivers/regs/good.c": ('#include <linux/types.h>\n#include <linux/dev.h>\n'
                            '#include "regs.h"\n'
                            "u32 good(struct regs *r)\n{\n\treturn regs_ctrl(r);\n}\n"),
    # includes the header without <linux/types.h> before it (the one it provides comes after)
    "drivers/regs/bad.c": ('#include <linux/dev.h>\n#include "regs.h"\n'
                           '#include <linux/types.h>\n'
                           "u32 bad(struct regs *r)\n{\n\treturn regs_ctrl(r);\n}\n"),
    # a header that includes what it needs is fine in any order
    "drivers/regs/whole.h": '#include <linux/types.h>\nstatic inline u32 whole(void)\n{\n'
                            "\treturn 0;\n}\n",
    "drivers/regs/alone.c": '#include "whole.h"\nint alone(void)\n{\n\treturn whole();\n}\n',
    # a macro of the same name elsewhere stands for the type only where it is visible
    "drivers/other/compat.h": "#define u32 unsigned int\n",
    "drivers/other/user.c": '#include "compat.h"\n#include "../regs/regs.h"\n'
                            "int user(struct regs *r)\n{\n\treturn regs_ctrl(r);\n}\n",
}
# (path, 1-based line, code, symbol): the uses of u32 in regs.h as bad.c includes it
EXPECTED = {
    ("drivers/regs/regs.h", 2, "407_2", "u32"),
    ("drivers/regs/regs.h", 6, "407_2", "u32"),
    ("drivers/regs/regs.h", 3, "407_2", "dev"),  # user.c: struct dev by value, undefined there
    ("drivers/regs/regs.h", 12, "404_2", "dev_id"),  # user.c: dev_id undeclared there
}


def test_a_header_is_checked_as_each_unit_includes_it(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == EXPECTED


def test_checking_the_unit_alone_reports_in_the_header_and_fixes_the_unit(tmp_path, capsys):
    root = write_tree(tmp_path, TREE)
    capsys.readouterr()
    assert main(["check", "drivers/regs/bad.c", "drivers/regs/good.c", "--root", str(root),
                 "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["root_path"], f["line"], f["code"], f["symbol"]) for f in found} == {
        e for e in EXPECTED if e[3] == "u32"}
    assert all("drivers/regs/bad.c does not include" in f["message"] for f in found)
    assert {f["unit"] for f in found} == {"drivers/regs/bad.c"}  # JSON names the unit
    assert main(["fix", "drivers/regs/bad.c", "--root", str(root)]) in (0, 1)
    text = (root / "drivers/regs/bad.c").read_text()
    assert text.index("#include <linux/types.h>") < text.index('#include "regs.h"')
    capsys.readouterr()
    assert main(["check", "drivers/regs", "--root", str(root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_a_macro_stands_for_the_type_only_where_it_is_visible(tmp_path, capsys):
    root = write_tree(tmp_path, TREE)
    capsys.readouterr()
    assert main(["check", "drivers/other/user.c", "--root", str(root), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["root_path"], f["line"], f["symbol"]) for f in found} == {
        ("drivers/regs/regs.h", 3, "dev"), ("drivers/regs/regs.h", 12, "dev_id")}


# -- in the editor: one diagnostic at the include line of the unit, the fix above it ----------
@pytest.fixture(scope="module")
def lsp_tree(tmp_path_factory):
    root = write_tree(tmp_path_factory.mktemp("unit-headers"), TREE)
    assert main(["index", str(root)]) == 0
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def client(lsp_client: LanguageClient, lsp_tree):
    await start(lsp_client, lsp_tree, capabilities(VSCODE))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.e2e
@pytest.mark.asyncio(loop_scope="module")
async def test_the_editor_shows_the_include_line_and_fixes_above_it(client, lsp_tree):
    text = (lsp_tree / "drivers/regs/bad.c").read_text()
    u = open_doc(client, lsp_tree, "drivers/regs/bad.c", text)
    got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics))
    (diag,) = got.diagnostics
    assert (diag.code, diag.range.start.line) == ("407_2", 1)  # the line of #include "regs.h"
    assert "'u32'" in diag.message and "drivers/regs/regs.h:2" in diag.message
    assert [r.location.range.start.line for r in diag.related_information] == [1, 5]
    assert all(r.location.uri == uri(lsp_tree, "drivers/regs/regs.h")
               for r in diag.related_information)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(u), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))
    (edits,) = [a.edit.changes[u] for a in actions if "<linux/types.h>" in a.title]
    new = apply_text_edits(text, edits)
    assert new.splitlines()[:3] == ["#include <linux/dev.h>", "#include <linux/types.h>",
                                    '#include "regs.h"']
    replace_all(client, u, 2, new)
    await wait_published(client, u, 2, lambda p: not p.diagnostics)
    good = open_doc(client, lsp_tree, "drivers/regs/good.c")
    assert not (await wait_published(client, good, 1)).diagnostics


def test_of_several_units_the_finding_names_the_first_by_path_whatever_the_file_ids():
    """File ids follow the order files were indexed in (1 or 2 processes): which unit a header's
    finding names must not."""
    from kernel_lsp.checks.run import _before
    from kernel_lsp.findings import Finding

    def seen_from(unit):
        return Finding("407_2", "h.h", 1, 0, 1, 3, "u32", "m", {"unit": unit} if unit else {})
    assert _before(seen_from("a.c"), seen_from("b.c"))
    assert not _before(seen_from("b.c"), seen_from("a.c"))
    assert _before(seen_from(None), seen_from("a.c"))  # the header's own finding wins
    assert not _before(seen_from("a.c"), seen_from(None))


def test_a_type_is_said_to_come_from_a_shared_header_before_a_driver_s_or_a_program_s():
    """``u16`` is typedef'd by the kernel's headers and by host tools' ``.c`` files: the message
    names the kernel header (``sorted`` paths named ``crypto/jitterentropy.c``)."""
    from kernel_lsp.checks.typevis import home_order

    class Paths:
        paths = {1: "crypto/jitterentropy.c", 2: "drivers/comedi/tools/convert.c",
                 3: "include/asm-generic/int-ll64.h", 4: "drivers/acpi/acpica/local.h",
                 5: "arch/x86/include/asm/types.h"}

        def path(self, fid):
            return self.paths[fid]
    assert home_order(Paths(), [1, 2, 4, 3, 5, 3]) == [
        "arch/x86/include/asm/types.h", "include/asm-generic/int-ll64.h",
        "drivers/acpi/acpica/local.h", "crypto/jitterentropy.c", "drivers/comedi/tools/convert.c"]


def test_an_undeclared_call_names_the_shared_header_before_a_programs_own(tmp_path, capsys):
    import json

    from kernel_lsp.cli import main
    from tests.conftest import write_tree

    proto = "void *memcpy(void *d, const void *s, unsigned long n);\n"
    write_tree(tmp_path, {
        "Kconfig": "", "include/linux/string.h": proto, "arch/x86/boot/string.h": proto,
        "fs/a.c": "int f(void)\n{\n\tchar a[2], b[2];\n\tmemcpy(a, b, 2);\n\treturn 0;\n}\n"})
    capsys.readouterr()
    assert main(["check", "--root", str(tmp_path), "--format", "json"]) == 1
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["code"] == "404_2"]
    assert [(f["root_path"], f["line"], f["symbol"]) for f in found] == [("fs/a.c", 4, "memcpy")]
    # by path, arch/x86/boot/string.h (the real-mode setup code's own header) would come first
    assert "declared in include/linux/string.h, which is not included" in found[0]["message"]


# (path, new text) per step, applied in order to one editor session; after each, the session
# (which keeps the headers' context needs across checks while the buffers' definitions and
# includes stay) reports what a fresh session given the same buffers reports
EDITS = [
    ("drivers/regs/bad.c", TREE["drivers/regs/bad.c"]),  # as stored
    ("drivers/regs/bad.c", TREE["drivers/regs/bad.c"].replace("return regs_ctrl(r);",
                                                              "return regs_ctrl(r) + 1;")),
    ("drivers/regs/bad.c", "\n" + TREE["drivers/regs/bad.c"]),  # every line moved
    ("drivers/regs/bad.c", "typedef unsigned int u32;\n" + TREE["drivers/regs/bad.c"]),
    ("drivers/regs/bad.c", TREE["drivers/regs/bad.c"]),
    ("drivers/regs/bad.c", "int dev_id(struct dev *d);\n" + TREE["drivers/regs/bad.c"]),
    ("drivers/regs/bad.c", '#include <linux/types.h>\n' + TREE["drivers/regs/bad.c"]),
    ("drivers/other/user.c", TREE["drivers/other/user.c"]),
    ("drivers/other/compat.h", "#define u32 int\n"),
    ("drivers/other/compat.h", "\n"),  # the macro that stood for u32 gone
    ("include/linux/dev.h", TREE["include/linux/dev.h"].replace("struct dev {", "struct devx {")),
    # a header opened, then its own uses change, its definitions do not: its needs are not kept
    ("drivers/regs/regs.h", TREE["drivers/regs/regs.h"]),
    ("drivers/regs/regs.h", TREE["drivers/regs/regs.h"].replace("static inline u32 regs_ctrl",
                                                                "static inline int regs_ctrl")),
    ("drivers/regs/regs.h", TREE["drivers/regs/regs.h"].replace("\tu32 ctrl;\n", "")),
    ("drivers/other/user.c", TREE["drivers/other/user.c"] + "\n"),
]


def test_an_editor_session_keeps_the_headers_needs_only_while_they_hold(tmp_path):
    from kernel_lsp.config import load_config
    from kernel_lsp.live.workspace import Workspace
    from kernel_lsp.model.indexer import index

    root = write_tree(tmp_path, TREE)
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    units = ["drivers/regs/bad.c", "drivers/other/user.c", "drivers/regs/good.c"]

    def seen(ws):
        return sorted((f.code, f.path, f.line, f.col, f.symbol, f.message)
                      for r in ws.findings(units) for f in [r.finding])

    session = Workspace(config)
    assert session.load() is None
    buffers: dict[str, str] = {}
    steps = []
    try:
        for path, text in EDITS:
            buffers[path] = text
            session.set_buffer(path, text.encode())
            fresh = Workspace(config)
            try:
                assert fresh.load() is None
                for p, t in buffers.items():
                    fresh.set_buffer(p, t.encode())
                want = seen(fresh)
            finally:
                fresh.close()
            got = seen(session)
            assert got == want, (path, text)
            steps.append(len(got))
        assert session._header_needs[1], "no header's needs were kept"
    finally:
        session.close()
    assert len(set(steps)) > 2  # the edits did change what is reported


def test_the_findings_of_some_bodies_do_not_take_the_kept_needs_of_whole_headers(tmp_path):
    """A demand's functions are checked on their own call sites and uses only: what a full
    check kept of the headers' needs is not theirs (a 407_2 in ``regs.h`` is no finding of
    ``bad()``)."""
    from kernel_lsp.config import load_config
    from kernel_lsp.live.workspace import Workspace
    from kernel_lsp.model.indexer import index

    root = write_tree(tmp_path, TREE)
    config, _ = load_config(root)
    index(config, jobs=1).model.close()
    wanted = {"drivers/regs/bad.c": {"bad"}}

    def of_bodies(ws):
        return sorted((f.code, f.path, f.line, f.symbol) for r in ws.body_findings(wanted)
                      for f in [r.finding])

    fresh, session = Workspace(config), Workspace(config)
    try:
        assert fresh.load() is None and session.load() is None
        assert any(r.finding.path == "drivers/regs/regs.h"
                   for r in session.findings(["drivers/regs/bad.c"]))
        assert session._header_needs[1]
        assert of_bodies(session) == of_bodies(fresh)
    finally:
        fresh.close()
        session.close()


# A .c file that several drivers include, each after saying which chip it is built for
# (sound/pci/au88x0: au8820.c includes au8820.h, which defines CHIP_AU8820, then
# au88x0_core.c; sound/pci/echoaudio: darla20.c defines the ECHOCARD_HAS_* it has, then
# includes echoaudio.c). A branch of the shared file is read only by the units it is live in.
CHIPS = {
    "Kconfig": "",
    "sound/chips/chip_b.h": "int eq_in(int x);\n",
    "sound/chips/chip_a.h": "#define CHIP_A\n",
    "sound/chips/gain_dsp.c": "static int set_gain(int g)\n{\n\treturn g;\n}\n",
    "sound/chips/core.c": (
        "#ifndef CHIP_A\n"
        "static int core_eq(void)\n{\n\treturn eq_in(1);\n}\n"  # 4: chip A has no equalizer
        "#endif\n"
        "#ifdef HAS_GAIN\n"
        "static int core_gain(void)\n{\n\treturn set_gain(2);\n}\n"  # 10: chip C lacks it
        "#endif\n"
        "#ifdef CHIP_A\n"
        "static int core_mode(void)\n{\n\treturn 0;\n}\n"
        "#else\n"
        "static int core_mode(void)\n{\n\treturn eq_in(3);\n}\n"  # 21
        "#endif\n"),
    "sound/chips/chip_a.c": '#include "chip_a.h"\n#include "core.c"\n',
    "sound/chips/chip_b.c": ('#define HAS_GAIN\n#include "chip_b.h"\n#include "gain_dsp.c"\n'
                             '#include "core.c"\n'),
    "sound/chips/chip_c.c": '#define HAS_GAIN\n#include "chip_b.h"\n#include "core.c"\n',
}


def test_a_shared_c_file_is_checked_only_in_the_branches_each_unit_compiles(tmp_path, capsys):
    # chip A compiles neither core_eq nor the second core_mode, which call eq_in that only
    # chip_b.h declares; chip C defines HAS_GAIN without gain_dsp.c: its one true error
    assert checked_errors(write_tree(tmp_path, CHIPS), capsys) == {
        ("sound/chips/core.c", 10, "404_2", "set_gain")}


# A .c file that several drivers include, each after giving the hardware version a number
# (drivers/gpu/host1x/hw: host1x01.c ... host1x08.c ``#define HOST1X_HW 1`` ... ``8``, then
# include channel_hw.c, whose ``#if HOST1X_HW >= 6`` branches use the registers of the
# version 6 headers, and debug_hw.c, which includes debug_hw_1x06.c under ``#if HOST1X_HW >=
# 6``). A branch, or a file included in one, is read only by the units whose number makes
# the comparison true.
VERSIONS = {
    "Kconfig": "",
    "drivers/hw/regs_v1.h": "#define OLD_BASE(x) ((x) * 4)\n",
    "drivers/hw/regs_v6.h": "#define HV_FILTER(x) (0x2020 + (x) * 4)\n",
    "drivers/hw/channel_hw.c": (
        "static int filter(int id)\n{\n"
        "#if HW >= 6\n"
        "\treturn HV_FILTER(id);\n"  # 4: version 1 and 2 do not read it
        "#else\n\treturn OLD_BASE(id);\n#endif\n}\n"
        "static int base(int id)\n{\n"
        "#if HW < 0x6\n"
        "\treturn OLD_BASE(id);\n"  # 12: version 6 does not read it
        "#else\n\treturn 0;\n#endif\n}\n"
        "static int later(int id)\n{\n"
        "#if defined(CONFIG_NOTHING) || HW >= 2\n"
        "\treturn HV_FILTER(id);\n"  # 20: version 2 reads it without regs_v6.h
        "#endif\n\treturn id;\n}\n"),
    "drivers/hw/debug_hw.c": '#if HW >= 6\n#include "debug_v6.c"\n#endif\n',
    "drivers/hw/debug_v6.c": "static int dbg(int id)\n{\n\treturn HV_FILTER(id);\n}\n",
    "drivers/hw/v1.c": ('#include "regs_v1.h"\n#define HW 1 /* the first */\n'
                        '#include "channel_hw.c"\n#include "debug_hw.c"\n'),
    "drivers/hw/v2.c": '#include "regs_v1.h"\n#define HW 2\n#include "channel_hw.c"\n',
    "drivers/hw/v6.c": ('#include "regs_v6.h"\n#define HW (6)\n#include "channel_hw.c"\n'
                        '#include "debug_hw.c"\n'),
}


def test_a_shared_c_file_is_checked_in_the_branches_each_units_number_compiles(tmp_path,
                                                                              capsys):
    assert checked_errors(write_tree(tmp_path, VERSIONS), capsys) == {
        ("drivers/hw/channel_hw.c", 20, "404_2", "HV_FILTER")}
