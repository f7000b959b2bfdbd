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


def _group(d: dict) -> tuple:
    return d["file"], d["cat"], d["symbol"] or d["message"]


def _distinct(rows: list[dict]) -> tuple[int, int]:
    """(matched, all) distinct (file, category, symbol) groups of GCC diagnostics per fault:
    GCC reports a type error at every use, kernel-lsp a type once per function."""
    m = t = 0
    for r in rows:
        hit = {_group(d) for d in r["matched"]}
        every = hit | {_group(d) for d in r["missed"]}
        m, t = m + len(hit), t + len(every)
    return m, t


def kind_line(kind: str, rows: list[dict], skipped: Counter) -> str:
    n = len(rows)
    matched = sum(len(r["matched"]) for r in rows)
    total = matched + sum(len(r["missed"]) for r in rows)
    cats = []
    for cat in ("implicit", "type"):
        m = sum(1 for r in rows for d in r["matched"] if d["cat"] == cat)
        t = m + sum(1 for r in rows for d in r["missed"] if d["cat"] == cat)
        cats.append(f"{m}/{t}")
    dm, dt = _distinct(rows)
    with_diag = [r for r in rows if r["matched"] or r["missed"]]
    caught = sum(1 for r in with_diag if r["matched"])
    noise = sum(len(r["noise"]) for r in rows)
    if kind == "e":
        found = sum(1 for r in rows if r["expect_found"])
        recall = f"{found}/{n} = {_pct(found, n)}"
    else:
        recall = f"{matched}/{total} = {_pct(matched, total)}"
    cells = [f"{kind} {KINDS[kind]:<40}", f"{n:>6}", f"{recall:>22}", f"{cats[0]:>10}",
             f"{cats[1]:>10}", f"{f'{dm}/{dt}':>9}", f"{f'{caught}/{len(with_diag)}':>7}",
             f"{noise / n if n else 0:>7.2f}"]
    skip = ", ".join(f"{v} {k}" for k, v in sorted(skipped.items()))
    stopped = [r for r in rows if r.get("unjudged")]
    unjudged = (f"  (unjudged: {sum(len(r['unjudged']) for r in stopped)} findings of "
                f"{len(stopped)} faults where GCC stopped at a fatal error)") if stopped else ""
    return "  ".join(cells) + unjudged + (f"  (not counted: {skip})" if skip else "")


def print_table(rows: list[dict], kinds: str, seed: int) -> None:
    print()
    print(f"{'kind':<42}  {'faults':>6}  {'recall':>22}  {'implicit':>10}  {'type':>10}  "
          f"{'distinct':>9}  {'caught':>7}  {'noise/e':>7}")
    for kind in kinds:
        counted = _counted(rows, kind, seed)
        skipped = Counter(r["status"] for r in rows if r["kind"] == kind and
                          r.get("seed") == seed and r["status"] != "ok")
        if counted or skipped:
            print(kind_line(kind, counted, skipped))
    print("recall: new GCC diagnostics (implicit declarations, undefined-type errors) reported by "
          "a new kernel-lsp finding at the same line and symbol (kind e: faults reported as 405_2 "
          "at the call); implicit, type: the same by category; distinct: per (file, category, "
          "symbol); caught: faults with a matched diagnostic, of those with any; noise/e: new "
          "kernel-lsp findings matching no new GCC diagnostic, per edit")


def _template(message: str) -> str:
    return _QUOTED.sub("'…'", message.split(";")[0])


def _rank(groups: dict) -> list:
    """Keys by the number of faults they occur in, then by their number of occurrences."""
    return sorted(groups, key=lambda k: (-len(groups[k]["faults"]), -groups[k]["n"], str(k)))[:TOP]


def _add(groups: dict, key, row: dict, example) -> None:
    g = groups.setdefault(key, {"n": 0, "faults": set(), "example": (example, row)})
    g["n"] += 1
    g["faults"].add(row["id"])


def _why(d: dict, r: dict) -> str:
    """Where a missed diagnostic is and what kernel-lsp reported at its line instead."""
    where = "unit" if d["file"] in r["units"] else "header"
    there = [f for f in r["klsp_new"] if cmp._at(d, f)]
    if not there:
        return f"{d['cat']} in {where}: nothing new at the line"
    if any(f["symbol"] == d["symbol"] for f in there):
        codes = sorted({f["code"] for f in there if f["symbol"] == d["symbol"]})
        return f"{d['cat']} in {where}: same symbol as {'/'.join(codes)}"
    return f"{d['cat']} in {where}: another symbol at the line"


def print_misses(rows: list[dict], kinds: str, seed: int) -> None:
    for kind in kinds:
        groups: dict = {}
        why: Counter = Counter()
        for r in _counted(rows, kind, seed):
            for d in r["missed"]:
                _add(groups, (d["cat"], d["symbol"] or _template(d["message"])), r, d)
                why[_why(d, r)] += 1
            if kind == "e" and not r["expect_found"]:
                _add(groups, ("405_2", r["expect"]["symbol"]), r, None)
                why["405_2 not reported: " + (", ".join(sorted({f["code"] for f in r["klsp_new"]}))
                                              or "nothing new")] += 1
        if not groups:
            continue
        print(f"\nkind {kind} ({KINDS[kind]}): misses by place and by what kernel-lsp said there: "
              + "; ".join(f"{k} {v}" for k, v in why.most_common()))
        print(f"{TOP} most common misses (category, symbol: faults, diagnostics; example)")
        for key in _rank(groups):
            g = groups[key]
            d, r = g["example"]
            head = f"  {key[0]} {key[1]}: {len(g['faults'])} fault(s), {g['n']}"
            if d is None:
                got = ", ".join(f"{f['code']} {f['symbol']}" for f in r["klsp_new"]) or "nothing"
                e = r["expect"]
                print(f"{head}; {e['path']}:{e['line']}: static in {e['static_in']}; kernel-lsp "
                      f"reported {got}")
            else:
                print(f"{head}; {d['file']}:{d['line']}: {d['message']} (fault {r['where']})")


def print_noise(rows: list[dict], kinds: str, seed: int) -> None:
    groups: dict = {}
    for kind in kinds:
        for r in _counted(rows, kind, seed):
            for f in r["noise"]:
                _add(groups, (kind, f["code"], f["symbol"]), r, f)
    if not groups:
        return
    print(f"\n{TOP} most common noise findings (kind, code, symbol: faults, findings; example)")
    for key in _rank(groups):
        g = groups[key]
        f, r = g["example"]
        print(f"  {key[0]} {key[1]} {key[2]}: {len(g['faults'])} fault(s), {g['n']}; "
              f"{f['path']}:{f['line']}: {f['message']} (fault {r['where']})")


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
