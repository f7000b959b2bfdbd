#!/usr/bin/env python3
"""Benchmark (not a CI test): the Linux 6.1 ``test_verifier`` cases against kernel-lsp's verifier.

Reads ``tools/testing/selftests/bpf/verifier/*.c`` of a Linux source tree (``--linux DIR``; the
files are bare case bodies, wrapped here as ``test_verifier.c`` includes them inside
``struct bpf_test tests[] = {...}``; the helper macros of ``test_verifier.c`` itself are read
from the same tree) through the C-array decoder, loads each case the way the harness does
(``bench/ebpf_tv_harness.py``: the maps of its ``fixup_map_*`` lists, program type, expected
attach type, flags) and prints per file and overall:

* verdict agreement with Linux 6.1, privileged (``#N/p``) and unprivileged (``#N/u``: cases of
  socket-filter and cgroup-skb type, with ``.result_unpriv``/``.errstr_unpriv`` when set);
* unsafe accepts: kernel rejects for memory safety (invalid memory access, out of bounds,
  uninitialised read, NULL dereference, pointer leak; ``ebpf_tv_harness.SAFETY``) that we accept;
* the kernel's ``errstr`` matched on rejects (the harness's ``cmp_str_seq``: TAB-separated
  pieces found in order in our messages);
* for kernel-accepted cases with ``.retval``: whether the reference interpreter returns the same
  value (as the 32-bit ``retval`` of ``BPF_PROG_TEST_RUN``; ``POINTER_VALUE`` matches anything);
* the whole suite's time and the slowest case; the excluded cases, with the reason.

Run:  python bench/ebpf_test_verifier.py --linux /path/to/linux-source-6.1 [-v] [--only FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ebpf_tv_harness as harness  # noqa: E402

from kernel_lsp.ebpf.insn import Insn, Program
from kernel_lsp.ebpf.load.carray import collect_defines, parse_c_arrays
from kernel_lsp.ebpf.run.ctxlayout import has_packet_context
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.run.maps import FIXUP_MAPS
from kernel_lsp.ebpf.verify import accepted, verify

POINTER_VALUE = 0xCAFE4A  # test_verifier.c: 0xcafe4all (0xcafe4a, suffix ll)
TEST_DATA_LEN = 64
# BPF_PROG_TEST_RUN in 6.1 returns -ENOTSUPP for these: the harness never checks their retval.
NOT_RUN_BY_KERNEL = {"tracepoint", "kprobe", "perf_event", "cgroup_sock", "cgroup_sock_addr",
                     "cgroup_device", "cgroup_sysctl", "cgroup_sockopt", "sock_ops", "sk_msg",
                     "lsm", "ext", "lirc_mode2", "sk_reuseport", "lwt_seg6local"}


def load_cases(linux: Path) -> list[tuple[str, Program]]:
    bpf = linux / "tools/testing/selftests/bpf"
    _, objs, funcs = collect_defines((bpf / "test_verifier.c").read_bytes())
    cases = []
    for path in sorted((bpf / "verifier").glob("*.c")):
        wrapped = b"static struct bpf_test tests[] = {\n" + path.read_bytes() + b"\n};\n"
        for program in parse_c_arrays(wrapped, path.name, macros=objs, func_macros=funcs):
            cases.append((path.name, program))
    return cases


def harness_length(program: Program) -> list[Insn]:
    """``probe_filter_length``: up to the last slot with a non-zero code or imm, at least 1."""
    insns = list(program.insns)
    while insns and insns[-1].opcode == 0 and insns[-1].imm == 0:
        insns.pop()
    return insns or [Insn(0, 0, 0, 0, 0)]


def errstr_matches(errstr: str, messages: str) -> bool:
    """The harness's ``cmp_str_seq``: TAB-separated pieces, each found after the previous."""
    pos = 0
    for piece in errstr.split("\t"):
        found = messages.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def run_skip_reason(program: Program) -> str | None:
    """Why the retval of this case is not compared (None: compare it)."""
    meta = program.meta
    if "retvals" in meta:
        return "multi-run .retvals (per-run data not decoded)"
    fixups = [k for k, v in meta.items() if k.startswith("fixup_") and v]
    unsupported = [k for k in fixups if k not in FIXUP_MAPS]
    if unsupported:
        return f"needs {unsupported[0].removeprefix('fixup_')} (not emulated)"
    if meta.get("kfunc") or meta.get("btf_types") or meta.get("func_info"):
        return "needs BTF / kfunc attach target"
    return None


def test_data(meta: dict) -> bytes:
    data = bytearray(TEST_DATA_LEN)
    if isinstance(meta.get("data64"), list):
        for i, v in enumerate(meta["data64"][: TEST_DATA_LEN // 8]):
            if isinstance(v, int):
                data[8 * i : 8 * i + 8] = (v & (1 << 64) - 1).to_bytes(8, "little")
    elif isinstance(meta.get("data"), list):
        for i, v in enumerate(meta["data"][:TEST_DATA_LEN]):
            if isinstance(v, int):
                data[i] = v & 0xFF
    return bytes(data)


class Stats:
    def __init__(self):
        self.c = Counter()

    def add(self, key: str, n: int = 1):
        self.c[key] += n


def evaluate(file: str, program: Program, stats: Stats, notes: dict, budget: int,
             times: list) -> None:
    meta = program.meta
    name = f"{file}: {program.name}"
    ptype = harness.prog_type_of(meta)
    if meta.get("errors"):
        stats.add("skip")
        notes["excluded: decode error"].append(f"{name}: {meta['errors'][0].message}")
        return
    why = harness.exclusion(meta, ptype)
    if why:
        stats.add("skip")
        notes[f"excluded: {why}"].append(name)
        return
    stats.add("cases")
    prog = Program(program.name, harness_length(program), prog_type=ptype, meta=meta)
    runs = [False] + ([True] if harness.runs_unprivileged(meta) else [])
    for unpriv in runs:
        _judge(prog, unpriv, stats, notes, name, times)
    kernel_accepts, _ = harness.expected(meta, False)
    if kernel_accepts and ("retval" in meta or "retvals" in meta):
        _retval(prog, ptype, stats, notes, name, budget)


def _judge(prog: Program, unpriv: bool, stats: Stats, notes: dict, name: str,
           times: list) -> None:
    mode = "u" if unpriv else "p"
    want, errstr = harness.expected(prog.meta, unpriv)
    t0 = time.perf_counter()
    found = verify(prog, harness.options_of(prog.meta, unpriv))
    times.append((time.perf_counter() - t0, f"{name} /{mode}"))
    ours = accepted(found)
    messages = "\n".join(f.message for f in found if f.is_error)
    stats.add(f"{mode}:cases")
    stats.add(f"{mode}:agree" if ours == want else f"{mode}:disagree")
    if want and not ours:
        first = next(f for f in found if f.is_error)
        notes[f"/{mode} ACCEPT rejected ({first.code})"].append(
            f"{name}  [{first.message[:110]}]")
        return
    if want:
        return
    stats.add(f"{mode}:rejects")
    category = harness.safety_category(errstr)
    if category:
        stats.add(f"{mode}:safety")
    if ours:
        stats.add(f"{mode}:missed")
        later = harness.LATER_ACCEPTED.get(prog.name)
        if later:
            notes[f"/{mode} REJECT accepted, as a later Linux does"].append(f"{name}  [{later}]")
        elif category:
            stats.add(f"{mode}:unsafe")
            notes[f"/{mode} UNSAFE ACCEPT ({category})"].append(f"{name}  [{errstr}]")
        else:
            notes[f"/{mode} REJECT accepted"].append(f"{name}  [{errstr}]")
    elif errstr is None or errstr_matches(errstr, messages):
        stats.add(f"{mode}:errstr")
    else:
        notes[f"/{mode} REJECT with another message"].append(
            f"{name}  [kernel: {errstr!r}; ours: {messages.splitlines()[0][:100]!r}]")


def _retval(prog, ptype, stats, notes, name, budget) -> None:
    reason = run_skip_reason(prog)
    if reason:
        stats.add("ret_skip")
        notes[f"retval skipped: {reason}"].append(name)
        return
    want = prog.meta["retval"]
    if not isinstance(want, int):
        stats.add("ret_skip")
        notes["retval skipped: retval not a constant"].append(name)
        return
    if ptype in NOT_RUN_BY_KERNEL:
        stats.add("ret_skip")
        notes[f"retval skipped: BPF_PROG_TEST_RUN does not run {ptype} programs (the kernel "
              "never checks it)"].append(name)
        return
    stats.add("ret_total")
    res = run(prog, test_data(prog.meta), prog_type=ptype,
              packet=has_packet_context(ptype), budget=budget)
    ok = res.fault is None and (want & 0xFFFFFFFF == POINTER_VALUE
                                or res.r0 & 0xFFFFFFFF == want & 0xFFFFFFFF)
    if ok:
        stats.add("ret_same")
    else:
        got = res.fault.message if res.fault else f"r0={res.r0 & 0xFFFFFFFF:#x}"
        notes["retval differs"].append(f"{name}  [want {want & 0xFFFFFFFF:#x}, got {got}]")


def _row(label: str, c: Counter) -> str:
    return (f"{label:32s} {c['cases']:5d} {c['p:agree']:5d}/{c['p:cases']:<5d}"
            f" {c['u:agree']:5d}/{c['u:cases']:<5d}"
            f" {c['p:errstr'] + c['u:errstr']:5d}/{c['p:rejects'] + c['u:rejects']:<5d}"
            f" {c['p:unsafe'] + c['u:unsafe']:6d} {c['ret_same']:5d}/{c['ret_total']:<5d}"
            f" {c['skip']:5d}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--linux", default="/usr/src/linux-source-6.1", type=Path,
                    help="root of an extracted Linux 6.1 source tree")
    ap.add_argument("--budget", type=int, default=200_000, help="interpreter budget per case")
    ap.add_argument("--only", default=None, help="only files whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every case in notes")
    args = ap.parse_args(argv)
    if not (args.linux / "tools/testing/selftests/bpf/verifier").is_dir():
        print(f"no tools/testing/selftests/bpf/verifier under {args.linux}", file=sys.stderr)
        return 2
    per_file: dict[str, Stats] = defaultdict(Stats)
    total, notes, times = Stats(), defaultdict(list), []
    t0 = time.perf_counter()
    for file, program in load_cases(args.linux):
        if args.only and args.only not in file:
            continue
        evaluate(file, program, per_file[file], notes, args.budget, times)
    elapsed = time.perf_counter() - t0
    print(f"{'file':32s} {'cases':>5s} {'priv agree':>11s} {'unpriv agree':>11s} "
          f"{'errstr':>11s} {'unsafe':>6s} {'retval':>11s} {'excl':>5s}")
    for file in sorted(per_file):
        print(_row(file, per_file[file].c))
        total.c.update(per_file[file].c)
    print(_row("TOTAL", total.c))
    _summary(total.c, notes, args.verbose, times, elapsed)
    return 0


def _summary(c: Counter, notes: dict, verbose: bool, times: list, elapsed: float) -> None:
    pct = lambda a, b: f"{100.0 * a / b:.1f}%" if b else "n/a"  # noqa: E731
    rejects = c["p:rejects"] + c["u:rejects"]
    errstr = c["p:errstr"] + c["u:errstr"]
    print()
    print(f"cases judged: {c['cases']} (excluded: {c['skip']}, listed below with the reason)")
    print(f"verdict agreement, privileged:   {c['p:agree']}/{c['p:cases']} "
          f"({pct(c['p:agree'], c['p:cases'])})   goal >= 90%")
    print(f"verdict agreement, unprivileged: {c['u:agree']}/{c['u:cases']} "
          f"({pct(c['u:agree'], c['u:cases'])})   goal >= 85%")
    print(f"unsafe accepts among the kernel's memory-safety rejects: "
          f"{c['p:unsafe']} privileged of {c['p:safety']}, {c['u:unsafe']} unprivileged of "
          f"{c['u:safety']}   goal 0")
    print(f"kernel errstr matched on rejects: {errstr}/{rejects} ({pct(errstr, rejects)})   "
          f"goal >= 80%  (rejects we accept: {c['p:missed'] + c['u:missed']})")
    print(f"retval agreement (interpreter): {c['ret_same']}/{c['ret_total']} "
          f"({pct(c['ret_same'], c['ret_total'])}); retval cases skipped: {c['ret_skip']}")
    slowest = max(times, default=(0.0, "-"))
    print(f"time: whole suite {elapsed:.1f} s ({len(times)} verifier runs); slowest case "
          f"{slowest[0] * 1000:.0f} ms ({slowest[1]})   goals < 60 s, every case < 1 s")
    slow = sorted((t for t in times if t[0] >= 0.2), reverse=True)
    print(f"cases over 1 s: {sum(1 for t, _ in slow if t >= 1.0)}; over 0.2 s: " + "; ".join(
        f"{name} {t:.2f} s" for t, name in slow[:6]))
    for title in sorted(notes):
        items = notes[title]
        print(f"\n{title}: {len(items)}")
        for item in items if verbose else items[:8]:
            print(f"  {item}")
        if not verbose and len(items) > 8:
            print(f"  ... ({len(items) - 8} more; -v lists all)")


if __name__ == "__main__":
    sys.exit(main())
