"""Macro families defined in one header and invoked in another generate functions that exist."""

from __future__ import annotations

import json

from kernel_lsp.cli import main
from tests.conftest import checked_errors, write_tree

HEADERS = {
    "Kconfig": "",
    "include/linux/types.h": "typedef unsigned long u64;\n",
    "include/linux/buffer_head.h": (
        "#define BUFFER_FNS(bit, name) \\\n"
        "static inline int buffer_##name(void) { return 0; } \\\n"
        "static inline void set_buffer_##name(void) { }\n"
    ),
    "include/linux/tracepoint.h": (
        "#define __DECLARE_TRACE(name, proto, args) \\\n"
        "\tstatic inline void trace_##name(proto) { } \\\n"
        "\tstatic inline int register_trace_##name(void *probe) { return 0; }\n"
        "#define DECLARE_TRACE(name, proto, args) __DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))\n"
        "#define PARAMS(args...) args\n"
        "#define TP_PROTO(args...) args\n"
        "#define TP_ARGS(args...) args\n"
        "#define TRACE_EVENT(name, proto, args, struct, assign, print) "
        "DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))\n"
    ),
    "include/trace/events/demo.h": (
        "#include <linux/tracepoint.h>\n"
        "TRACE_EVENT(demo_tick,\n\tTP_PROTO(int cpu, u64 now),\n\tTP_ARGS(cpu, now),\n"
        "\tTP_STRUCT__entry(), TP_fast_assign(), TP_printk(\"\")\n);\n"
    ),
    "fs/jbd.h": "#include <linux/buffer_head.h>\nBUFFER_FNS(JBD, jbd)\n",
    "fs/use.c": (
        "#include <linux/types.h>\n#include \"jbd.h\"\n#include <trace/events/demo.h>\n"
        "int f(void)\n{\n\tset_buffer_jbd();\n\ttrace_demo_tick(1, 2);\n"
        "\ttrace_demo_tock(1);\n\treturn buffer_jbd();\n}\n"
    ),
}


def test_functions_generated_by_other_files_macros_exist(tmp_path, capsys):
    for rel, text in HEADERS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "include/linux/.keep").write_text("")
    out = tmp_path / "out.json"
    status = main(["check", "--root", str(tmp_path), "--format", "json", "--output", str(out)])
    findings = json.loads(out.read_text())["findings"]
    got = {(f["code"], f["symbol"]) for f in findings}
    # only the call to a tracepoint that no TRACE_EVENT declares is missing
    assert got == {("020_2", "trace_demo_tock")}, findings
    assert status == 1


# A trace header that picks its event macro by configuration, as include/trace/events/rcu.h
# does (``#define TRACE_EVENT_RCU TRACE_EVENT`` or ``TRACE_EVENT_NOP``): an object-like alias of
# a macro of another file, invoked with arguments.
ALIASED = {
    **HEADERS,
    "include/linux/tracepoint.h": HEADERS["include/linux/tracepoint.h"] + (
        "#define DECLARE_EVENT_NOP(name, proto, args) \\\n"
        "\tstatic inline void trace_##name(proto) { }\n"
        "#define TRACE_EVENT_NOP(name, proto, args, struct, assign, print) \\\n"
        "\tDECLARE_EVENT_NOP(name, PARAMS(proto), PARAMS(args))\n"),
    "include/trace/events/rcu.h": (
        "#include <linux/tracepoint.h>\n"
        "#ifdef CONFIG_RCU_TRACE\n#define TRACE_EVENT_RCU TRACE_EVENT\n#else\n"
        "#define TRACE_EVENT_RCU TRACE_EVENT_NOP\n#endif\n"
        "TRACE_EVENT_RCU(rcu_wake,\n\tTP_PROTO(int cpu),\n\tTP_ARGS(cpu),\n"
        "\tTP_STRUCT__entry(), TP_fast_assign(), TP_printk(\"\")\n);\n"
        "#define LOOP_A LOOP_B\n#define LOOP_B LOOP_A\nLOOP_A(rcu_never);\n"),
    "kernel/rcu.c": (
        "#include <trace/events/rcu.h>\n"
        "void f(void)\n{\n\ttrace_rcu_wake(1);\n\ttrace_rcu_never();\n}\n"),
}


def test_an_alias_of_another_files_macro_generates_its_functions(tmp_path, capsys):
    for rel, text in ALIASED.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    out = tmp_path / "out.json"
    main(["check", "--root", str(tmp_path), "--format", "json", "--output", str(out)])
    got = {(f["path"].split("/")[-1], f["code"], f["symbol"])
           for f in json.loads(out.read_text())["findings"]}
    # trace_rcu_wake exists; an alias loop expands to nothing (and does not hang)
    assert ("rcu.c", "020_2", "trace_rcu_wake") not in got
    assert ("rcu.c", "020_2", "trace_rcu_never") in got


# An X-macro list of another header invoked bare, once per definition of its item macro above
# it (drivers/net/ethernet/marvell/octeontx2/nic/otx2_common.h and af/mbox.h): each reading
# defines the functions of that definition; a bare name that is no list defines nothing.
MBOX = {
    "Kconfig": "",
    "include/linux/mbox.h": (
        "#define MBOX_MESSAGES\t\t\t\t\\\n"
        "/* generic IDs (range 0x000 - 0x1FF) */\t\\\n"
        "M(READY, 0x001, ready, msg_req)\t\t\\\n"
        "M(ATTACH, 0x002, attach, attach_req)\n"
        "#define MBOX_UP_MESSAGES M(LINK, 0x101, link, link_req) M(FLOW, 0x102, flow, flow_req)\n"
        "struct msg_req { int id; };\nstruct attach_req { int id; };\n"
        "struct link_req { int id; };\nstruct flow_req { int id; };\n"),
    "drivers/net/nic.h": (
        "#include <linux/mbox.h>\n"
        "#define M(_name, _id, _fn, _req)\t\t\t\\\n"
        "static struct _req *nic_alloc_ ## _fn(int n)\t\\\n"
        "{\t\t\t\t\t\t\\\n\treturn 0;\t\t\t\t\t\\\n}\n"
        "MBOX_MESSAGES\n#undef M\n"
        "#define M(_name, _id, _fn, _req) int nic_up_ ## _fn(struct _req *req);\n"
        "MBOX_UP_MESSAGES\nint nic_reset(int n);\n#undef M\n"
        # a name alone on the line before a declaration, as INDIRECT_CALLABLE_SCOPE in route.c
        "#define SCOPE_ATTR\nSCOPE_ATTR\nint nic_mtu(int n);\n"),
    "drivers/net/nic.c": (
        "#include \"nic.h\"\n"
        "int nic_probe(void)\n{\n"
        "\treturn !!nic_alloc_ready(1) + !!nic_alloc_attach(2) + nic_up_flow(0)\n"
        "\t\t+ nic_alloc_link(3) + nic_reset(4) + nic_mtu(5);\n}\n"),
}


def test_a_bare_x_macro_list_of_another_header_generates_its_functions(tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, MBOX), capsys)
    # nic_alloc_link: LINK is an item of the second list, which the second M declares nic_up_
    assert got == {("drivers/net/nic.c", 5, "020_2", "nic_alloc_link")}


# The generic-netlink family of drbd: a spec header invokes mixed-case macros at file scope
# (``GENL_struct``), with comments holding commas among the arguments; a framework header
# includes it again and again through a computed include, each time after new definitions
# (structs, then functions); the subsystem names the spec before it includes the framework.
GENL = {
    "Kconfig": "",
    "include/linux/types.h": "typedef unsigned int u32;\n",
    "include/linux/magic_struct.h": (
        "#include <linux/types.h>\n"
        "#define GENL_struct(tag, nr, s_name, s_fields)\n"
        "#define __u32_field(nr, flags, name) \n"
        "#include MAGIC_INCLUDE_FILE\n"
        "#undef GENL_struct\n"
        "#define GENL_struct(tag, nr, s_name, s_fields) struct s_name { s_fields };\n"
        "#undef __u32_field\n"
        "#define __u32_field(nr, flags, name) u32 name;\n"
        "#include MAGIC_INCLUDE_FILE\n"
    ),
    "include/linux/magic_func.h": (
        "#include <linux/magic_struct.h>\n"
        "#undef GENL_struct\n"
        "#define GENL_struct(tag, nr, s_name, s_fields) \\\n"
        "static inline int s_name ## _to_msg(struct s_name *s) { return 0; }\n"
        "#include MAGIC_INCLUDE_FILE\n"
    ),
    "include/linux/nic_spec.h": (
        "/* GENL_struct(tag, nr, name, fields): a struct and its conversion */\n"
        "GENL_struct(NIC_CONF, 1, nic_conf,\n"
        "\t/* the link, in Mb/s, or 0 */\n"
        "\t__u32_field(1, 0, speed)\n"
        "\t__u32_field(2, 0, mtu)\n"
        ")\n\n"
        "GENL_struct(NIC_STATS, 2, nic_stats,\n\t__u32_field(1, 0, drops)\n)\n"
    ),
    "include/linux/nic_api.h": (
        "#define MAGIC_INCLUDE_FILE <linux/nic_spec.h>\n#include <linux/magic_struct.h>\n"),
    "drivers/net/nic.h": "#include <linux/nic_api.h>\n",
    "drivers/net/nic.c": (
        "#include \"nic.h\"\n#include <linux/magic_func.h>\n"
        "int nic_mtu(struct nic_conf *c)\n{\n\treturn c->mtu;\n}\n"
        "int nic_report(struct nic_conf *c, struct nic_stats *s, struct nic_info *i)\n{\n"
        "\treturn nic_conf_to_msg(c) + nic_stats_to_msg(s) + nic_info_to_msg(i);\n}\n"),
}


def test_a_spec_header_read_again_through_a_computed_include_defines_its_structs(
        tmp_path, capsys):
    got = checked_errors(write_tree(tmp_path, GENL), capsys)
    # nic_info: no GENL_struct of the spec names it (and nic_report is built on it)
    assert got == {("drivers/net/nic.c", 7, "020_2", "nic_info"),
                   ("drivers/net/nic.c", 7, "502_2", "nic_report"),
                   ("drivers/net/nic.c", 9, "020_2", "nic_info_to_msg")}, got


# arm64's kvm_host.h declares its per-CPU data through kvm_asm.h's wrappers of
# DECLARE_PER_CPU (``DECLARE_KVM_HYP_PER_CPU(struct kvm_host_data, kvm_host_data)``); the wrapper
# and DECLARE_PER_CPU are defined in other files. The declarations are in scope; a per-CPU
# variable nothing declares keeps its 406_2.
PER_CPU = {
    "Kconfig": "",
    "include/linux/percpu-defs.h": (
        "#define __PCPU_ATTRS(sec) __attribute__((section(\".data..percpu\" sec)))\n"
        "#define DECLARE_PER_CPU(type, name) extern __PCPU_ATTRS(\"\") __typeof__(type) name\n"
        "#define DEFINE_PER_CPU(type, name) __PCPU_ATTRS(\"\") __typeof__(type) name\n"),
    "include/asm/kvm_asm.h": (
        "#include <linux/percpu-defs.h>\n"
        "#define kvm_nvhe_sym(sym) __kvm_nvhe_##sym\n"
        "#define DECLARE_KVM_VHE_PER_CPU(type, sym) DECLARE_PER_CPU(type, sym)\n"
        "#define DECLARE_KVM_NVHE_PER_CPU(type, sym) DECLARE_PER_CPU(type, kvm_nvhe_sym(sym))\n"
        "#define DECLARE_KVM_HYP_PER_CPU(type, sym) \\\n"
        "\tDECLARE_KVM_VHE_PER_CPU(type, sym); \\\n\tDECLARE_KVM_NVHE_PER_CPU(type, sym)\n"),
    "include/asm/kvm_host.h": (
        "#include <asm/kvm_asm.h>\nstruct kvm_host_data { int flags; };\n"
        "DECLARE_KVM_HYP_PER_CPU(struct kvm_host_data, kvm_host_data);\n"),
    "kvm/hyp/switch.c": (
        "#include <asm/kvm_host.h>\nDEFINE_PER_CPU(struct kvm_host_data, kvm_host_data);\n"
        "DEFINE_PER_CPU(int, undeclared_count);\n"),
    "kvm/arm.c": (
        "#include <asm/kvm_host.h>\nint f(void)\n{\n\treturn kvm_host_data.flags"
        " + undeclared_count;\n}\n"),
}


def test_a_wrapper_of_a_variable_definer_declares_across_files(tmp_path, capsys):
    write_tree(tmp_path, PER_CPU)
    assert checked_errors(tmp_path, capsys) == {("kvm/arm.c", 4, "406_2", "undeclared_count")}
