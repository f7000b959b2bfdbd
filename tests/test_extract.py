"""Fact extraction on the kernel's idioms: each case is a C snippet and what must come out of it."""

from __future__ import annotations

import pytest

from kernel_lsp.parse.extract import extract
from kernel_lsp.parse.preprocess import blank_annotations, blank_in_braces

CASES = [
    pytest.param(
        "static int __init __cold foo_init(void) { return bar(); }\n",
        {"defs": {"foo_init"}, "calls": {("foo_init", "bar")}}, id="annotations"),
    pytest.param(
        "SYSCALL_DEFINE3(open, const char __user *, filename, int, flags, umode_t, mode)\n"
        "{\n\treturn do_sys_open(AT_FDCWD, filename, flags, mode);\n}\n",
        {"defs": {"__do_sys_open", "sys_open"}, "calls": {("__do_sys_open", "do_sys_open")},
         "type_uses": set()}, id="syscall-define"),
    pytest.param(
        "BPF_CALL_2(bpf_thing, u64, a, u64, b)\n{\n\treturn helper(a);\n}\n",
        {"defs": {"bpf_thing", "____bpf_thing"}, "calls": {("bpf_thing", "helper")}},
        id="bpf-call"),
    pytest.param(  # kernel/kcsan/kcsan_test.c: GCC's atomic built-ins are no calls
        "int f(int *p)\n{\n\t__atomic_thread_fence(__ATOMIC_SEQ_CST);\n"
        "\t__sync_synchronize();\n\treturn __atomic_load_n(p, __ATOMIC_RELAXED) + g(p);\n}\n",
        {"calls": {("f", "g")}}, id="atomic-built-ins"),
    pytest.param(
        "static DEFINE_PER_CPU(int, hits);\nDEFINE_MUTEX(big_lock);\nLIST_HEAD(all_things);\n"
        "DECLARE_PER_CPU(long, other);\n"
        "torture_param(int, onoff_interval, 0, \"Time between CPU hotplugs (jiffies)\");\n",
        {"vars": {("hits", "static"), ("big_lock", "global"), ("all_things", "global"),
                  ("other", "extern"), ("onoff_interval", "static")}, "type_uses": set()},
        id="variable-definers"),
    pytest.param(  # arch/x86/include/asm/mpspec.h
        "extern DECLARE_BITMAP(mp_bus_not_pci, MAX_MP_BUSSES);\nstatic DECLARE_BITMAP(m, 4);\n",
        {"vars": {("mp_bus_not_pci", "extern"), ("m", "static")}}, id="extern-variable-definer"),
    pytest.param(
        "void f(struct list_head *h)\n{\n\tstruct item *pos;\n"
        "\tlist_for_each_entry(pos, h, node) {\n\t\tvisit(pos);\n\t}\n"
        "\tfor_each_possible_cpu(cpu)\n\t\tper_cpu_work(cpu);\n}\n",
        {"calls": {("f", "list_for_each_entry"), ("f", "visit"), ("f", "for_each_possible_cpu"),
                   ("f", "per_cpu_work")}, "protos": set()}, id="iterator-macros"),
    pytest.param(
        "int g(int (*cb)(int), int x)\n{\n\tint (*fp)(int) = cb;\n\tint local_proto(int);\n"
        "\tfp(1);\n\tcb(2);\n\tx->ops->open(x);\n\treturn local_proto(x) + __builtin_expect(x, 0);\n}\n",
        {"calls": {("g", "local_proto")}, "members": {"open"}, "protos": {("g", "local_proto")}},
        id="pointers-members-builtins-local-prototype"),
    pytest.param(
        "#define TESTFLAG(u, l) static inline int Page##u(struct page *p) { return l; }\n"
        "#define SETFLAG(u, l) static inline void SetPage##u(struct page *p) { }\n"
        "#define PAGEFLAG(u, l) TESTFLAG(u, l) SETFLAG(u, l)\n"
        "PAGEFLAG(Locked, locked)\nPAGEFLAG(Dirty, dirty)\n",
        {"defs": {"PageLocked", "SetPageLocked", "PageDirty", "SetPageDirty"}},
        id="token-pasting-family"),
    pytest.param(
        "static inline void INIT_LIST_HEAD(struct list_head *list) { list->next = list; }\n",
        {"defs": {"INIT_LIST_HEAD"}}, id="upper-case-real-function"),
    pytest.param(
        "struct fwd;\ntypedef struct { int a; } anon_t;\n"
        "typedef int (*handler_t)(struct ctx *c);\nstruct s { int (*op)(int); struct missing *m; };\n",
        {"types": {("fwd", "struct", False), ("anon_t", "typedef", True),
                   ("handler_t", "typedef", True), ("s", "struct", True)},
         "type_uses": {("ctx", "handler_t"), ("missing", "s")}}, id="types"),
    pytest.param(
        "enum sub_type {\n#define LAYOUT(t, ...) t,\n#include <core/layout.h>\n#undef LAYOUT\n"
        "\tSUB_NR\n};\nstruct sub { enum sub_type type; };\n"
        "#ifdef CONFIG_X\nstatic void g(int a) {\n#else\nstatic void g(void) {\n#endif\n}\n"
        "#define AFTER 1\nint h(enum sub_type t) { return t; }\n",
        {"types": {("sub_type", "enum", True), ("sub", "struct", True)},
         "defs": {"g", "h"}}, id="directives-inside-an-enum-and-branches-opening-a-brace"),
    pytest.param(
        "#define FIELDS(t) t a; t b;\nstruct regs {\n\tFIELDS(u8)\n\tFIELDS(u32)\n};\n"
        "static inline int after(struct regs *r)\n{\n\treturn 0;\n}\n",
        {"types": {("regs", "struct", True)}, "defs": {"after"}}, id="member-list-macros"),
    pytest.param(
        "struct qdisc {\n\tunsigned int flags;\n#define F_ONE 0x10 /* dequeue_skb() can assume\n"
        "\t\t\t* q->dev_queue : It can test\n\t\t\t* netif_xmit_frozen() before\n"
        "\t\t\t* Its true for MQ slaves, or non\n\t\t\t* multiqueue device.\n\t\t\t*/\n"
        "\tstruct netdev_queue *dev_queue;\n};\n",
        {"types": {("qdisc", "struct", True)}, "type_uses": {("netdev_queue", "qdisc")}},
        id="a-define-in-a-struct-with-a-comment-going-on-below"),
    pytest.param(
        "#define COMMON \\\n\tvoid *next; \\\n\tu8 flags;\n\nstruct a {\nCOMMON};\n\n"
        "struct b {\n\tCOMMON u32 index;\n\tunion x *o;\n};\n\nstruct c {\n\tu16 size;\n"
        "\tstruct x inner;\n};\ntypedef u64 big;\n",
        {"types": {("a", "struct", True), ("b", "struct", True), ("c", "struct", True),
                   ("big", "typedef", True)},
         # u8: what COMMON brings where a, b invoke it (``parse/memberruns.py``)
         "type_uses": {("u32", "b"), ("x", "b"), ("u16", "c"), ("x", "c"), ("u64", "big"),
                       ("u8", "a"), ("u8", "b")}},
        id="a-macro-defined-as-a-run-of-members"),
    pytest.param(  # acpica's acobject.h: runs after the first one on its line, with arguments
        "#define HEADER \\\n\tunion obj *next; \\\n\tu8 type;\n"
        "#define NOTIFY_INFO \\\n\tunion obj *notify_list[2];\n"
        "#define BUFFER_INFO(_type) \\\n\t_type *pointer; \\\n\tu32 length;\n"
        "struct str {\n\tHEADER BUFFER_INFO(char)\t/* a string */\n};\n"
        "struct notify {\nHEADER NOTIFY_INFO};\n"
        "struct field {\n\tHEADER NOTIFY_INFO union obj *region;\n};\n",
        {"types": {("str", "struct", True), ("notify", "struct", True),
                   ("field", "struct", True)},
         "type_uses": {("obj", "field"), ("u8", "str"), ("u32", "str"), ("u8", "notify"),
                       ("u8", "field")}},
        id="runs-of-members-after-the-first-on-its-line"),
    pytest.param(  # the same, the macro defined elsewhere: one ERROR node swallows the rest;
        # the complete declarations inside it still give their type uses
        "struct a {\nCOMMON};\n\nstruct b {\n\tCOMMON u32 index;\n\tunion x *o;\n};\n\n"
        "struct c {\n\tu16 size;\n\tstruct x inner;\n};\ntypedef u64 big;\n",
        {"type_uses": {("x", "b"), ("u16", "c"), ("x", "c")}},
        id="declarations-inside-an-error-node"),
    pytest.param(
        "int walk(struct task_struct *g)\n{\n\tstruct task_struct *t = g;\n\tdo {\n"
        "\t\tvisit(t);\n\t} while_each_thread(g, t);\n\treturn 0;\n}\n"
        "static int after(void)\n{\n\tpid_t pid = 0;\n\treturn later(pid);\n}\n",
        {"defs": {"walk", "after"}, "calls": {("walk", "visit"), ("after", "later")},
         "type_uses": {("task_struct", "walk"), ("task_struct", None), ("pid_t", None)}},
        id="a-do-loop-closed-by-a-macro"),
    pytest.param(
        "EXPORT_SYMBOL_GPL(thing);\nmodule_init(thing_init);\n",
        {"defs": set(), "calls": set(), "exports": {"thing"}}, id="exports"),
    pytest.param(
        "int rd(struct hw *hw)\n{\n\tew32(TXDCTL(0), er32(RXDCTL(1)) | 4);\n"
        "\treturn f(g(1) + 2, /* c */ h(3));\n}\n",
        {"via": {("TXDCTL", ("ew32", 0, 2)), ("er32", None), ("RXDCTL", ("er32", 0, 1)),
                 ("ew32", None), ("f", None), ("g", None), ("h", ("f", 1, 2))}},
        id="calls-that-are-whole-arguments"),
    pytest.param(  # include/linux/page-flags.h: two uses on a line, then one indented below
        "#define PAGEFLAG(u, l) static inline int Page##u(void) { return 0; }\n"
        "#define TESTCLEARFLAG(u, l) static inline int TestClearPage##u(void) { return 0; }\n"
        "PAGEFLAG(Dirty, dirty) TESTCLEARFLAG(Dirty, dirty)\n\tTESTCLEARFLAG(LRU, lru)\n"
        "PAGEFLAG(Lru, lru)\n",
        {"defs": {"PageDirty", "TestClearPageDirty", "TestClearPageLRU", "PageLru"}},
        id="uses-on-one-line"),
    pytest.param(  # include/linux/fortify-string.h
        "void __read_overflow(void) __compiletime_error(\"read beyond (1st), sorry\");\n"
        "extern size_t __real_strnlen(const char *, size_t) __RENAME(strnlen);\n"
        "extern __always_inline __gnu_inline __overloadable __diagnose_as(__builtin_strlen, 1)\n"
        "size_t fstrlen(const char * const __pass_object_size(1) p)\n{\n"
        "\t__read_overflow();\n\treturn 0;\n}\n",
        {"defs": {"fstrlen"}, "decls": {"__read_overflow", "__real_strnlen"},
         "calls": {("fstrlen", "__read_overflow")}},
        id="diagnostic-annotations"),
    pytest.param(  # drivers/media/usb/au0828/au0828.h: the prototype is read through the macro
        "#define dev_write(d, r, v) dev_writereg(d, r, v)\n"
        "extern int dev_write(struct dev *d, int r, int v);\n"
        "#define other(a) do_other(a + 1)\nint other(int a);\n"
        "int later(int a);\n#define later(a) do_later(a)\n",
        {"decls": {"dev_writereg", "other", "later"}}, id="prototype-through-a-macro"),
    pytest.param(  # rts5227.c, adp5589-keys.c, microcode/amd.c: read by the grammar as calls
        "void f(struct k *kpad)\n{\n\tu8 (*driving)[3], drive_sel;\n"
        "\tu8 (*reg) (u8) = kpad->reg;\n\tu8 (**patch)[PATCH_MAX_SIZE][2] = NULL;\n"
        "\treg(1);\n\tx = h(*p)[2];\n\tFOO(*p)[1] = 3;\n\tg(*p);\n}\n",
        {"calls": {("f", "h"), ("f", "FOO"), ("f", "g")},
         "type_uses": {("u8", None), ("k", "f"), ("k", None)}},
        id="pointer-to-array-and-function-declarations"),
    pytest.param(  # drivers/cxl/cxl.h, include/linux/skbuff.h
        "struct cxl_regs {\n\tstruct_group_tagged(cxl_component_regs, component,\n"
        "\t\tvoid __iomem *hdm_decoder;\n\t\tvoid __iomem *ras;\n\t);\n"
        "\tstruct_group(other, int a;);\n\tint after;\n};\n"
        "union u { __struct_group(sk_buff_list, list, /* no attrs */, struct x *next;); };\n",
        {"types": {("cxl_regs", "struct", True), ("cxl_component_regs", "struct", True),
                   ("u", "union", True), ("sk_buff_list", "struct", True)}},
        id="struct-group-tagged"),
    pytest.param(  # net/ipv4/tcp_offload.c: the storage class alone on the line above
        "INDIRECT_CALLABLE_SCOPE\nstruct sk_buff *tcp4_gro_receive(struct sk_buff *skb)\n"
        "{\n\treturn skb;\n}\n",
        {"defs": {"tcp4_gro_receive"}, "type_use_kinds": {("sk_buff", "struct")}},
        id="storage-class-macro-on-its-own-line"),
    pytest.param(  # drivers/md/persistent-data/dm-btree.h: the header's own annotation macro
        "#ifndef _LINUX_DM_BTREE_H\n#define _LINUX_DM_BTREE_H\n#define __dm_written_to_disk(x)\n"
        "int dm_btree_insert(struct dm_btree_info *info, dm_block_t root,\n"
        "\t\t    uint64_t *keys, void *value, dm_block_t *new_root)\n"
        "\t\t    __dm_written_to_disk(value);\n"
        "extern int g(void) ANN(1, 2);\nstatic struct x *h(int a)\n\t__foo(a);\n"
        "void f(void)\n{\n\tif (x)\n\t\tbar(y);\n}\n#endif\n",
        {"decls": {"dm_btree_insert", "g", "h"}, "defs": {"f"}, "calls": {("f", "bar")}},
        id="prototype-then-annotation-macro"),
    pytest.param(  # lib/zstd/common/cpu.h, lib/xz/xz_crc32.c
        "MEM_STATIC ZSTD_cpuid_t ZSTD_cpuid(void) {\n\treturn x;\n}\n"
        "XZ_EXTERN uint32_t xz_crc32(const uint8_t *buf, size_t size, uint32_t crc)\n{\n"
        "\treturn ZSTD_cpuid();\n}\nMEM_STATIC unsigned MEM_32bits(void) { return 1; }\n",
        {"defs": {"ZSTD_cpuid", "xz_crc32", "MEM_32bits"},
         "calls": {("xz_crc32", "ZSTD_cpuid")}},
        id="storage-class-macro-before-a-type-name"),
    pytest.param(  # include/sound/ak4114.h, drivers/firmware/psci/psci.c
        "typedef unsigned char (ak4114_read_t)(void *private_data, unsigned char addr);\n"
        "typedef unsigned long (psci_fn)(unsigned long, unsigned long);\n"
        "typedef void (pcpu_delegate_fn)(void *);\nstruct ak { ak4114_read_t *read; };\n"
        "typedef __kernel_size_t size_t;\ntypedef _Bool bool;\n",
        {"types": {("ak4114_read_t", "typedef", True), ("psci_fn", "typedef", True),
                   ("pcpu_delegate_fn", "typedef", True), ("ak", "struct", True),
                   ("size_t", "typedef", True), ("bool", "typedef", True)},
         "type_uses": {("ak4114_read_t", "ak"), ("__kernel_size_t", "size_t"), ("_Bool", "bool")}},
        id="parenthesized-typedef-name-after-unsigned"),
    pytest.param(  # mm/slub.c (6.12): an attribute macro after ``static``, the type below;
        # the recovery declared a static variable ``struct``, which a misread ``extern
        # typeof(...)`` elsewhere then "could not reach" (406_2)
        "static __fastpath_inline\nstruct kmem_cache *slab_pre_alloc_hook(struct kmem_cache *s)\n"
        "{\n\treturn s;\n}\nstatic int counter;\n",
        {"vars": {("counter", "static")}}, id="no-object-named-by-a-keyword"),
    pytest.param(  # lib/siphash.c, drivers/video/fbdev/matrox/matroxfb_Ti3026.c: a macro that
        # ends its own statement, then ``for``/``if``: no call of ``for``, no function ``if``
        "int f(int len)\n{\n\tPREAMBLE(len)\n\tfor (; len; len--) {\n\t\tg(len);\n\t}\n"
        "\treturn 0;\n}\nvoid h(int *hw)\n{\n\tCRITEND\n"
        "\tif ((hw[0] & 0x08) && ((hw[5] & 0x80) == 0x80)) {\n\t\tk(hw);\n\t}\n}\n",
        {"defs": {"f", "h"}, "decls": set(),
         "calls": {("f", "g"), ("h", "k")}},
        id="no-function-or-call-named-by-a-keyword"),
    pytest.param(  # include/linux/netfs.h: an enum stored in a byte
        "enum netfs_io_source {\n\tNETFS_FILL_WITH_ZEROES,\n} __mode(byte);\n",
        {"types": {("netfs_io_source", "enum", True)}, "type_uses": set()}, id="mode-attribute"),
]


@pytest.mark.parametrize("src, want", CASES)
def test_extraction(src: str, want: dict):
    facts = extract("fs/x.c", src.encode())
    got = {
        "defs": {f.name for f in facts.functions if f.is_definition},
        "decls": {f.name for f in facts.functions if not f.is_definition and not f.parent},
        "protos": {(f.parent, f.name) for f in facts.functions if f.parent},
        "calls": {(c.caller, c.callee) for c in facts.calls if c.kind == "direct"},
        "members": {c.callee for c in facts.calls if c.kind == "member"},
        "vars": {(v.name, v.storage) for v in facts.variables},
        "types": {(t.name, t.kind, t.is_definition) for t in facts.types},
        "type_uses": {(u.name, u.owner) for u in facts.type_uses},
        "type_use_kinds": {(u.name, u.kind) for u in facts.type_uses},
        "exports": {name for name, _ in facts.exports},
        "via": {(c.callee, c.via) for c in facts.calls},
    }
    for key, value in want.items():
        assert got[key] == value, key


def test_blanking_keeps_offsets_and_macro_names():
    src = (b"#define __init __section(\".init.text\")\n"
           b"static int __init __attribute__((unused,\n  cold)) f(const char __user *p);\n")
    out = blank_annotations(src)
    assert len(out) == len(src) and out.count(b"\n") == src.count(b"\n")
    assert out.startswith(b"#define __init")
    assert b"__user" not in out and b"__attribute__" not in out and b" f(const char" in out


# A member run another header defines, alone on its line before a directive or the list's
# end, is blanked (atmdev.h's ``__AAL_STAT_ITEMS``); a type written on a line of its own before
# its declarator is not.
LONE_WORDS = [
    (b"struct s {\n#define __HANDLE_ITEM(i) atomic_t i\n\t__AAL_STAT_ITEMS\n#undef __HANDLE_ITEM\n};\n",
     b"__AAL_STAT_ITEMS", True),
    (b"struct s {\n\tint a;\n\tMORE_MEMBERS /* from a.h */\n\n};\n", b"MORE_MEMBERS", True),
    (b"struct s {\n\tFOO_T\n\t\tx;\n};\n", b"FOO_T", False),
    (b"int f(void)\n{\n\tDO_THING\n#ifdef X\n\treturn 1;\n#endif\n}\n", b"DO_THING", False),
]


@pytest.mark.parametrize("src, word, blanked", LONE_WORDS)
def test_a_lone_member_run_of_another_header_is_blanked(src, word, blanked):
    out = blank_in_braces(src)
    assert len(out) == len(src) and (word not in out) is blanked


@pytest.mark.parametrize("src", [
    "enum e {\n\tMASK =\n\t\t  BIT(A_BIT)\n\t\t| BIT(B_BIT),\n};\n",  # an expression goes on
    "static const struct p pins[] = {\n\tPIN(\n\t\tNAME(0),\n\t\tFUNC(7)\n\t),\n};\n",  # an argument
    "void f(void)\n{\n\tWARN_ON(x)\n\t\t;\n}\n",  # code, not a list
])
def test_what_is_not_a_member_list_macro_stays(src):
    assert blank_in_braces(src.encode()) == src.encode()


def test_garbage_never_raises():
    for src in (b"\x00\xff\xfe" * 50, b"{{{{((((", b"#define X(", "é\u2028".encode() * 10):
        extract("x.c", src)


# File-scope uses of mixed-case macros (``GENL_struct`` of a spec header an includer reads
# with its definitions): recorded where an item starts, with the comments of their arguments
# dropped; a mixed-case function's name after its type, or after a conditional line that
# follows its type, is no use.
MIXED_CASE = [
    pytest.param("/* GENL_struct(a, b) */\nGENL_struct(NIC_CONF, 1, nic_conf,\n"
                 "\t/* in Mb/s, or 0 */\n\t__u32_field(1, 0, speed)\n)\n",
                 [("GENL_struct", ("NIC_CONF", "1", "nic_conf", "__u32_field(1, 0, speed)"))],
                 id="first-item"),
    pytest.param("int x;\n#define Y 1\nFoo_Bar(x, \"a, /* b */\")\nFoo_Bar(y, '/')\n",
                 [("Foo_Bar", ("x", '"a, /* b */"')), ("Foo_Bar", ("y", "'/'"))],
                 id="after-items-and-directives"),
    pytest.param("static __poll_t\nmISDN_poll(struct file *f)\n{\n\treturn 0;\n}\n", [],
                 id="lower-case-first"),
    pytest.param("static void\nHFC_outb(int a)\n{\n}\n", [], id="after-its-type"),
    pytest.param("static void\n#ifdef DEBUG\nHFC_outb(int a, int line)\n#else\n"
                 "HFC_outb(int a)\n#endif\n{\n}\n", [], id="after-a-conditional"),
    pytest.param("}\n__le16 MR_PdGet(int pd)\n{\n\treturn 0;\n}\n", [], id="type-before-it"),
    pytest.param("_Static_assert(sizeof(int) == 4, \"int\");\n", [], id="keyword"),
]


@pytest.mark.parametrize("src, want", MIXED_CASE)
def test_mixed_case_macro_uses_at_file_scope(src: str, want: list):
    facts = extract("include/linux/x.h", src.encode())
    assert [(i.name, i.args) for i in facts.invocations] == want


# Parses that the preprocessor's view repairs: the directive lines of an #if group with one
# branch left are blanked in an initializer too, and in code where a branch opens or closes
# a brace; a body the grammar reads on past the line that closes it ends there.
REPAIRED = [
    pytest.param(
        "static int init(void)\n{\n\tstatic struct r a[] = {\n#if 0\n\t\t{ .reg = 1 },\n#else\n"
        "\t\t{ .reg = 2 },\n#endif\n\t};\n\treturn setup(a);\n}\n\n"
        "static int after(void)\n{\n\treturn init();\n}\n",
        {"init", "after"}, {("init", "setup"), ("after", "init")}, 0, id="initializer-group"),
    pytest.param(
        "unsigned long long count(void)\n{\n\tint i;\n\tunsigned long long sum = 0;\n\n"
        "\tfor_each_possible_cpu(i)\n\t\tsum += cpu_rq(i)->nr;\n\n\treturn sum;\n}\n\n"
        "unsigned int iowait(int cpu)\n{\n\treturn atomic_read(&cpu_rq(cpu)->nr);\n}\n\n"
        "SYSCALL_DEFINE1(nice, int, increment)\n{\n\treturn set_nice(increment);\n}\n",
        {"count", "__do_sys_nice", "sys_nice"}, {("__do_sys_nice", "set_nice")}, None,
        id="body-read-past-its-end"),
]


@pytest.mark.parametrize("src, defs, calls, errors", REPAIRED)
def test_parses_the_preprocessors_view_repairs(src: str, defs: set, calls: set, errors):
    from kernel_lsp.parse.macroenv import Configuration
    facts = extract("kernel/x.c", src.encode(), env=Configuration({"PM": "y"}, "test", True))
    assert defs <= {f.name for f in facts.functions if f.is_definition}
    assert calls <= {(c.caller, c.callee) for c in facts.calls}
    assert errors is None or facts.error_nodes == errors


def test_the_directives_of_a_group_with_one_branch_left_that_opens_a_brace_are_blanked():
    src = (b"static int load(int x)\n{\n#ifdef CONFIG_PM\n\tif (!x) {\n#endif\n\t\tget(x);\n"
           b"#ifdef CONFIG_PM\n\t}\n#endif\n\treturn 0;\n}\n")
    out = blank_in_braces(src)
    assert len(out) == len(src) and b"#" not in out
    assert out.replace(b" ", b"") == src.replace(b"#ifdef CONFIG_PM", b"").replace(
        b"#endif", b"").replace(b" ", b"")
    # under a macro no configuration sets (zlib's STORED_FILE_OK), the text may be what no
    # build reads: the group stays for the grammar
    other = src.replace(b"CONFIG_PM", b"STORED_OK")
    assert blank_in_braces(other) == other


def test_an_iterator_and_its_statement_read_as_a_definition_define_nothing():
    """``for_each_possible_cpu(i)`` then ``sum += cpu_rq(i)->nr;`` inside a body: the grammar
    reads a definition of ``cpu_rq`` (an old-style one, with the next function's header for
    its parameter declarations and its body); ``else`` then an iterator, likewise."""
    src = REPAIRED[-1].values[0] + (
        "static int logs(int enable, unsigned long mask)\n{\n\tint i;\n\n\tif (enable)\n"
        "\t\tfor_each_set_bit(i, &mask, 4) {\n\t\t\tset(i);\n\t\t}\n\telse\n"
        "\t\tfor_each_set_bit(i, &mask, 4)\n\t\t\tclear(i);\n\treturn 0;\n}\n\n"
        "static int status(int core)\n{\n\treturn read_status(core);\n}\n")
    facts = extract("kernel/x.c", src.encode())
    names = {f.name for f in facts.functions}
    assert not names & {"cpu_rq", "for_each_set_bit"}, names
    calls = {(c.caller, c.callee) for c in facts.calls}
    assert {("count", "cpu_rq"), ("logs", "for_each_set_bit")} <= calls, calls


def test_a_name_alone_on_its_line_in_a_body_is_no_type_use():
    src = ("void f(void)\n{\n\tg();\n#ifdef SIS_CP\n\tSIS_CP_INIT301_CP2\n#endif\n}\n"
           "void h(void)\n{\n\tstruct sis_pr *p;\n\tsis_t q;\n}\n")
    facts = extract("drivers/x.c", src.encode())
    assert {u.name for u in facts.type_uses} == {"sis_pr", "sis_t"}


def test_a_decided_group_whose_branches_open_a_brace_is_blanked():
    """dvb_net.c: ``#if 0`` / ``if (a) {`` / ``#else`` / ``if (b) {`` / ``#endif``: the
    configuration's view leaves one branch, whose brace closes below the group."""
    from kernel_lsp.parse.conditions import active_text
    from kernel_lsp.parse.macroenv import Configuration
    src = (b"static int rx(int a)\n{\n#if 0\n\tif (a == 1) {\n\t\tdrop(a);\n#else\n"
           b"\tif (a == 2) {\n\t\tkeep(a);\n#endif\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n")
    out = blank_in_braces(active_text(src, Configuration({}, "test", True))[0])
    assert b"#" not in out and b"keep(a);" in out and b"drop" not in out


def test_a_decided_group_at_file_scope_is_blanked_for_the_parser():
    """hfcmulti.c: ``static void`` / ``#ifdef HFC_REGISTER_DEBUG`` / one declarator /
    ``#else`` / another / ``#endif`` / ``{``: the configuration leaves one branch, and with the
    directive lines in it the grammar made the rest of the file an ERROR (5,297 lines); the
    functions below are found, and the lines and offsets stay the file's."""
    from kernel_lsp.parse.conditions import active_text
    from kernel_lsp.parse.macroenv import Configuration
    src = (b"#ifndef X_H\n#define X_H\nstatic void\n#ifdef HFC_REGISTER_DEBUG\n"
           b"out_debug(struct hc *hc, int reg, const char *function)\n#else\n"
           b"\tout_plain(struct hc *hc, int reg)\n#endif\n{\n\twriteb(reg, hc->base);\n}\n\n"
           b"static int after(struct hc *hc)\n{\n\treturn readb(hc->base);\n}\n#endif\n")
    env = Configuration({}, "test", True)
    out = blank_in_braces(active_text(src, env)[0])
    assert len(out) == len(src) and out.count(b"\n") == src.count(b"\n")
    assert b"#ifdef" not in out and b"#else" not in out and out.count(b"#endif") == 1
    assert out.startswith(b"#ifndef X_H\n")  # a group between items keeps its lines
    facts = extract("drivers/x.c", src, env=env)
    assert facts.error_nodes == 0
    assert {f.name for f in facts.functions} == {"out_plain", "after"}
    assert {(c.caller, c.callee) for c in facts.calls} == {("out_plain", "writeb"),
                                                          ("after", "readb")}
    # with no configuration both branches stay, and so do the directives between them
    assert b"#else" in blank_in_braces(src)


def test_case_label_macros_without_semicolons_are_blanked():
    """net/core/dev.c: ``#define N(val) case NETDEV_##val: return ...;`` then ``switch (cmd)
    { N(UP) N(DOWN) ... }``: the grammar read the run as a definition's header that took the
    next function for its body, and the rest of the file (9,984 lines) became an ERROR."""
    src = (b"const char *name(int cmd)\n{\n#define N(val) \\\n\tcase NETDEV_##val: \\\n"
           b"\t\treturn \"NETDEV_\" #val;\n\tswitch (cmd) {\n\tN(UP) N(DOWN) N(REBOOT)\n"
           b"\tN(CHANGE)\n\t}\n#undef N\n\treturn \"UNKNOWN\";\n}\n\n"
           b"static int notify(struct notifier_block *nb)\n{\n\treturn nb->call(nb);\n}\n"
           b"static int caller(void)\n{\n\tswitch (x) {\n\tOTHER(1) OTHER(2)\n\t}\n"
           b"\treturn notify(0);\n}\n")
    out = blank_in_braces(src)
    assert b"N(" not in out.split(b"#undef")[0].split(b"switch")[1] and b"OTHER(1) OTHER(2)" in out
    facts = extract("net/x.c", src)
    assert {f.name for f in facts.functions} == {"name", "notify", "caller"}
    assert ("caller", "notify") in {(c.caller, c.callee) for c in facts.calls}


def test_a_typedef_of_a_variable_definer_defines_the_type():
    """arch/x86/include/asm/mce.h: ``typedef DECLARE_BITMAP(mce_banks_t, MAX_NR_BANKS);``."""
    facts = extract("arch/x/mce.h", b"typedef DECLARE_BITMAP(mce_banks_t, MAX_NR_BANKS);\n"
                    b"bool poll(int flags, mce_banks_t *b);\ntypedef FOO(x, y);\n")
    assert {(t.name, t.kind, t.generated_by) for t in facts.types} == {
        ("mce_banks_t", "typedef", "DECLARE_BITMAP")}


@pytest.mark.parametrize("body, calls", [
    pytest.param(  # kernel/printk/printk.c: ``c->unblank()`` was read as a call of ``unblank``
        "\tfor_each_console(c)\n\t\tif ((c->flags & 1) && c->unblank)\n\t\t\tc->unblank();\n"
        "\tconsole_unlock();\n",
        {("f", "for_each_console", "direct"), ("f", "unblank", "member"),
         ("f", "console_unlock", "direct")}, id="if-statement"),
    pytest.param(  # mm/page_alloc.c: ``min_unmapped_pages`` was a call
        "\tfor_each_zone(zone)\n\t\tzone->pgdat->min_unmapped_pages += (managed(zone) *\n"
        "\t\t\t\tratio) / 100;\n\tdone();\n",
        {("f", "for_each_zone", "direct"), ("f", "managed", "direct"), ("f", "done", "direct")},
        id="assignment"),
    pytest.param(  # a comment after the iterator; the statement's own if/else stays whole
        "\tfor_each_cpu(c, m) // all\n\t\tif (a)\n\t\t\tb();\n\t\telse\n\t\t\tcc();\n",
        {("f", "for_each_cpu", "direct"), ("f", "b", "direct"), ("f", "cc", "direct")},
        id="comment-and-else"),
    pytest.param(  # the brace on the next line: nothing to do
        "\tlist_for_each_entry(pos, head, node)\n\t{\n\t\tvisit(pos);\n\t}\n",
        {("f", "list_for_each_entry", "direct"), ("f", "visit", "direct")}, id="brace-below"),
])
def test_an_iterator_and_the_unbraced_statement_it_runs(body: str, calls: set):
    src = ("void f(void)\n{\n\tstruct console *c;\n" + body + "}\n").encode()
    facts = extract("kernel/x.c", src)
    assert facts.error_nodes == 0
    assert {(c.caller, c.callee, c.kind) for c in facts.calls} == calls


def test_no_semicolon_after_the_head_of_an_unbraced_statement():
    """``if (x)`` / ``for_each_cpu(c)`` / ``bar(c);`` / ``else``: a ``;`` after the iterator
    would end the ``if`` before its ``else``; the text stays as it was."""
    from kernel_lsp.parse.preprocess import unbraced_iterators
    src = (b"void f(void)\n{\n\tif (x)\n\t\tfor_each_cpu(c)\n\t\t\tbar(c);\n\telse\n"
           b"\t\tbaz();\n}\n")
    assert unbraced_iterators(src) == src
    moved = unbraced_iterators(src.replace(b"\tif (x)\n", b"\tx = 1;\n"))
    assert len(moved) == len(src) and b"for_each_cpu(c)\n;\t\tbar(c);" in moved


def test_label_macros_without_semicolons_are_blanked():
    """kernel/bpf/core.c: ``#define ALU(OPCODE, OP) ALU64_##OPCODE##_X: DST = DST OP SRC;
    CONT;`` then ``ALU(ADD, +)`` / ``ALU(SUB, -)``: read as one expression over 470 lines,
    which took the functions after the interpreter into its body."""
    src = (b"static u64 run(u64 *regs)\n{\n#define ALU(OPCODE, OP)\t\\\n\tALU64_##OPCODE##_X:\t\\\n"
           b"\t\tDST = DST OP SRC;\t\\\n\t\tCONT;\n\tALU(ADD,  +)\n\tALU(SUB,  -)\n#undef ALU\n"
           b"\treturn 0;\n}\n\nstatic int after(int x)\n{\n\treturn check(x);\n}\n")
    facts = extract("kernel/x.c", src)
    assert facts.error_nodes == 0
    assert {f.name for f in facts.functions} == {"run", "after"}
    assert ("after", "check") in {(c.caller, c.callee) for c in facts.calls}


def test_branches_kept_on_an_undecided_name_are_recorded_with_their_sense():
    """``undecided`` rows: ``#ifdef NAME`` kept undecided; ``unless`` rows: ``#ifndef NAME``
    kept undecided, and the ``#else`` of an ``#ifdef NAME`` taken as undefined: a file that
    includes this one decides them. Not an include guard, nor ``#ifndef MAX`` / ``#define
    MAX``, nor a configuration option (each unit has the same)."""
    from kernel_lsp.parse.macroenv import Configuration

    src = ("#ifndef CORE_H\n#define CORE_H\n"
           "#ifndef CHIP_A\nint eq(void);\n#endif\n"
           "#ifdef HAS_GAIN\nint gain(void);\n#endif\n"
           "#ifdef CHIP_B\nint mode_b(void);\n#else\nint mode(void);\n#endif\n"
           "#ifndef MAX\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#endif\n"
           "#ifndef CONFIG_MEMCG\nint no_memcg(void);\n#endif\n"
           "#endif\n")
    env = Configuration({"SMP": "y"}, "test", True, frozenset({"MEMCG"}))
    facts = extract("sound/core.c", src.encode(), env=env)
    rows = {(name, kind, src[s.start_byte:s.end_byte].strip())
            for name, kind, s in facts.hidden if kind in ("undecided", "unless")}
    assert rows == {("CHIP_A", "unless", "int eq(void);"),
                    ("HAS_GAIN", "undecided", "int gain(void);"),
                    ("CHIP_B", "unless", "int mode(void);")}


def test_a_tree_deeper_than_any_kernel_file_is_read_in_bounded_time():
    """50,000 nested braces held the query cursor for a minute (its cost grows with the square
    of the depth; nothing interrupts it, not even the server's exit): matches start at most
    ``parser.MAX_START_DEPTH`` deep, and what real code nests stays read."""
    import threading

    from kernel_lsp.navigate.tokens import name_tokens
    from kernel_lsp.parse.parser import parse

    deep = b"void f(void)\n" + b"{" * 50_000 + b"g();" + b"}" * 50_000 + b"\n"
    done = []

    def read():
        facts = extract("deep.c", deep)
        done.append((facts, name_tokens(deep, parse(deep), lambda name: None)))

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(20)
    assert done, "still reading after 20 s"
    assert [f.name for f in done[0][0].functions] == ["f"]
    nested = "void f(void)\n" + "{ if (x) " * 300 + "g(1);" + "}" * 300 + "\n"
    assert {c.callee for c in extract("nested.c", nested.encode()).calls} == {"g"}
