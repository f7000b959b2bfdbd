#!/usr/bin/env python3
"""Regenerate ``ebpf/verify/dataflow/protodata.py`` and ``ebpf/helperavail.py`` from Linux 6.1.

Reads (never copies) the tree's ``struct bpf_func_proto`` definitions and the per-program-type
``get_func_proto`` callbacks, and writes two tables of facts: every helper prototype (return
type, argument types and fixed sizes, ``pkt_access``, ``might_sleep``) and, per program type,
which prototype answers each helper id and which capability it needs (``bpf``: CAP_BPF,
``perfmon``: CAP_PERFMON; empty: any loader). Config-dependent cases are assumed enabled, and a
conditional ``return a ? &x : &y`` is read as ``&x`` (both are noted in the output's comments).

Run:  python scripts/gen_bpf_helper_tables.py /path/to/linux-source-6.1
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "kernel_lsp/ebpf/verify/dataflow/protodata.py"
AVAIL_OUT = ROOT / "kernel_lsp/ebpf/helperavail.py"
SOURCES = ["kernel/bpf/*.c", "kernel/trace/bpf_trace.c", "net/core/*.c", "net/ipv4/*.c",
           "kernel/bpf/cgroup.c", "net/core/sock_map.c", "kernel/bpf/bpf_lsm.c"]
ROOTS = {
    "socket_filter": "sk_filter_func_proto", "sched_cls": "tc_cls_act_func_proto",
    "sched_act": "tc_cls_act_func_proto", "xdp": "xdp_func_proto",
    "cgroup_skb": "cg_skb_func_proto", "lwt_in": "lwt_in_func_proto",
    "lwt_out": "lwt_out_func_proto", "lwt_xmit": "lwt_xmit_func_proto",
    "lwt_seg6local": "lwt_seg6local_func_proto", "cgroup_sock": "sock_filter_func_proto",
    "cgroup_sock_addr": "sock_addr_func_proto", "sock_ops": "sock_ops_func_proto",
    "sk_skb": "sk_skb_func_proto", "sk_msg": "sk_msg_func_proto",
    "flow_dissector": "flow_dissector_func_proto", "sk_reuseport": "sk_reuseport_func_proto",
    "sk_lookup": "sk_lookup_func_proto", "kprobe": "kprobe_prog_func_proto",
    "tracepoint": "tp_prog_func_proto", "raw_tracepoint": "raw_tp_prog_func_proto",
    "raw_tracepoint_writable": "raw_tp_prog_func_proto", "perf_event": "pe_prog_func_proto",
    "tracing": "tracing_prog_func_proto", "lsm": "bpf_lsm_func_proto",
    "cgroup_device": "cgroup_dev_func_proto", "cgroup_sysctl": "sysctl_func_proto",
    "cgroup_sockopt": "cg_sockopt_func_proto", "syscall": "syscall_prog_func_proto",
}
# helper-returning functions: name -> the prototype they return
GETTERS = {"bpf_get_trace_printk_proto": "bpf_trace_printk_proto",
           "bpf_get_trace_vprintk_proto": "bpf_trace_vprintk_proto",
           "bpf_get_probe_write_proto": "bpf_probe_write_user_proto",
           "bpf_get_btf_vmlinux": None}
# helper-returning functions given the func_id: they answer bpf_<helper>_proto
FUNC_ID_GETTERS = {"bpf_get_skb_set_tunnel_proto"}
_PROTO = re.compile(r"const struct bpf_func_proto\s+(\w+)\s*=\s*\{(.*?)\n\};", re.S)
_FIELD = re.compile(r"\.(\w+)\s*=\s*([^,]+?),?\s*(?:/\*.*?\*/)?\s*$", re.M)


def read_sources(linux: Path) -> str:
    seen, parts = set(), []
    for pattern in SOURCES:
        for path in sorted(linux.glob(pattern)):
            if path not in seen:
                seen.add(path)
                parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def parse_protos(text: str) -> dict[str, dict[str, str]]:
    protos = {}
    for m in _PROTO.finditer(text):
        fields = {k: " ".join(v.split()) for k, v in _FIELD.findall(m.group(2))}
        protos.setdefault(m.group(1), fields)
    return protos


def function_body(text: str, name: str) -> str | None:
    """The body of function ``name``; a ``__weak`` default (``tracing_prog_func_proto`` of
    kernel/bpf/syscall.c) only when no strong definition exists."""
    found = list(re.finditer(r"^(?:static\s+)?(?:const\s+struct\s+bpf_func_proto\s*\*(\s*__weak)?"
                             r"\s*)?\n?" + name + r"\s*\(enum bpf_func_id func_id[^)]*\)\s*\{",
                             text, re.M))
    if not found:
        return None
    m = min(found, key=lambda m: bool(m.group(1)))
    depth, i = 1, m.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1]


def _target(expr: str) -> tuple[str, str | None, str]:
    """('proto', name, note) | ('call', function, '') | ('null', None, '')."""
    expr = expr.strip()
    note = "conditional" if "?" in expr else ""
    m = re.search(r"&(\w+)", expr)
    if m:
        return "proto", m.group(1), note
    m = re.search(r"(\w+)\(\)", expr)
    if m and m.group(1) in GETTERS:
        return "proto", GETTERS[m.group(1)], note
    m = re.match(r"(\w+)\(func_id", expr)
    if m and m.group(1) in FUNC_ID_GETTERS:
        return "getter", m.group(1), ""
    if m:
        return "call", m.group(1), ""
    return "null", None, note


def walk(text: str, name: str, tier: str, out: dict, depth: int = 0) -> None:
    """Add ``helper -> (proto, tier, note)`` for what function ``name`` answers."""
    body = function_body(text, name)
    if body is None or depth > 8:
        return
    pending: list[str] = []
    by_attach, offered = False, None  # in ``case BPF_FUNC_x: switch (prog->expected_attach_type)``
    body = re.sub(r"/\*.*?\*/", " ", body, flags=re.S)
    for raw in body.split(";"):
        line = " ".join(x for x in raw.splitlines() if not x.strip().startswith("#"))
        line = " ".join(line.split())
        if not line:
            continue
        if "perfmon_capable()" in line and "!" in line:
            tier = "perfmon"
        elif "bpf_capable()" in line and "!" in line:
            tier = "bpf" if tier != "perfmon" else tier
        for case in re.findall(r"case BPF_FUNC_(\w+)\s*:", line):
            pending.append(case)
        deleg = re.search(r"=\s*(\w+)\(func_id, prog\)|=\s*(\w+)\(func_id\)", line)
        if deleg and not pending:
            walk(text, deleg.group(1) or deleg.group(2), tier, out, depth + 1)
            continue
        m = re.search(r"(?:return|func\s*=)\s+(.*)$", line)
        if not m:
            continue
        kind, target, note = _target(m.group(1))
        if pending and "switch (prog->expected_attach_type)" in line:
            # offered for some attach types (helpers.attach_allows says which): recorded with
            # the prototype of the first return that names one
            by_attach, offered = True, target if kind == "proto" else None
            continue
        if by_attach and "default:" in line:
            offered = target if kind == "proto" else offered
            for helper in pending:
                out.setdefault(helper, (offered, tier, "attach"))
            pending, by_attach = [], False
            continue
        if by_attach:
            continue
        if kind == "getter":
            for helper in pending:
                out.setdefault(helper, (f"bpf_{helper}_proto", tier, note))
            pending = []
            continue
        if "default:" in line or (not pending and kind == "call"):
            if kind == "call":
                walk(text, target, tier, out, depth + 1)
            pending = []
            continue
        for helper in pending:
            if helper not in out and kind == "proto":
                out[helper] = (target, tier, note)
            elif helper not in out:
                out[helper] = (None, tier, note)
        pending = []


def main(argv: list[str]) -> int:
    linux = Path(argv[1] if len(argv) > 1 else "/tmp/linux/linux-source-6.1")
    text = read_sources(linux)
    protos = parse_protos(text)
    per_type = {}
    for ptype, root in ROOTS.items():
        table: dict = {}
        walk(text, root, "", table)
        per_type[ptype] = {h: v for h, v in table.items() if v[0]}
    # bpf_sk_base_func_proto assigns skc_to_* and checks perfmon after its switch
    for table in per_type.values():
        for h, (proto, _tier, note) in list(table.items()):
            if h.startswith("skc_to_"):
                table[h] = (proto, "perfmon", note)
    used = {v[0] for t in per_type.values() for v in t.values()}
    write(protos, per_type, used)
    return 0


def _wrap(words: list[str], indent: str) -> list[str]:
    lines, cur = [], ""
    for w in words:
        if len(indent) + len(cur) + len(w) + 4 > 98:
            lines.append(cur)
            cur = ""
        cur = f"{cur} {w}".strip()
    lines.append(cur)
    return [f'{indent}"{line} "' for line in lines]


_ABBREV = ((" | MEM_", "|"), ("MEM_UNINIT | ", "UNINIT|"), ("ARG_PTR_TO_", "P:"),
           ("ARG_CONST_", "C:"), ("ARG_", ""), ("RET_PTR_TO_", "P:"), ("RET_", ""), (" | ", "|"),
           ("PTR_MAYBE_NULL", "NULL"))


def _short(kernel_type: str) -> str:
    for long, short in _ABBREV:
        kernel_type = kernel_type.replace(long, short)
    return kernel_type


def write(protos: dict, per_type: dict, used: set) -> None:
    from kernel_lsp.ebpf.helpers import HELPER_IDS

    head = ["# Generated by scripts/gen_bpf_helper_tables.py from a Linux 6.1 tree: facts, no code.",
            "# fmt: off"]
    out = ['"""Helper prototypes of Linux 6.1 (generated; see scripts/gen_bpf_helper_tables.py).',
           "", "``PROTOS``: prototype name -> ``RET; ARG1, ARG2, ...; FLAGS; SIZES`` with the kernel's",
           "type names shortened (``P:`` = ``ARG_PTR_TO_``/``RET_PTR_TO_``, ``C:`` = ``ARG_CONST_``,",
           "``ARG_``/``RET_`` and the ``MEM_`` of flags dropped, ``NULL`` = ``PTR_MAYBE_NULL``);",
           "flags ``p`` pkt_access,",
           "``s`` might_sleep, ``g`` gpl_only; sizes ``index=bytes`` of fixed-size memory arguments.",
           '"""', ""] + head + ["PROTOS = {"]
    for name in sorted(used):
        f = protos.get(name)
        if f is None:
            continue
        args = [_short(f.get(f"arg{i}_type", "")) for i in range(1, 6)]
        while args and not args[-1]:
            args.pop()
        sizes = " ".join(f"{i}={_size(f[f'arg{i + 1}_size'])}" for i in range(5)
                         if f"arg{i + 1}_size" in f)
        flags = "".join(c for c, k in (("p", "pkt_access"), ("s", "might_sleep"),
                                       ("g", "gpl_only")) if f.get(k) == "true")
        # RET_INTEGER is 0: a prototype without .ret_type returns an integer
        text = f"{_short(f.get('ret_type', 'RET_INTEGER'))}; {', '.join(args)}; {flags}; {sizes}"
        key = name.removeprefix("bpf_").removesuffix("_proto")
        line = f"    {key!r}: {text!r},"
        if len(line) > 98:
            cut = text.rfind(", ", 0, 60) + 2
            line = f"    {key!r}: ({text[:cut]!r}\n        {text[cut:]!r}),"
        out.append(line)
    out += ["}", "# fmt: on"]
    OUT.write_text("\n".join(out) + "\n")
    avail = ['"""Which helpers each Linux 6.1 program type may call (generated; see',
             "scripts/gen_bpf_helper_tables.py).", "",
             "``AVAIL[prog_type]`` is three hexadecimal bit masks over helper ids (bit ``i`` = helper",
             "id ``i`` of ``helpers.HELPER_NAMES``): callable by any loader, with CAP_BPF, with",
             "CAP_PERFMON. ``PROTO_OF[prog_type]`` names the prototype (a key of ``protodata.PROTOS``)",
             "of each helper whose prototype is not named after the helper.", '"""', ""] + head
    avail.append("AVAIL = {")
    overrides = ["PROTO_OF = {"]
    for ptype, table in per_type.items():
        masks = []
        for tier in ("", "bpf", "perfmon"):
            bits = sum(1 << HELPER_IDS[h] for h, v in table.items() if v[1] == tier)
            masks.append(f"{bits:#x}")
        avail.append(f"    {ptype!r}: (")
        avail += [f"        {m!r}," for m in masks]
        avail.append("    ),")
        special = sorted(f"{h}={v[0].removeprefix('bpf_').removesuffix('_proto')}"
                         for h, v in table.items() if v[0] != f"bpf_{h}_proto")
        if special:
            overrides.append(f"    {ptype!r}: (")
            overrides += _wrap(special, "        ")
            overrides.append("    ),")
    avail.append("}")
    overrides += ["}", "# fmt: on"]
    AVAIL_OUT.write_text("\n".join(avail + overrides) + "\n")


def _size(expr: str) -> int:
    sizes = {"sizeof(u32)": 4, "sizeof(s64)": 8, "sizeof(u64)": 8, "sizeof(struct iphdr)": 20,
             "sizeof(struct ipv6hdr)": 40, "sizeof(struct tcphdr)": 20,
             "sizeof(struct bpf_dynptr)": 16, "sizeof(struct bpf_timer)": 16}
    if expr in sizes:
        return sizes[expr]
    return int(expr, 0) if expr.isdigit() else -1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
