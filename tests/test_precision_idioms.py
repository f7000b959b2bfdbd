"""Kernel idioms that produced false findings on the whole Linux tree, each in a few lines of
its own, with the findings expected beside them (``/* expect: CODE SYMBOL */``). Every tree also
holds a true error of the same family, so that the rule that silences the idiom keeps recall."""

from __future__ import annotations

import pytest

from tests.conftest import checked_errors, write_tree
from tests.fixture_expect import parse_text

# A defconfig that leaves SOC_PLAT out: its branches are dropped (not merely undecided).
KCONFIG = {"Kconfig": "config SOC_PLAT\n\tbool \"platform glue\"\n",
           "arch/x86/configs/x86_64_defconfig": "# CONFIG_SOC_PLAT is not set\n"}

# ``static MACRO(name, "string", 0x10, BIT(3));`` at file scope: the grammar reads a prototype
# whose parameters are strings and expressions, and the ERROR it makes swallowed the array
# below (its ``&bus_clk.common`` items became type names). Likewise an attribute macro before
# ``struct`` or between ``struct`` and the tag, an upper-case macro between the declarators of
# a typedef, a comment inside a multi-line ``#define``, a ``#define`` whose body is all
# annotation (the grammar took the next line for its body), a struct whose tag a macro renames
# (``#define __tag tag`` then ``struct __tag {``), a struct or enum whose body a macro
# writes, and a call the grammar reads as a declaration (``soc_write(min_t(unsigned char, ...``:
# ``soc_write`` is a function there, not a missing type).
DECLARATION_MACROS = {
    "include/linux/socclk.h": (
        "#ifndef SOCCLK_H\n#define SOCCLK_H\n"
        "struct soc_common { unsigned long reg; };\n"
        "struct soc_gate { struct soc_common common; const char *name; };\n"
        "#define SOC_GATE(_n, _s, _r, _b) struct soc_gate _n = { .name = _s }\n"
        "#define PTRTO *\n#define _packed\n#define __soc_align4\n"
        "#define __soc_head __attribute__((section(\".head.text\")))\n\n"
        "struct soc_map {\n\tint flags;\n#ifdef SOC_MAP_PAD\n\tSOC_MAP_PAD\n#endif\n};\n"
        "struct soc_chunks {\n\tunsigned short num_chunks;\n"
        "\tint chunks[] __counted_by_le(num_chunks);\n};\n"
        "#define __soc_mmap_status soc_mmap_status\nstruct __soc_mmap_status {\n\tint state;\n};\n"
        "#endif\n"),
    "include/linux/socmsg.h": (
        "#include <linux/socclk.h>\n"
        "typedef struct _MSG_HEADER\n{\n\tunsigned char len;\n"
        "} MSG_HEADER, PTRTO PTR_MSG_HEADER,\n  MsgHeader_t, PTRTO pMsgHeader_t;\n"
        "_packed struct smt_frame {\n\tMsgHeader_t head;\n};\n"
        "struct __soc_align4 soc_param {\n\tint mode;\n};\n"
        "#define STATE_NAME(s) SOC_##s\n"
        "#define SOC_STATES {\\\n\tSTATE_NAME(IDLE),\\\n\tSTATE_NAME(BUSY),\\\n}\n"
        "enum soc_states SOC_STATES;\n"
        "#define SOC_FIFO_OF(type) {\\\n\tunsigned int in, out;\\\n\ttype *data;\\\n}\n"
        "struct soc_fifo SOC_FIFO_OF(unsigned char);\n"
        "#define SOC_TREE_DEFINE(T, P)\t\t\t\\\n/* the insert half */\t\t\t\\\n"
        "P void T##_insert(T *node)\t\t\t\\\n{\t\t\t\t\t\\\n}\n"),
    "include/linux/socpad.h": "#define SOC_MAP_PAD int pad;\n",  # another build's padding
    "drivers/soc/clocks.c": (
        "#include <linux/socmsg.h>\n#define BIT(n) (1UL << (n))\n\n"
        "static SOC_GATE(bus_clk, \"bus\", 0x10,\n\t\tBIT(3));\n"
        "static const SOC_GATE(dram_clk, \"dram\", 0x14, BIT(31));\n\n"
        "static struct soc_common *clks[] = {\n\t&bus_clk.common,\n\t&dram_clk.common,\n};\n\n"
        "int soc_state(struct smt_frame *f, struct soc_param *p, enum soc_states s,\n"
        "\t      struct soc_fifo fifo, struct soc_map map, struct soc_mmap_status st)\n{\n"
        "\tMsgHeader_t *h = &f->head;\n\tpMsgHeader_t q = h;\n"
        "\treturn q->len + p->mode + s + (clks[0] != 0) + fifo.in + map.flags\n\t\t+ st.state;\n}\n\n"
        "void soc_write(unsigned char b);\n"
        "#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))\n"
        "void soc_page(unsigned char page)\n{\n#if 0\t/* the page register;\n"
        "\t * the next one\n\t */\n\tsoc_write(0);\n#endif\n"
        "\tsoc_write(min_t(unsigned char, page, 7) | BIT(3) |\n\t\t  BIT(4));\n}\n\n"
        "int soc_typo(MsgHeadr_t *h)\t/* expect: 020_2 MsgHeadr_t, 502_2 soc_typo */\n"
        "{\n\treturn h != 0;\n}\n"),
}

# Variables: an ``extern`` in a branch this configuration drops; an ``extern`` in a header
# of a name that is ``static`` in an unrelated file (the header's program defines it, e.g. in
# assembly); a variable an X-macro list declares (``#define SUBSYS(x) extern ...`` then
# ``#include`` of the list); a ``static __read_mostly DEFINE_HASHTABLE(...)``; a variable a
# local macro defines through another file's macro.
VARIABLES = {
    **KCONFIG,
    "include/linux/soclimits.h": (
        "#ifdef CONFIG_SOC_PLAT\nextern unsigned int soc_limit;\n#endif\n"
        "extern int boot_flags;\n"),
    "include/linux/soc_list.h": "SUBSYS(io)\nSUBSYS(mem)\n",
    "include/linux/socsubsys.h": (
        "struct soc_subsys { int id; };\n"
        "#define SUBSYS(_x) _x ## _soc_id,\nenum soc_subsys_id {\n"
        "#include <linux/soc_list.h>\n\tSOC_SUBSYS_COUNT\n};\n#undef SUBSYS\n"
        "#define SUBSYS(_x) extern struct soc_subsys _x ## _soc_subsys;\n"
        "#include <linux/soc_list.h>\n#undef SUBSYS\n"),
    "include/linux/hashtable.h": (
        "#define DEFINE_HASHTABLE(name, bits) struct hlist_head name[1 << (bits)]\n"
        "struct hlist_head { void *first; };\n"),
    "drivers/soc/limits.c": (
        "unsigned int soc_limit = 4;\nint soc_undeclared = 1;\n"
        "static int soc_private = 2;\nstatic int boot_flags;\n"
        "struct soc_subsys { int id; };\nstruct soc_subsys io_soc_subsys = { 1 };\n"
        "int soc_touch(void)\n{\n\treturn soc_private + boot_flags;\n}\n"),
    "drivers/soc/user.c": (
        "#include <linux/soclimits.h>\n#include <linux/socsubsys.h>\n"
        "#include <linux/hashtable.h>\n"
        "static __read_mostly DEFINE_HASHTABLE(soc_slots, 4);\n"
        "extern int soc_private;\t/* expect: 406_2 soc_private */\n"
        "int soc_use(void)\n{\n"
        "\treturn soc_limit + boot_flags + io_soc_subsys.id + (soc_slots[0].first != 0)\n"
        "\t\t+ soc_undeclared;\t/* expect: 406_2 soc_undeclared */\n}\n"),
    "drivers/soc/other.c": "static struct { int n; } soc_slots;\nint soc_n(void) { return soc_slots.n; }\n",
    # a local macro writing a function and then invoking another file's variable definer
    "include/linux/socdev.h": (
        "struct soc_attr { const char *name; };\n"
        "#define SOC_ATTR_RO(_name) struct soc_attr dev_attr_##_name = { .name = #_name }\n"),
    "drivers/soc/sysfs.c": (
        "#include <linux/socdev.h>\n#define soc_string_attr(name) \\\n"
        "static int name##_show(char *buf) \\\n{ \\\n\treturn buf[0]; \\\n} \\\n"
        "static SOC_ATTR_RO(name)\n\nsoc_string_attr(product);\n\n"
        "int soc_attr_name(void)\n{\n\treturn dev_attr_product.name[0];\n}\n"),
    "drivers/soc/attrs.c": "#include <linux/socdev.h>\nSOC_ATTR_RO(product);\n",
}

# A ``.c`` file included by another ``.c`` file under an option this configuration leaves out
# is built only inside its includer: it shares the includer's statics (both ways), also those
# of the other files the includer includes. A third file calling them is still 405_2.
DROPPED_UNIT = {
    **KCONFIG,
    "drivers/soc/hcd-mem.c": "static int hcd_alloc(void)\n{\n\treturn 1;\n}\n",
    "include/linux/soc_log.h": "#define soc_log(fmt, ...) 0\n",
    "include/linux/soc_trace.h": "#define soc_trace(n) (n)\n",
    "drivers/soc/hcd.c": (
        "#include <linux/soc_log.h>\n#include <linux/soc_vars.h>\n#include \"hcd-mem.c\"\n"
        "static int hcd_start(void)\n{\n\treturn hcd_alloc();\n}\n"
        "#ifdef CONFIG_SOC_PLAT\n#include \"hcd-plat.c\"\n#define PLAT_DRIVER plat_register\n#endif\n"
        "int hcd_init(void)\n{\n#ifdef PLAT_DRIVER\n\treturn PLAT_DRIVER();\n#else\n"
        "\treturn hcd_start();\n#endif\n}\n"),
    # a macro the includer's unit defines is no 404_2; one it does not is; so for a variable
    # it declares (kernel/sched/debug.c, which build_utility.c includes after sched.h under
    # CONFIG_SCHED_DEBUG) and one it does not
    "drivers/soc/hcd-plat.c": (
        "static int plat_register(void)\n{\n\treturn hcd_start() + hcd_alloc();\n}\n"
        "int plat_log(void)\n{\n"
        "\treturn soc_log(\"plat\") + soc_trace(1);\t/* expect: 404_2 soc_trace */\n}\n"
        "int plat_mode(void)\n{\n"
        "\treturn soc_mode\n\t\t+ soc_level;\t/* expect: 406_2 soc_level */\n}\n"),
    "include/linux/soc_vars.h": "extern int soc_mode;\n",
    "drivers/soc/core_vars.c": "int soc_mode;\nint soc_level;\n",
    "drivers/soc/outsider.c": (
        "int outsider(void)\n{\n\treturn hcd_start();\t/* expect: 405_2 hcd_start */\n}\n"),
    # a file's own static prototype, or its own definition in a dropped branch, names a
    # function of its own unit, whatever other files define static under that name
    "drivers/soc/own_proto.c": (
        "static int hcd_alloc(void);\nint own_proto(void)\n{\n\treturn hcd_alloc();\n}\n"),
    "drivers/soc/own_debug.c": (
        "#ifdef CONFIG_SOC_PLAT\nstatic int hcd_start(void)\n{\n\treturn 0;\n}\n#endif\n"
        "int own_debug(void)\n{\n\treturn hcd_start();\n}\n"),
    # a .c file that only a file built under the option left out includes (``rwbase_rt.c``
    # in ``spinlock_rt.c``) is checked as that option would have it: the header a shared
    # header includes under it has its struct; a type defined nowhere is still missing
    "drivers/soc/Makefile": ("obj-$(CONFIG_SOC_PLAT) += lock_plat.o\n"
                             "obj-y += hcd.o core_vars.o\n"),
    "include/linux/soc_lockbase.h": "struct soc_lockbase {\n\tint readers;\n};\n",
    "include/linux/soc_locktypes.h": (
        "#ifdef CONFIG_SOC_PLAT\n#include <linux/soc_lockbase.h>\n#endif\n"),
    "drivers/soc/lock_plat.c": '#include <linux/soc_locktypes.h>\n#include "lockbase.c"\n',
    "drivers/soc/lockbase.c": (
        "static int lock_readers(struct soc_lockbase *b)\n{\n\treturn b->readers;\n}\n"
        "static int lock_writers(struct soc_lockbsae *b)\t/* expect: 020_2 soc_lockbsae, "
        "502_2 lock_writers */\n{\n\treturn b != 0;\n}\n"),
}


# A list header read several times through a computed ``#include NAME`` (``#define NAME
# <header>`` in the includer's includer), each time after other definitions of its macros:
# the second reading defines the structs the list names.
COMPUTED_INCLUDE = {
    "include/linux/soc_nl_list.h": (
        "SOC_STRUCT(soc_net_conf,\n\tSOC_FIELD(int, timeout)\n\tSOC_FIELD(int, retries)\n)\n"
        "SOC_STRUCT(soc_disk_conf,\n\tSOC_FIELD(long, size)\n)\n"),
    "include/linux/soc_nl_magic.h": (
        "#define SOC_FIELD(t, n)\n#define SOC_STRUCT(name, fields)\n#include SOC_NL_FILE\n"
        "#undef SOC_FIELD\n#undef SOC_STRUCT\n"
        "#define SOC_FIELD(t, n) t n;\n#define SOC_STRUCT(name, fields) struct name { fields };\n"
        "#include SOC_NL_FILE\n#undef SOC_FIELD\n#undef SOC_STRUCT\n"),
    "include/linux/soc_nl_api.h": (
        "#define SOC_NL_FILE <linux/soc_nl_list.h>\n#include <linux/soc_nl_magic.h>\n"),
    "drivers/soc/nl.c": (
        "#include <linux/soc_nl_api.h>\n"
        "int nl_conf(struct soc_net_conf c, struct soc_disk_conf *d)\n{\n"
        "\treturn c.timeout + (int)d->size;\n}\n"
        "int nl_typo(struct soc_net_cnf c)\t/* expect: 020_2 soc_net_cnf, 502_2 nl_typo */\n"
        "{\n\treturn 0;\n}\n"),
}


# Macro arguments the grammar reads as parameter types: ``BUILD_BUG_ON(offsetof(struct s, m)
# != 0);`` (the declaration ``T (f(params))``), ``kfree(container_of(p, struct s, m));`` (a
# statement ``f(g(params))``), a function whose name a macro makes (``static int FNAME(x)(...)``)
# and a member list's ``void SOC_BUILDER(ring_src);`` after the file's ``#define`` of it; a word
# before ``struct`` that can only be a macro (``STATIC struct s *``); ``__free(kfree)``; ACPI's
# calling-convention macro inside a typedef's declarator. The member names in the arguments are
# no types; the struct names are (the typos below are found). A call that is a whole argument of
# a macro pasting it (``soc_rd(CTRL(0))`` reads ``soc_read(SOC_CTRL(0))``) is no call; one of a
# macro using it as it is is. GCC's ``seq ...`` names a variadic parameter.
MACRO_ARGUMENTS = {
    **KCONFIG,
    "include/linux/socbits.h": (
        "#ifndef SOCBITS_H\n#define SOCBITS_H\n"
        "#define offsetof(T, m) __builtin_offsetof(T, m)\n"
        "#define BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))\n"
        "#define sizeof_field(T, m) sizeof((((T *)0)->m))\n"
        "#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))\n"
        "#define __cleanup(f) __attribute__((__cleanup__(f)))\n"
        "#define __free(n) __cleanup(__free_##n)\n"
        "#define ACPI_SYSTEM_XFACE\n#define STATIC static\n#define INDIRECT_CALLABLE_SCOPE static\n"
        "void kfree(const void *p);\n"
        "static inline void __free_kfree(void *p)\n{\n\tkfree(*(void **)p);\n}\n"
        "struct soc_ring {\n\tint head;\n\tstruct {\n\t\tint id;\n\t} mem;\n};\n"
        "typedef void (ACPI_SYSTEM_XFACE * soc_exec_callback) (void *context);\n"
        "unsigned int soc_read(unsigned long reg);\nvoid *soc_id(void *p);\n"
        "void soc_write_buf(void *ctx, const unsigned char *buf, unsigned long n);\n"
        "#define soc_rd(reg) soc_read(SOC_##reg)\n#define soc_rd_plain(reg) soc_read(reg)\n"
        "#define SOC_CTRL(n) (0x100 + (n) * 4)\n"
        "#define soc_write_seq(ctx, seq ...) \\\n"
        "\tsoc_write_buf(ctx, (const unsigned char[]){ seq }, 2)\n#endif\n"),
    "drivers/soc/ring.c": (
        "#include <linux/socbits.h>\n"
        "#define SOC_HANDLER(n) soc_handle_##n\n"
        "#define SOC_BUILDER(f) (*build_##f)(struct soc_ring *r)\n"
        "struct soc_ops {\n\tvoid SOC_BUILDER(ring_src);\n\tint count;\n};\n"
        "static int SOC_HANDLER(ring_event)(struct soc_ring *r)\n{\n"
        "\tBUILD_BUG_ON(offsetof(struct soc_ring, head) != 0);\n"
        "\tBUILD_BUG_ON(sizeof_field(struct soc_ring,\n\t\t\t\t  mem.id) != 4);\n"
        "\treturn r->head;\n}\n"
        "STATIC struct soc_ring *\nsoc_ring_get(struct soc_ring *r)\n{\n"
        "\tstruct soc_ring *tmp __free(kfree) = 0;\n"
        "\tkfree(container_of(&r->head, struct soc_ring, head));\n"
        "\tkfree(soc_id(container_of(r, struct soc_ring, head)));\n\treturn r;\n}\n"
        "INDIRECT_CALLABLE_SCOPE struct soc_ring *soc_ring_next(struct soc_ring *r)\n{\n"
        "\treturn r;\n}\n"
        "void soc_run(soc_exec_callback cb)\n{\n\tcb(0);\n}\n"
        "STATIC struct soc_rnig *soc_typo(void)\t/* expect: 020_2 soc_rnig, 502_2 soc_typo */\n"
        "{\n\treturn 0;\n}\n"
        "void soc_missing(void *p)\n{\n"
        "\tkfree(container_of(p, struct soc_rign, head));\t/* expect: 020_2 soc_rign */\n}\n"
        "unsigned int soc_poll(void *ctx)\n{\n\tsoc_write_seq(ctx, 0x01, 0x02);\n"
        "\treturn soc_rd(CTRL(0)) + soc_rd_plain(CTLR(1));\t/* expect: 020_2 CTLR */\n}\n"),
}


# Declarations the grammar's recovery misreads, from the 6.1 tree: a parameter's name in
# parentheses (``void (fn)(struct buffer_chunk *)``, reiserfs; its call in the body is the
# parameter's), attribute macros no annotation list names (a run of ``__`` words between the
# type and a function's name, a word on the line before ``static``, a word after a blanked
# annotation before ``struct``), and macros whose arguments hold member names read as types
# where C has no function type (in a sizeof, a cast, an array's declarator, a block-scope
# declaration the grammar could not finish), a calling-convention macro inside a function
# pointer's declarator (``typedef efi_status_t (__efiapi *efi_event_notify_t)(...)``, whose name
# was lost), ``DBG(__func__)`` as a statement of its own, and a parameter an upper-case macro makes
# (``jme_poll(JME_NAPI_HOLDER(holder), JME_NAPI_WEIGHT(budget))``), a macro taking designated
# initializers in an array's initializer (``{ IPP_SIZE_LIMIT(AREA, .h = { 16, 4224, 2 }) },``),
# a storage macro alone on the line before a declaration (``EXPORT_FOR_TESTS``, 6.12's
# ``VISIBLE_IF_KUNIT``) and ``static DEF_SCSI_QCMD(name)`` with no ``;``. The typos beside them
# are found.
DECLARATOR_SHAPES = {
    **KCONFIG,
    "include/linux/socattr.h": (
        "#ifndef SOCATTR_H\n#define SOCATTR_H\n"
        "#define __soc_no_caller_saved_registers __attribute__((__no_caller_saved_registers__))\n"
        "#define __soc_no_sanitize_memory\n#define __soc_notrace_funcgraph\n"
        "#define typeof_member(T, m) typeof(((T *)0)->m)\n"
        "#define offsetof(T, m) __builtin_offsetof(T, m)\n"
        "#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))\n"
        "#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))\n"
        "#define BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))\n"
        "#define SOC_FMT_NAME(type) soc_fmt_##type\n"
        "struct soc_chunk { int nr; };\nstruct soc_mod { char build_id[20]; };\n"
        "struct soc_queues { int desc[4]; int elems[4]; };\n"
        "struct soc_pci { int sc_dev; int *iwdev; };\n"
        "struct soc_info { int plane[2]; };\n"
        "void soc_init_q(unsigned long a, unsigned long b, int *c);\n"
        "#define SOC_NAPI_HOLDER(holder) struct soc_chunk *holder\n#define SOC_NAPI_WEIGHT(w) int w\n"
        "struct soc_limit { int type; int h[3]; int v[3]; };\n"
        "#define SOC_SIZE_LIMIT(l, val...) .type = SOC_LIMIT_##l, val\n"
        "#define SOC_LIMIT_BUFFER 1\n#define SOC_LIMIT_AREA 2\n"
        "#define EXPORT_FOR_TESTS\n#define VISIBLE_IF_KUNIT static\n"
        "#define DEF_SOC_QCMD(func) int func(struct soc_chunk *c) { return c->nr; }\n"
        "#define __soc_efiapi __attribute__((ms_abi))\n#define SOC_DBG(x) soc_trace(x);\n"
        "#define SOC_CRITFLAGS unsigned long critical_flags;\n"
        "#define SOC_CRITBEGIN critical_flags = 0;\n#define SOC_CRITEND critical_flags = 1;\n"
        "void soc_trace(const char *what);\ntypedef unsigned int __u32;\n"
        "typedef\nint (__soc_efiapi *soc_cfg_t)(struct soc_chunk *, int);\n"
        "typedef void (__soc_efiapi *soc_notify_t)(void *);\n"
        "struct soc_protocol {\n\tsoc_cfg_t read;\n\tsoc_notify_t notify;\n"
        "\tint (__soc_efiapi *get_time)(int *tm);\n};\n#endif\n"),
    "drivers/soc/shapes.c": (
        "#include <linux/socattr.h>\n"
        "static int soc_add(struct soc_chunk *c, void (fn)(struct soc_chunk *))\n{\n"
        "\tfn(c);\n\treturn 0;\n}\n"
        "int soc_add_typo(void (fn)(struct soc_chnuk *));"
        "\t/* expect: 020_2 soc_chnuk, 502_2 soc_add_typo */\n"
        "void __soc_no_caller_saved_registers soc_track_stack(void)\n{\n}\n"
        "void __soc_no_caller_saved_registers soc_tarck(soc_missing_t *p);"
        "\t/* expect: 020_2 soc_missing_t, 502_2 soc_tarck */\n"
        "__soc_no_sanitize_memory\nstatic inline\nstruct soc_chunk *soc_rmqueue(int order)\n{\n"
        "\treturn 0;\n}\n"
        "__visible __soc_notrace_funcgraph struct soc_chunk *\nsoc_switch_to(struct soc_chunk *p)\n{\n"
        "\treturn p;\n}\n"
        "const char SOC_FMT_NAME(symbol)[] = \"%pS\";\n"
        "int soc_shapes(int *dev, int *css, long *times)\n{\n\tint i;\n\n"
        "\tBUILD_BUG_ON(sizeof(typeof_member(struct soc_mod, build_id)) != 20);\n"
        "\tBUILD_BUG_ON(offsetofend(struct soc_info, plane[1]) !=\n"
        "\t\t     offsetofend(struct soc_info, plane[0]) + sizeof(int));\n"
        "\tfor (i = 0; i < 4; i++) {\n"
        "\t\tsoc_init_q(offsetof(struct soc_queues, desc[i]),\n"
        "\t\t\t   offsetof(struct soc_queues, elems[i]),\n\t\t\t   &css[i]);\n\t}\n"
        "\treturn *(container_of(dev, struct soc_pci, sc_dev))->iwdev + sizeof(times[0]);\n}\n"
        "unsigned int soc_read32(struct soc_chunk *c, void *p)\n{\n\tint start, end;\n"
        "\tSOC_CRITFLAGS\n\n\tSOC_DBG(__func__)\n\n\tSOC_CRITBEGIN\n\n\tif (c->nr < 0) {\n"
        "\t\tstart = 1;\n\t}\n\tSOC_CRITEND\n\treturn *(__u32 *)p + start;\n}\n"
        "struct soc_protocol_typo {\t/* expect: 503_2 soc_protocol_typo */\n"
        "\tsoc_cfg_tt read;\t/* expect: 020_2 soc_cfg_tt */\n};\n"
        "static int soc_poll(SOC_NAPI_HOLDER(holder), SOC_NAPI_WEIGHT(budget))\n{\n"
        "\treturn holder->nr + budget;\n}\n"
        "static int soc_poll_typo(SOC_NAPI_HOLDER(holder), soc_napi_tpyo_t *t)"
        "\t/* expect: 020_2 soc_napi_tpyo_t, 502_2 soc_poll_typo */\n{\n\treturn holder->nr;\n}\n"
        "static const struct soc_limit soc_limits[] = {\n"
        "\t{ SOC_SIZE_LIMIT(BUFFER, .h = { 16, 8192, 8 }, .v = { 16, 8192, 2 }) },\n"
        "\t{ SOC_SIZE_LIMIT(AREA, .h = { 16, 4224, 2 }, .v = { 16, 0, 2 }) },\n};\n"
        "static const struct soc_lmiit soc_limits_typo[] = {\t/* expect: 020_2 soc_lmiit */\n"
        "\t{ SOC_SIZE_LIMIT(BUFFER, .h = { 16, 8192, 8 }) },\n};\n"
        "EXPORT_FOR_TESTS\nstruct soc_chunk *soc_search_info(int n)\n{\n\treturn 0;\n}\n"
        "VISIBLE_IF_KUNIT\nconst struct soc_limit *soc_lookup_limit(int n)\n{\n"
        "\treturn &soc_limits[n];\n}\n"
        "static DEF_SOC_QCMD(soc_queuecommand)\n\n"
        "static const struct soc_chunk soc_template = {\n\t.nr = 1,\n};\n"
        "EXPORT_FOR_TESTS\nstruct soc_chnuk *soc_search_typo(int n)"
        "\t/* expect: 020_2 soc_chnuk, 502_2 soc_search_typo */\n{\n\treturn 0;\n}\n"
        "int soc_shapes_typo(void *p)\n{\n"
        "\treturn sizeof(typeof_member(struct soc_mdo, build_id)) + (int)(soc_cast_t)p;"
        "\t/* expect: 020_2 soc_mdo, 020_2 soc_cast_t */\n}\n"),
}

# What the build writes and the tree does not hold, and X-macros read with their file's own
# item macro. A header generated beside its users (``#include "soc.xml.h"``, from XML by a
# Makefile rule) may define any name its includers use: nothing there is "defined nowhere"
# (020_2), while a file that does not include it still gets the finding. A function called
# only under ``#elif defined(f)`` is a macro wherever that branch is built. An include path
# a Makefile writes through a variable that a Makefile including it sets
# (``-I$(SOC_PATH)/dml/inc``) is the directory below the nearest ancestor that holds it. An
# X-macro list invoked at file scope is expanded with the item macro the file defines above
# the line (``#define x(name, ...)``), not with an included header's earlier ``x``.
GENERATED_AND_LISTS = {
    "drivers/soc/gpu/Makefile": (
        "$(obj)/generated/%.xml.h: $(src)/registers/%.xml\n\t$(call cmd,headergen)\n"
        "$(obj)/asn.o: $(obj)/soc_neg.asn1.h\n"),
    # a .c file's own generated header, read before a header of its directory, says nothing
    # about that header's names
    "drivers/soc/gpu/asn.c": '#include "soc_neg.asn1.h"\n#include "gpu_common.h"\n',
    "drivers/soc/gpu/gpu_common.h": (
        "struct gpu_common {\t/* expect: 503_2 gpu_common */\n"
        "\tstruct gpu_gone *g;\t/* expect: 020_2 gpu_gone */\n};\n"),
    ".config": "# CONFIG_SOC_PLAT is not set\n",  # a user's configuration, not a derived one
    "drivers/soc/gpu/gpu.h": '#include "soc.xml.h"\n#include "gpu_ctl.h"\nint gpu_reset(void);\n',
    # a header of the driver that relies on its includer's generated header
    "drivers/soc/gpu/gpu_ctl.h": "int gpu_ctl_blend(enum soc_pipe pipe);\n",
    # a shared header that an includer of the generated one also includes keeps its findings
    "include/linux/socshared.h": (
        "struct soc_shared {\t/* expect: 503_2 soc_shared */\n"
        "\tstruct soc_opaque *p;\t/* expect: 020_2 soc_opaque */\n};\n"),
    "drivers/soc/gpu/gpu.c": (
        '#include "gpu.h"\n#include "gpu_ctl.h"\n#include <linux/socshared.h>\n'
        "int gpu_init(void)\n{\n\treturn REG_SOC_CTRL(0) + SOC_CTRL_ENABLE(1) + gpu_reset();\n}\n"),
    # a header no Kbuild file names is just missing: what it would declare is defined nowhere
    "drivers/soc/gpu/stale.h": '#include "soc_gone.h"\n',
    "drivers/soc/gpu/stale.c": (
        '#include "stale.h"\n'
        "int gpu_stale(void)\n{\n\treturn soc_gone_read(0);\t/* expect: 020_2 soc_gone_read */\n}\n"),
    "drivers/soc/gpu/other.c": (
        '#include "gpu_common.h"\n'
        "int gpu_other(void)\n{\n\treturn REG_SOC_CTRL(0);\t/* expect: 020_2 REG_SOC_CTRL */\n}\n"),
    "include/linux/socatomic.h": (
        "#ifndef SOCATOMIC_H\n#define SOCATOMIC_H\n"
        "static inline int raw_soc_inc(int *v)\n{\n"
        "#if defined(arch_soc_inc)\n\treturn arch_soc_inc(v);\n"
        "#elif defined(arch_soc_inc_relaxed)\n\treturn arch_soc_inc_relaxed(v);\n"
        "#else\n\treturn ++*v;\n#endif\n}\n"
        "static inline int raw_soc_add(int *v)\n{\n"
        "#if defined(arch_soc_add_relaxed)\n\treturn arch_soc_add_relaxed(v);\n"
        "#elif defined(arch_soc_add)\n\treturn arch_soc_add(v);\n"
        "#else\n\treturn *v + 1;\n#endif\n}\n"
        "static inline int raw_soc_dec(int *v)\n{\n"
        "#if defined(arch_soc_dec)\n\treturn arch_soc_dec(v);\n"
        "#elif defined(arch_soc_dec_relaxed)\n"
        "\treturn arch_soc_dce_relaxed(v);\t/* expect: 020_2 arch_soc_dce_relaxed */\n"
        "#else\n\treturn --*v;\n#endif\n}\n#endif\n"),
    # another build's header (the 32-bit one), which no file here includes (the branches on
    # its names are built there; a name no file defines would make a branch no build reads)
    "include/asm-soc32/socatomic_32.h": ("int arch_soc_add(int *v);\n#define arch_soc_add arch_soc_add\n"
                                         "#define arch_soc_dec_relaxed(v) (--*(v))\n"),
    "drivers/soc/atomic.c": (
        "#include <linux/socatomic.h>\n"
        "int soc_count(int *v)\n{\n\treturn raw_soc_inc(v) + raw_soc_add(v) + raw_soc_dec(v);\n}\n"),
    "drivers/soc/Makefile": "SOC_PATH = $(src)\nobj-y += dml/\n",
    "drivers/soc/dml/Makefile": (
        "subdir-ccflags-y += -I$(SOC_PATH)/dml/inc\nobj-y += core/\n"),
    "drivers/soc/dml/inc/dml_types.h": "struct dml_cfg {\n\tint planes;\n};\nint dml_calc(void);\n",
    "drivers/soc/dml/core/impl.c": "int dml_calc(void)\n{\n\treturn 1;\n}\n",
    "drivers/soc/dml/core/calc.h": '#include "dml_types.h"\n',
    "drivers/soc/dml/core/calc.c": (
        '#include "calc.h"\n'
        "int dml_planes(struct dml_cfg *c)\n{\n\treturn c->planes + dml_calc();\n}\n"),
    # a BPF program is built against libbpf's headers, not the kernel's
    "drivers/soc/bpf/progs/soc_filter.bpf.c": (
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
        "int soc_filter(void *ctx)\n{\n\treturn bpf_get_prandom_u32() & 1;\n}\n"),
    "fs/sockey/format.h": (
        "#ifndef SOCKEY_FORMAT_H\n#define SOCKEY_FORMAT_H\n"
        "#define SOCKEY_TYPES()\t\\\n\tx(dirent, 1)\t\\\n\tx(xattr, 2)\n"
        "enum sockey_type {\n#define x(name, nr) KEY_TYPE_##name = nr,\n"
        "\tSOCKEY_TYPES()\n#undef x\n};\n"
        "struct sockey_dirent { int ino; };\nstruct sockey_xattr { int len; };\n#endif\n"),
    "fs/sockey/types.h": (
        "#ifndef SOCKEY_TYPES_H\n#define SOCKEY_TYPES_H\n#include \"format.h\"\n"
        "struct bkey { int type; };\n"
        "#define x(name, ...)\t\t\t\t\t\\\n"
        "struct bkey_i_##name {\t\t\t\t\\\n\tstruct bkey k;\t\t\t\t\\\n"
        "\tstruct sockey_##name v;\t\t\t\\\n};\t\t\t\t\t\t\\\n"
        "static inline struct bkey_i_##name *bkey_i_to_##name(struct bkey *k)\t\\\n"
        "{\t\t\t\t\t\t\\\n\treturn (struct bkey_i_##name *)k;\t\t\\\n}\n"
        "SOCKEY_TYPES();\n#undef x\n#endif\n"),
    "fs/sockey/dirent.c": (
        '#include "types.h"\n'
        "int dirent_ino(struct bkey *k)\n{\n"
        "\tstruct bkey_i_dirent *d = bkey_i_to_dirent(k);\n\treturn d->v.ino;\n}\n"
        "int dirent_typo(struct bkey *k)\n{\n"
        "\treturn bkey_i_to_dirnet(k) != 0;\t/* expect: 020_2 bkey_i_to_dirnet */\n}\n"),
}


# Branches no compiler reads: kept on an ``#ifdef NAME`` / ``#if NAME`` that the configuration
# does not decide, where no file of the tree defines NAME, nor a Kbuild -D (``#ifdef NOT_YET``,
# ``#if defined(ZSTD_ARCH_ARM_NEON)``). What they hold is not reported; a branch on a name that
# some file defines (a header, an unrelated file) or a -D keeps its findings. Nor an ``#ifndef
# NAME`` branch where a header included above defines NAME (``r8192U_dm.c``'s ``#ifndef
# RTL8192U``, defined by ``r8192U.h``); one on a name defined elsewhere keeps its findings.
DEAD_BRANCHES = {
    "include/linux/soctrace.h": "#define SOC_TRACE_ON\n#define SOC_CHIP_U\n",
    "drivers/soc/other.c": "#define SOC_OTHER_FILE 1\n#define SOC_CHIP_V\n",
    "drivers/soc/Makefile": "ccflags-y := -DSOC_BY_KBUILD\nobj-y += dead.o other.o\n",
    "drivers/soc/dead.c": (
        "#include <linux/soctrace.h>\n"
        "int soc_dead(void)\n{\n"
        "#ifdef SOC_NOT_YET\n\tsoc_future_call();\n#endif\n"
        "#if SOC_NEVER\n\tstruct soc_future f;\n\tf.x = soc_future_read();\n#endif\n"
        "#if defined(SOC_ARCH_NEON)\n\treturn soc_neon_sum();\n#endif\n"
        "#ifdef SOC_TRACE_ON\n\tsoc_trace_missing();\t/* expect: 020_2 soc_trace_missing */\n#endif\n"
        "#ifdef SOC_OTHER_FILE\n\tsoc_other_missing();\t/* expect: 020_2 soc_other_missing */\n"
        "#endif\n"
        "#ifdef SOC_BY_KBUILD\n\tsoc_kbuild_missing();\t/* expect: 020_2 soc_kbuild_missing */\n"
        "#endif\n"
        "#ifndef SOC_CHIP_U\n\tsoc_other_chip_only();\n#endif\n"
        "#ifndef SOC_CHIP_V\n\tsoc_chip_v_missing();\t/* expect: 020_2 soc_chip_v_missing */\n"
        "#endif\n"
        "\treturn soc_real_missing();\t/* expect: 020_2 soc_real_missing */\n}\n"
        "#ifdef SOC_NOT_YET\n#include <linux/soc_future.h>\nint soc_later(struct soc_later *l);\n"
        "#endif\n"),
}



# Templates: a header that names what it defines with macros waiting for a name its includer
# defines, read once per definition (``include/linux/btree-type.h``, pasting the
# ``BTREE_TYPE_SUFFIX`` that btree.h defines as l, 32, 64 and 128 around four includes; ipset's
# ``ip_set_hash_gen.h``, ``struct htype`` after ``#define htype MTYPE``). The names each
# includer makes are unknown to the model: a use of one is no "defined nowhere" where the
# template is seen, and still is where it is not (the typo beside them).
TEMPLATES = {
    "include/linux/soctree-type.h": (
        "#define __SOCTREE_TP(pfx, type, sfx)\tpfx ## type ## sfx\n"
        "#define _SOCTREE_TP(pfx, type, sfx)\t__SOCTREE_TP(pfx, type, sfx)\n"
        "#define SOCTREE_TP(pfx)\t\t_SOCTREE_TP(pfx, SOCTREE_SUFFIX,)\n"
        "#define SOCTREE_FN(name)\tSOCTREE_TP(soctree_ ## name)\n"
        "static inline int SOCTREE_FN(init)(void *head)\n{\n\treturn head != 0;\n}\n"
        "#undef SOCTREE_SUFFIX\n"),
    "include/linux/soctree.h": (
        "#ifndef SOCTREE_H\n#define SOCTREE_H\n"
        "#define SOCTREE_SUFFIX 32\n#include <linux/soctree-type.h>\n"
        "#define SOCTREE_SUFFIX 64\n#include <linux/soctree-type.h>\n#endif\n"),
    "net/socset/hash_gen.h": (
        "#define htype MTYPE\n"
        "struct htype {\n\tint size;\n};\n"),
    "net/socset/hash_ip.c": (
        "#include <linux/soctree.h>\n"
        "#define MTYPE hash_ip4\n#include \"hash_gen.h\"\n#undef MTYPE\n"
        "int hash_ip4_size(struct hash_ip4 *h, void *head)\n{\n"
        "\treturn h->size + soctree_init32(head) + soctree_init64(head);\n}\n"),
    # a library .c file its includers rename (``ax88796.c``: ``#define __NS8390_init
    # ax_NS8390_init``, then ``#include "lib8390.c"``): its functions have the new names there
    "drivers/net/soc8390/lib8390.c": "static void __soc_init(int startp)\n{\n}\n",
    "drivers/net/soc8390/ax.c": (
        "#define __soc_init ax_soc_init\n#define ax_soc_alias ax_soc_gone\n"
        "#include \"lib8390.c\"\n"
        "int ax_probe(void)\n{\n\tax_soc_init(1);\n"
        "\tax_soc_gone();\t/* expect: 020_2 ax_soc_gone */\n\treturn 0;\n}\n"),
    # a header beside the template, read after it: its own names are still its own; and a
    # struct named like a function-like macro is no template (``struct nvif_sclass``)
    "include/linux/socuser.h": (
        "#define soc_sclass(o) SOC_SCLASS_OF(o)\nstruct soc_sclass {\n\tint n;\n};\n"
        "int soc_user(struct soc_user_gone *u);\t/* expect: 020_2 soc_user_gone, 502_2 soc_user */\n"),
    "drivers/soc/user.c": "#include <linux/soctree.h>\n#include <linux/socuser.h>\n",
    "net/socset/plain.c": (
        "int plain_size(void *head)\n{\n"
        "\treturn soctree_init32(head);\t/* expect: 020_2 soctree_init32 */\n}\n"),
}


@pytest.mark.parametrize("files", [DECLARATION_MACROS, VARIABLES, DROPPED_UNIT, COMPUTED_INCLUDE,
                                   MACRO_ARGUMENTS, DECLARATOR_SHAPES, GENERATED_AND_LISTS,
                                   DEAD_BRANCHES, TEMPLATES],
                         ids=["declaration-macros", "variables", "dropped-unit", "computed-include",
                              "macro-arguments", "declarator-shapes", "generated-and-lists",
                              "dead-branches", "templates"])

def test_idioms_give_only_the_expected_findings(tmp_path, capsys, files):
    expected = {(e.path, e.line, e.code, e.symbol)
                for rel, text in files.items() for e in parse_text(text, rel)}
    got = checked_errors(write_tree(tmp_path, {**KCONFIG, **files}), capsys)
    assert got == expected


def _unresolved_includes(tmp_path, capsys, files: dict) -> set[tuple[str, int, str]]:
    """(path, line, header) of the 504_2 warnings of ``kernel-lsp check`` on ``files``."""
    import json

    from kernel_lsp.cli import main
    write_tree(tmp_path, {**KCONFIG, **files})
    capsys.readouterr()
    assert main(["check", "--root", str(tmp_path), "--format", "json"]) in (0, 1)
    return {(f["root_path"], f["line"], f["symbol"])
            for f in json.loads(capsys.readouterr().out)["findings"] if f["code"] == "504_2"}


def test_an_include_no_compiler_reads_resolves_to_nothing_unreported(tmp_path, capsys):
    """504_2 is not reported for an ``#include`` in a branch no compiler reads; it is for the
    same include where the name is defined."""
    files = {**DEAD_BRANCHES,
             "drivers/soc/live.c": "#ifdef SOC_TRACE_ON\n#include <linux/soc_future.h>\n#endif\n"}
    assert _unresolved_includes(tmp_path, capsys, files) == {
        ("drivers/soc/live.c", 2, "linux/soc_future.h")}


def test_another_architectures_header_resolves_to_nothing_unreported(tmp_path, capsys):
    """An ``#include <asm/ps3.h>`` that only ``arch/powerpc/include`` holds marks powerpc's
    code (drivers/ps3/vuart.h, which only powerpc builds): no 504_2 on x86. A header that no
    architecture holds is still missing."""
    files = {"arch/powerpc/include/asm/ps3.h": "int ps3_os_area(void);\n",
             "drivers/ps3/vuart.h": "#include <asm/ps3.h>\nint ps3_vuart(void);\n",
             "drivers/soc/typo.c": "#include <asm/ps4.h>\n"}
    assert _unresolved_includes(tmp_path, capsys, files) == {("drivers/soc/typo.c", 1, "asm/ps4.h")}
