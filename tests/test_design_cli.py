"""``demand extract``, ``selfcheck`` and ``verify`` as a user runs them: outputs, exit statuses
and clear messages for bad input; layer policies from kernel-lsp.toml and policy files."""

from __future__ import annotations

import json
import shutil

import pytest

from kernel_lsp.cli import main
from kernel_lsp.config import load_config
from kernel_lsp.design.demand import parse_demand
from kernel_lsp.fixes.derive import derived_prototype
from tests.conftest import TREE


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    dest = tmp_path_factory.mktemp("design-cli") / "tree"
    shutil.copytree(TREE, dest, ignore=shutil.ignore_patterns(".kernel-lsp"))
    assert main(["index", str(dest)]) == 0
    return dest


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_extract_the_open_demand(tree, capsys):
    status, out, _ = run(capsys, "demand", "extract", "sys_open", "--depth", "4", "--root",
                         str(tree))
    assert status == 0
    demand, problems = parse_demand(out, "x.demand.yaml")
    assert problems == []
    chains = [[r.label for r in p.chain] for p in demand.paths]
    assert chains == [
        ["sys_open", "__do_sys_open@fs/open.c", "do_sys_open", "copy_from_user"],
        ["do_sys_open", "filp_open", "ramfs_lookup_name"],
        ["filp_open", "alloc_empty_file"],
        ["filp_open", "do_dentry_open@fs/open.c"],
        ["filp_open", "kfree"]]
    assert "# from fs/open.c:117: one demanding invocation per call-tree edge (8)." in out
    status, _, _ = run(capsys, "demand", "extract", "sys_open", "--depth", "9", "--limit", "3",
                       "--root", str(tree), "--output", str(tree / "three.demand.yaml"))
    assert status == 0
    demand, _ = parse_demand((tree / "three.demand.yaml").read_text(), "three")
    assert demand.invocation_count == 3


def test_an_extracted_demand_verifies(tree, capsys):
    run(capsys, "demand", "extract", "filp_open", "--depth", "1", "--root", str(tree),
        "--output", str(tree / "filp.demand.yaml"))
    status, out, _ = run(capsys, "verify", str(tree / "filp.demand.yaml"), "--format", "json")
    doc = json.loads(out)
    assert status == 0 and doc["code"] == "400_1" and doc["summary"]["invocations"] == 4


def test_commands_run_inside_the_tree_without_root(tree, capsys, monkeypatch):
    """As a user types them in a kernel checkout: the root is found from the directory."""
    monkeypatch.chdir(tree / "fs")
    status, out, err = run(capsys, "demand", "extract", "sys_open", "--depth", "2")
    assert status == 0 and "sys_open" in out, err
    (tree / "here.demand.yaml").write_text(out)
    status, out, err = run(capsys, "verify", str(tree / "here.demand.yaml"), "--format", "json")
    assert status in (0, 1) and json.loads(out)["demands"], err
    status, out, err = run(capsys, "selfcheck", "--format", "json")
    assert status in (0, 1) and json.loads(out), err
    (tree / "here.demand.yaml").unlink()


def test_extract_bad_start(tree, capsys):
    status, _, err = run(capsys, "demand", "extract", "no_such_fn", "--root", str(tree))
    assert status == 2 and err == "kernel-lsp: no definition of no_such_fn in the model\n"
    status, _, err = run(capsys, "demand", "extract", "x", "--depth", "0", "--root", str(tree))
    assert status == 2 and "must be a positive integer" in err


def test_selfcheck_json(tree, capsys):
    status, out, _ = run(capsys, "selfcheck", "--root", str(tree), "--format", "json")
    doc = json.loads(out)
    assert status == 1
    assert doc["missing"]["by_kind"] == {"enum": 1, "function": 2, "struct": 5, "typedef": 1,
                                         "union": 1}
    missing = {(m["name"], m["kind"]): m for m in doc["missing"]["items"]}
    assert missing[("nr_processes", "function")]["repairs"] == [
        "declare it as derived from its first call: int nr_processes(void);",
        "define a stub with that signature"]
    assert missing[("nr_processes", "function")]["first_use"] == {
        "path": "kernel/sys.c", "line": 30, "column": 14}
    assert missing[("led_classdev", "struct")]["repairs"] == ["define a stub struct led_classdev"]
    assert doc["declared_never_defined"]["count"] == 14  # __traceiter_blinker_toggle too
    assert {"name": "fget", "path": "include/linux/fs.h", "line": 86} in \
        doc["declared_never_defined"]["items"]
    assert doc["headers_never_included"] == {"count": 0, "items": []}
    assert doc["levels"]["file"] == 61 and doc["relationships"]["Invocable"] > 200


def test_selfcheck_suggests_a_close_name(tmp_path, capsys):
    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    path = root / "kernel" / "sys.c"
    path.write_text(path.read_text().replace("kfree(hostname_buf)", "kfre(hostname_buf)"))
    status, out, _ = run(capsys, "selfcheck", "--root", str(root))
    assert status == 1
    assert "  kfre (function, level 2): 1 use(s), first at kernel/sys.c:42:2\n" \
           "      repair: did you mean kfree?\n" in out


def test_verify_bad_input(tree, capsys, tmp_path):
    status, _, err = run(capsys, "verify", str(tmp_path / "none.demand.yaml"))
    assert status == 2 and err == f"kernel-lsp: {tmp_path / 'none.demand.yaml'}: no such file\n"
    (tmp_path / "dir.demand.yaml").mkdir()  # (and a FIFO, /dev/zero: no such file, it said)
    (tmp_path / "zero.demand.yaml").symlink_to("/dev/zero")
    for name in ("dir.demand.yaml", "zero.demand.yaml"):
        status, _, err = run(capsys, "verify", str(tmp_path / name))
        assert status == 2 and err == f"kernel-lsp: {tmp_path / name}: not a regular file\n"
    other = tmp_path / "notes.yaml"
    other.write_text("id: x\n")
    status, _, err = run(capsys, "verify", str(other), "--root", str(tree))
    assert status == 2 and "not a demand (*.demand.yaml) or a layer policy" in err
    bad = tree / "bad.demand.yaml"
    bad.write_text("id: bad\npaths:\n  - chain: [filp_open]\n")
    status, out, err = run(capsys, "verify", str(bad), "--format", "json")
    assert status == 2
    assert err == ("kernel-lsp: bad.demand.yaml:3:12: path 1: 'chain' must list at least two "
                   "functions (caller, callee)\n")
    doc = json.loads(out)
    assert doc["code"] == "400_2" and doc["demands"][0]["problems"] == [
        {"line": 3, "column": 12,
         "message": "path 1: 'chain' must list at least two functions (caller, callee)"}]
    status, _, err = run(capsys, "verify", str(tree / "mm.layers.yaml"), "--format", "html")
    assert status == 2 and "the HTML report is for demands" in err


def test_verify_policies_alone_reports_layer_findings(tree, capsys):
    status, out, _ = run(capsys, "verify", str(tree / "mm.layers.yaml"), "--format", "json")
    doc = json.loads(out)
    assert status == 1
    assert [(f["code"], f["root_path"], f["line"], f["symbol"]) for f in doc["findings"]] == [
        ("408_2", "mm/vmscan.c", 29, "activate_page"),
        ("408_2", "mm/vmscan.c", 54, "watermark_scale_factor")]
    extra = tree / "core.layers.yaml"
    extra.write_text("domains:\n  mm: {paths: [mm/**], may_call: []}\n")
    try:
        status, out, _ = run(capsys, "verify", str(extra), "--format", "text")
        assert status == 1
        assert "mm/filemap.c:31:3: error: layer violation (call of 'schedule', defined in " \
               "kernel/sched/core.c): mm may not call code outside every domain (mm may call: " \
               "nothing outside itself) [policy core.layers.yaml] [408_2]" in out
    finally:
        extra.unlink()


def test_layers_in_kernel_lsp_toml(tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    (root / "mm.layers.yaml").unlink()
    (root / "kernel-lsp.toml").write_text(
        '[layers.domains.mm]\npaths = ["mm/**"]\nmay_call = ["headers"]\n'
        '[layers.domains.headers]\npaths = ["include/**"]\n')
    config, messages = load_config(root)
    assert messages == []
    assert [p.origin for p in config.policies] == ["kernel-lsp.toml [layers]"]
    (root / "kernel-lsp.toml").write_text('layers = 3\nlayer_files = ["policies/*.yaml"]\n')
    (root / "policies").mkdir()
    (root / "policies" / "a.yaml").write_text("domains:\n  a: {paths: [a], may_call: [b]}\n")
    config, messages = load_config(root)
    assert messages == ["kernel-lsp.toml: 'layers' must be a table of domains; ignored",
                        "policies/a.yaml:2:30: domain 'a': may_call names an unknown domain 'b'"]
    assert [p.origin for p in config.policies] == ["policies/a.yaml"]


@pytest.mark.parametrize("call, name, prototype", [
    ("x = frob(inode, \"name\", 4, &k);", "frob",
     "int frob(struct inode *inode, const char *arg1, int arg2, unsigned long *k);"),
    ("f = open_it(inode, sizeof(*f), (u32)n);", "open_it",
     "struct file *open_it(struct inode *inode, size_t arg1, u32 arg2);"),
    ("do_thing(f, 1UL, 0x10, NULL);", "do_thing",
     "void do_thing(struct file *f, unsigned long arg1, int arg2, void *arg3);"),
    ("return get_total(n, 2.0);", "get_total", "long get_total(int n, double arg1);"),
    ("do_thing(f->f_op, 1);", "do_thing", None),  # a member's type is not known here
])
def test_derived_prototypes(call, name, prototype):
    source = ("static long caller(struct inode *inode, int n)\n{\n\tstruct file *f = NULL;\n"
              "\tunsigned long k = 3;\n\tint x;\n\n\t" + call + "\n\treturn 0;\n}\n")
    line = 6
    col = source.splitlines()[line].index(name)
    assert derived_prototype(source, line, col, name) == prototype


def test_fix_applies_did_you_mean(tmp_path, capsys):
    from tests.design_cases import CASES

    case = next(c for c in CASES if c.name == "missing-type")
    root = case.build(tmp_path / "tree")
    status, out, err = run(capsys, "fix", str(root / "fs"), "--code", "020_2", "--dry-run")
    assert "-static int do_dentry_open(struct file *f, struct inod *inode)" in out
    assert "+static int do_dentry_open(struct file *f, struct inode *inode)" in out
    status, out, err = run(capsys, "fix", str(root / "fs"), "--code", "020_2")
    assert status == 0, (out, err)
    assert "struct inode *inode)" in (root / "fs" / "open.c").read_text()
    status, out, _ = run(capsys, "check", str(root / "fs" / "open.c"))
    assert status == 0 and out == ""


def test_a_type_defined_under_another_configuration(tmp_path, capsys):
    """A struct defined only in an #if branch the configuration drops: selfcheck says where and
    under which condition; verification says it in the missing type's item."""
    root = tmp_path / "tree"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
    (root / "include" / "linux" / "leds.h").write_text(
        "#ifndef _LINUX_LEDS_H\n#define _LINUX_LEDS_H\nstruct led_trigger;\n"
        "#ifdef CONFIG_LEDS_TRIGGERS\nstruct led_trigger {\n\tconst char *name;\n};\n#endif\n"
        "#endif\n")
    (root / ".config").write_text("CONFIG_MMU=y\n")  # a known configuration: unset is off
    status, out, _ = run(capsys, "selfcheck", "--root", str(root), "--format", "json")
    items = {(m["name"], m["kind"]): m for m in json.loads(out)["missing"]["items"]}
    assert items[("led_trigger", "struct")]["repairs"] == [
        "defined in include/linux/leds.h:5 in a branch this configuration drops "
        "(#ifdef CONFIG_LEDS_TRIGGERS): enable that configuration, or guard the use",
        "define a stub struct led_trigger"]
    # by value (a pointer to the declared struct would be legal C): the user's .config drops the
    # definition, so it is 020_2 here, with the header that defines it as the repair
    (root / "drivers" / "char" / "trig.c").write_text(
        "#include <linux/kernel.h>\n\nstruct led_trigger default_trigger;\n")
    status, out, _ = run(capsys, "fix", str(root / "drivers" / "char" / "trig.c"), "--code",
                         "020_2", "--dry-run")
    assert "+#include <linux/leds.h>\n" in out  # the header that defines it elsewhere first
    demand = root / "led.demand.yaml"
    demand.write_text("id: led\npaths:\n  - [ledctl_run, "
                      "ledctl_set_level@drivers/misc/blinker/ledctl.c]\n")
    status, out, _ = run(capsys, "verify", str(demand), "--format", "json")
    elements = {e["id"]: e for e in json.loads(out)["elements"]}
    assert elements["type:struct led_trigger"]["existence"]["message"] == (
        "'struct led_trigger' is defined nowhere in the model; defined in "
        "include/linux/leds.h:5 in a branch this configuration drops "
        "(#ifdef CONFIG_LEDS_TRIGGERS)")
