"""Recall harness report: the table per fault kind, the commonest misses and noise, with examples."""

from __future__ import annotations

import re
from collections import Counter

import recall_compare as cmp
from recall_faults import KINDS

TOP = 10
_QUOTED = re.compile(r"'[^']*'")


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def _counted(rows: list[dict], kind: str, seed: int) -> list[dict]:
    return [r for r in rows if r["kind"] == kind and r.get("seed") == seed and r["status"] == "ok"]


def recompute(row: dict) -> dict:
    """The row matched again with today's rules (when it kept all of GCC's new diagnostics)."""
    if row["status"] != "ok" or len(row["gcc_new"]) != row["gcc_new_total"]:
        return row
    return {**row, **cmp.compare(row["gcc_new"], row["klsp_new"], row["expect"])}


def kind_line(kind: str, rows: list[dict], skipped: Counter) -> str:
    matched = sum(len(r["matched"]) for r in rows)
    total = matched + sum(len(r["missed"]) for r in rows)
    parts = []
    for cat in ("implicit", "type"):
        m = sum(1 for r in rows for d in r["matched"] if d["cat"] == cat)
        t = m + sum(1 for r in rows for d in r["missed"] if d["cat"] == cat)
        parts.append(f"{cat} {m}/{t}")
    with_diag = [r for r in rows if r["matched"] or r["missed"]]
    caught = sum(1 for r in with_diag if r["matched"])
    noise = sum(len(r["noise"]) for r in rows)
    n = len(rows)
    cells = [f"{kind} {KINDS[kind]:<40}", f"{n:>6}", f"{total:>6}", f"{matched:>7}",
             f"{_pct(matched, total):>7}", f"{noise / n if n else 0:>7.2f}",
             f"{caught:>4}/{len(with_diag):<4}", "  ".join(parts)]
    if kind == "e":
        found = sum(1 for r in rows if r["expect_found"])
        cells[2:5] = [f"{'-':>6}", f"{found:>7}", f"{_pct(found, n):>7}"]
    skip = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items()))
    return "  ".join(cells) + (f"  (not counted: {skip})" if skip else "")


def print_table(rows: list[dict], kinds: str, seed: int) -> None:
    print()
    print(f"{'kind':<42}  {'faults':>6}  {'gcc':>6}  {'matched':>7}  {'recall':>7}  "
          f"{'noise/e':>7}  {'faults caught':<9}  by category")
    for kind in kinds:
        counted = _counted(rows, kind, seed)
        skipped = Counter(r["status"] for r in rows if r["kind"] == kind and
                          r.get("seed") == seed and r["status"] != "ok")
        if counted or skipped:
            print(kind_line(kind, counted, skipped))
    print("gcc: new implicit-declaration and undefined-type diagnostics; matched: a new kernel-lsp "
          "finding at the same line (and symbol); kind e: recall = 405_2 at the call; noise/e: "
          "new kernel-lsp findings matching no new GCC diagnostic, per edit; faults caught: faults "
          "with at least one matched diagnostic, of those with any")


def _template(message: str) -> str:
    return _QUOTED.sub("'…'", message.split(";")[0])


def print_misses(rows: list[dict], kinds: str, seed: int) -> None:
    groups: Counter = Counter()
    example: dict = {}
    for kind in kinds:
        for r in _counted(rows, kind, seed):
            for d in r["missed"]:
                key = (kind, d["cat"], d["symbol"] or _template(d["message"]))
                groups[key] += 1
                example.setdefault(key, (d, r))
            if kind == "e" and not r["expect_found"]:
                key = ("e", "405_2", r["expect"]["symbol"])
                groups[key] += 1
                example.setdefault(key, (None, r))
    if not groups:
        return
    print(f"\n{TOP} most common misses (kind, category, symbol: count; example)")
    for key, n in groups.most_common(TOP):
        d, r = example[key]
        if d is None:
            got = ", ".join(f"{f['code']} {f['symbol']}" for f in r["klsp_new"]) or "nothing"
            e = r["expect"]
            print(f"  {key[0]} 405_2 {key[2]}: {n}; {e['path']}:{e['line']}: static in "
                  f"{e['static_in']}; kernel-lsp reported {got}")
        else:
            print(f"  {key[0]} {key[1]} {key[2]}: {n}; {d['file']}:{d['line']}: {d['message']} "
                  f"(fault {r['where']})")


def print_noise(rows: list[dict], kinds: str, seed: int) -> None:
    groups: Counter = Counter()
    example: dict = {}
    for kind in kinds:
        for r in _counted(rows, kind, seed):
            for f in r["noise"]:
                key = (kind, f["code"], f["symbol"])
                groups[key] += 1
                example.setdefault(key, (f, r))
    if not groups:
        return
    print(f"\n{TOP} most common noise findings (kind, code, symbol: count; example)")
    for key, n in groups.most_common(TOP):
        f, r = example[key]
        print(f"  {key[0]} {key[1]} {key[2]}: {n}; {f['path']}:{f['line']}: {f['message']} "
              f"(fault {r['where']})")


def print_report(rows: list[dict], kinds: str, seed: int) -> None:
    rows = [recompute(r) for r in rows]
    stamps = sorted({r.get("kernel_lsp", "?") for r in rows if r.get("seed") == seed})
    if len(stamps) > 1:
        print(f"note: results come from {len(stamps)} kernel-lsp versions: {stamps}; "
              "--fresh to start over")
    seconds = [r["seconds"] for r in rows if r.get("seed") == seed]
    if seconds:
        print(f"{len(seconds)} faults run, {sum(seconds) / len(seconds):.1f} s per fault")
    print_table(rows, kinds, seed)
    print_misses(rows, kinds, seed)
    print_noise(rows, kinds, seed)
