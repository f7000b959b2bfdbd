"""``plan_fixes`` on real fixture models: which fix each finding gets, header ranking, prototypes."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kernel_lsp.config import Config, load_config
from kernel_lsp.findings import Finding
from kernel_lsp.fixes import plan_fixes, realize
from kernel_lsp.fixes.decltext import extern_variable, prototype, strip_definition_words
from kernel_lsp.fixes.plan import rank_headers
from kernel_lsp.live.workspace import open_workspace
from kernel_lsp.model.indexer import index
from kernel_lsp.model.resolve import IncludeResolver
from tests.conftest import GADGET_TREE
from tests.conftest import TREE as LINUX_TREE

# The preferred plan of every fixable finding of fixtures/linux-tree: (kind, title).
LINUX_PREFERRED = {
    ("404_2", "fs/stat.c", "do_sys_open"): ("include", 'Include "internal.h" for symbol do_sys_open'),
    ("404_2", "kernel/sys.c", "ktime_get_real_ns"):
        ("include", "Include <linux/timekeeping.h> for symbol ktime_get_real_ns"),
    ("404_2", "kernel/sys.c", "kfree"): ("include", "Include <linux/slab.h> for symbol kfree"),
    ("404_2", "mm/vmscan.c", "activate_page"): ("declare", "Declare activate_page"),
    ("405_2", "mm/vmscan.c", "__free_one_page"):
        ("export", "Make __free_one_page non-static and declare it in mm/internal.h"),
    ("406_2", "mm/vmscan.c", "nr_reserved_pages"):
        ("export", "Make nr_reserved_pages non-static and declare it in mm/internal.h"),
    ("406_2", "mm/vmscan.c", "watermark_scale_factor"):
        ("declare", "Declare watermark_scale_factor"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_trigger"):
        ("define_stub", "Define stub struct led_trigger"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_classdev"):
        ("define_stub", "Define stub struct led_classdev"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_pattern"):
        ("define_stub", "Define stub struct led_pattern"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_hw_regs"):
        ("define_stub", "Define stub struct led_hw_regs"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_hw_state"):
        ("define_stub", "Define stub union led_hw_state"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_default_state"):
        ("define_stub", "Define stub enum led_default_state"),
    ("405_2", "kernel/locking/lockstat.c", "__free_one_page"):  # mm/internal.h is mm's own
        ("export", "Make __free_one_page non-static and declare it in kernel/locking/lockstat.c"),
    ("404_2", "kernel/locking/lockstat.c", "task_tgid_nr"):
        ("include", "Include <linux/sched.h> for symbol task_tgid_nr"),
    ("404_2", "kernel/locking/lockstat.c", "__free_page"):
        ("include", "Include <linux/gfp.h> for symbol __free_page"),
    ("407_2", "kernel/sched/stats.c", "task_struct"):
        ("include", "Include <linux/sched.h> for symbol task_struct"),
    ("407_2", "kernel/sched/stats.c", "spinlock_t"):
        ("include", "Include <linux/spinlock.h> for symbol spinlock_t"),
    # a function defined nowhere: the prototype derived from the call (no argument; the
    # value goes to a struct member, whose type is not known: int)
    ("020_2", "kernel/sys.c", "nr_processes"): ("declare", "Declare int nr_processes(void);"),
}
# Findings that get no plan, and why (see docs/fixes.md).
LINUX_NO_PLAN = {
    # a function declared nowhere, called with an argument of unknown type (seq->step & 0xff)
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_set_brightness"),
    ("408_2", "mm/vmscan.c", "activate_page"),  # a layer violation: a design decision
    ("408_2", "mm/vmscan.c", "watermark_scale_factor"),
    ("020_2", "drivers/misc/blinker/ledctl.c", "led_brightness_t"),  # a typedef name
    ("502_2", "drivers/misc/blinker/ledctl.c", "ledctl_set_level"),  # fixed through its 020_2
    ("502_2", "drivers/misc/blinker/ledctl.c", "ledctl_first_pattern"),
    ("503_2", "drivers/misc/blinker/ledctl.c", "ledctl_seq"),
    ("E101", "kernel/bpf/selftest.c", "selftest_bad_jump"),  # an eBPF program: no quick fix
    ("503_2", "drivers/misc/blinker/ledctl.c", "ledctl_level_t"),
    ("504_2", "drivers/misc/blinker/ledctl.c", "linux/leds.h"),
}


class Indexed:
    """A fixture tree copied to a temporary root and indexed, with its findings and plans."""

    def __init__(self, src: Path, dest: Path):
        shutil.copytree(src, dest)
        self.root = dest
        self.config, _ = load_config(dest)
        self.model = index(self.config, jobs=1).model
        self.resolver = IncludeResolver.for_tree(self.config, self.model.file_paths().values())
        self.findings = [r.finding for r in
                         open_workspace(self.config, self.model, None).findings()]

    def plans(self, finding: Finding) -> list[dict]:
        return plan_fixes(finding, self.model, self.resolver, self.config)

    def text_of(self, path: str) -> str | None:
        try:
            return (self.root / path).read_text()
        except OSError:
            return None

    def find(self, code: str, path: str, symbol: str) -> Finding:
        return next(f for f in self.findings if (f.code, f.path, f.symbol) == (code, path, symbol))


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    tree = Indexed(LINUX_TREE, tmp_path_factory.mktemp("linux") / "tree")
    yield tree
    tree.model.close()


@pytest.fixture(scope="module")
def gadget(tmp_path_factory):
    tree = Indexed(GADGET_TREE, tmp_path_factory.mktemp("gadget") / "tree")
    yield tree
    tree.model.close()


def test_every_fixture_finding_is_accounted_for(linux):
    keys = {(f.code, f.path, f.symbol) for f in linux.findings}
    assert keys == set(LINUX_PREFERRED) | LINUX_NO_PLAN


@pytest.mark.parametrize("key", sorted(LINUX_PREFERRED), ids=lambda k: f"{k[0]}-{k[2]}")
def test_preferred_plan(linux, key):
    for finding in (f for f in linux.findings if (f.code, f.path, f.symbol) == key):
        plans = linux.plans(finding)
        assert (plans[0]["kind"], plans[0]["title"]) == LINUX_PREFERRED[key]
        assert [p["preferred"] for p in plans] == [True] + [False] * (len(plans) - 1)
        assert len({p["title"] for p in plans}) == len(plans)
        assert json.loads(json.dumps(plans)) == plans
        assert realize(plans[0], linux.text_of) is not None


@pytest.mark.parametrize("key", sorted(LINUX_NO_PLAN), ids=lambda k: f"{k[0]}-{k[2]}")
def test_no_plan(linux, key):
    assert linux.plans(linux.find(*key)) == []


def test_include_plans_name_the_declaring_header_as_the_resolver_writes_it(linux):
    for finding in linux.findings:
        for plan in linux.plans(finding):
            if plan["kind"] == "include":
                candidates = linux.resolver.header_candidates(plan["header_path"], finding.path)
                assert plan["header"] in candidates and plan["spellings"] == candidates
                assert linux.resolver.resolve(finding.path, plan["header"][1:-1],
                                              plan["header"][0] == "<") == plan["header_path"]


def test_declare_alternatives_carry_the_definition_signature(linux):
    titles = {p["title"]: p for p in linux.plans(linux.find("404_2", "fs/stat.c", "do_sys_open"))}
    assert titles["Declare do_sys_open"]["text"] == (
        "long do_sys_open(int dfd, const char __user *filename, int flags, umode_t mode);")
    plans = linux.plans(linux.find("404_2", "mm/vmscan.c", "activate_page"))
    assert [p["title"] for p in plans] == ["Declare activate_page",
                                          "Declare activate_page in mm/internal.h"]
    assert plans[0]["text"] == "void activate_page(struct page *page);"
    assert plans[1]["header"] == "mm/internal.h" and plans[1]["include"] is None


def test_export_plan_records_the_definition(linux):
    plan = linux.plans(linux.find("405_2", "mm/vmscan.c", "__free_one_page"))[0]
    assert plan["definition"]["path"] == "mm/page_alloc.c"
    line = (linux.root / "mm/page_alloc.c").read_text().splitlines()[plan["definition"]["line"]]
    assert line.startswith("static void __free_one_page(")
    assert plan["text"] == "void __free_one_page(struct page *page, unsigned int order);"
    var = linux.plans(linux.find("406_2", "mm/vmscan.c", "nr_reserved_pages"))[0]
    assert var["text"] == "extern unsigned long nr_reserved_pages;"


def test_both_findings_of_one_variable_get_the_same_plan(linux):
    same = [f for f in linux.findings if f.symbol == "nr_reserved_pages"]
    assert len(same) == 2
    first, second = (linux.plans(f)[0] for f in same)
    assert realize(first, linux.text_of) == realize(second, linux.text_of)


def test_type_defined_in_a_header_gets_an_include(linux):
    finding = Finding("020_2", "kernel/sys.c", 23, 8, 23, 12, "page",
                      "struct 'page' is used but defined nowhere", {"kind": "struct"})
    plans = linux.plans(finding)
    assert plans[0]["kind"] == "include" and plans[0]["header_path"] == "include/linux/mm_types.h"
    assert not [p for p in plans if p["kind"] == "define_stub"]


def test_variable_declared_in_a_header_gets_an_include(linux):
    finding = Finding("406_2", "mm/vmscan.c", 53, 10, 53, 19, "max_mapnr", "m",
                      {"defined_in": ["mm/page_alloc.c"]})
    plans = linux.plans(finding)
    assert plans[0]["title"] == "Include <linux/mm.h> for symbol max_mapnr"
    assert plans[1]["text"] == "extern unsigned long max_mapnr;"


def test_public_header_before_arch_header(gadget):
    plans = gadget.plans(gadget.find("404_2", "drivers/gadget/user.c", "gadget_hw_poke"))
    assert [p["header"] for p in plans if p["kind"] == "include"] == [
        "<linux/gadget.h>", "<asm/gadget_hw.h>"]


def test_static_function_without_header_is_declared_in_the_caller(gadget):
    plan = gadget.plans(gadget.find("405_2", "drivers/gadget/user.c", "util_scale"))[0]
    assert plan["title"] == "Make util_scale non-static and declare it in drivers/gadget/user.c"
    assert plan["header"] is None and plan["text"] == "int util_scale(int x, int factor);"


RANK_FILES = [
    "include/linux/x.h", "include/linux/y.h", "include/uapi/linux/x.h", "arch/x86/include/asm/x.h",
    "drivers/foo/x.h", "drivers/foo/bar/user.c", "drivers/foo/bar/x.h", "drivers/other/x.h",
]


def test_rank_headers(tmp_path):
    config = Config(root=tmp_path, include_paths=["include", "arch/x86/include", "include/uapi"])
    resolver = IncludeResolver(config, RANK_FILES)
    ranked = rank_headers([p for p in RANK_FILES if p.endswith(".h") and "y.h" not in p][::-1],
                          "drivers/foo/bar/user.c", resolver)
    assert [r[1] for r in ranked] == ["<linux/x.h>", "<uapi/linux/x.h>", '"x.h"', "<asm/x.h>",
                                      '"../x.h"', '"../../other/x.h"']
    # another subsystem's private header is not included through ../
    assert rank_headers(["drivers/other/x.h"], "fs/a.c", resolver) == []
    # a kernel header is written <...> even from a file beside it
    assert rank_headers(["include/linux/x.h"], "include/linux/y.h", resolver)[0][1] == \
        "<linux/x.h>"


PROTOTYPES = [
    ("static int __init page_alloc_init(void)", "page_alloc_init", "int page_alloc_init(void);"),
    ("static __always_inline u64 f(const char __user *p, ...)", "f",
     "u64 f(const char __user *p, ...);"),
    ("asmlinkage __visible int __printf(1, 2) printk(const char *fmt, ...)", "printk",
     "asmlinkage int __printf(1, 2) printk(const char *fmt, ...);"),
    ("void * __must_check kmalloc(size_t size, gfp_t flags)", "kmalloc",
     "void * __must_check kmalloc(size_t size, gfp_t flags);"),
    ("static void __section(\".x.text\") noinline g(int (*cb)(int))", "g",
     "void g(int (*cb)(int));"),
    ("extern u64 ktime_get_real_ns(void);", "ktime_get_real_ns", "u64 ktime_get_real_ns(void);"),
    ("SYSCALL_DEFINE3(open, const char __user *, filename, int, flags, umode_t, mode)",
     "sys_open", None),
    ("static int f(int x) { return x; }", "f", None),
    ("int g(void)", "f", None),
]


@pytest.mark.parametrize("signature,name,expected", PROTOTYPES)
def test_prototype(signature, name, expected):
    assert prototype(signature, name) == expected


EXTERNS = [
    ("int watermark_scale_factor = 10;\n", "watermark_scale_factor",
     "extern int watermark_scale_factor;"),
    ("static unsigned long __read_mostly a, *b = NULL;\n", "b", "extern unsigned long *b;"),
    ("static struct page mem_map[NR_DEMO_PAGES];\n", "mem_map", "extern struct page mem_map[];"),
    ("const char *const names[4][8] = { 0 };\n", "names", "extern const char *const names[4][8];"),
    ("/* doc */\nstatic DEFINE_SPINLOCK(lock);\n", "lock", None),
]


@pytest.mark.parametrize("source,name,expected", EXTERNS)
def test_extern_variable(source, name, expected):
    lines = source.splitlines()
    line = next(i for i, t in enumerate(lines) if re.search(rf"\b{name}\b", t))
    col = re.search(rf"\b{name}\b", lines[line]).start()
    assert extern_variable(source, line, col, name) == expected


def test_strip_definition_words_keeps_callers_attributes():
    assert strip_definition_words("static __init __attribute__((unused, section(\"x\"))) "
                                  "__attribute__((format(printf, 1, 2))) int f(void)") == \
        "__attribute__((format(printf, 1, 2))) int f(void)"


class _Exploding:
    def __getattr__(self, name):
        raise RuntimeError("model is gone")


@pytest.mark.parametrize("finding", [
    Finding("404_2", "nowhere.c", 0, 0, 0, 1, "f", "m"),
    Finding("406_2", "nowhere.c", 0, 0, 0, 1, "v", "m", {"defined_in": 3}),
    Finding("405_2", "x.c", -5, -5, 0, 0, "", "m", {"static_in": None}),
    Finding("020_2", "x.c", 0, 0, 0, 0, "t", "m", {"kind": ["struct"]}),
    Finding("999_2", "x.c", 0, 0, 0, 0, "t", "m"),
])
def test_plan_fixes_never_raises(linux, finding, fresh_model):
    assert isinstance(plan_fixes(finding, linux.model, linux.resolver, linux.config), list)
    assert plan_fixes(finding, _Exploding(), linux.resolver, linux.config) == []
    assert plan_fixes(replace(finding, path="kernel/sys.c"), fresh_model, linux.resolver,
                      linux.config) == []
