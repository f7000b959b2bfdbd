"""Data-driven interpreter tests: each fixtures/ebpf/run/*.s states its expectation inline.

Directives (comment lines): ``; expect: r0 = N`` or ``; expect: fault KIND``, ``; mem: HEX``,
``; prog_type: T``, ``; packet: yes``, ``; budget: N``, ``; map: SLOT KIND KEY VALUE MAX``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel_lsp.ebpf.load.asmtext import parse_asm
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.run.maps import MapSpec

RUN_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf" / "run"
CASES = sorted(RUN_DIR.glob("*.s"))


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"^\s*;\s*(\w+):\s*(.*?)\s*$", text, re.M):
        found.setdefault(m.group(1), []).append(m.group(2))
    return found


def run_fixture(path: Path):
    text = path.read_text()
    d = directives(text)
    program = parse_asm(text, path.name)
    assert program.meta["errors"] == [], [e.text() for e in program.meta["errors"]]
    slot_maps = {}
    for spec in d.get("map", []):
        slot, kind, key, value, max_entries = spec.split()
        slot_maps[int(slot)] = MapSpec(f"m{slot}", kind, int(key), int(value), int(max_entries))
    program.meta["slot_maps"] = slot_maps
    return d, run(program, bytes.fromhex(d.get("mem", [""])[0]),
                  prog_type=d.get("prog_type", [None])[0],
                  packet=d.get("packet", ["no"])[0] == "yes",
                  budget=int(d.get("budget", ["100000"])[0]))


def test_fixtures_exist():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_run_fixture(path: Path):
    d, result = run_fixture(path)
    expect = d["expect"][0]
    if expect.startswith("fault"):
        assert result.fault is not None, f"expected a fault, got r0={result.r0:#x}"
        assert result.fault.kind == expect.split()[1], result.fault
    else:
        want = int(expect.split("=")[1].strip(), 0) & ((1 << 64) - 1)
        assert result.fault is None, result.fault
        assert result.r0 == want, f"r0={result.r0:#x} want {want:#x}"


def test_region_fault_message_names_insn():
    program = parse_asm("r1 = 1\n*(u64 *)(r10 + 0) = r1\nexit\n", "t.s")
    result = run(program)
    assert result.fault.message.startswith("region fault at insn 1: write of 8 bytes at 0x")
    assert result.fault.message.endswith("outside any writable region")
    assert result.to_json()["fault"]["insn"] == 1


def test_json_shape():
    result = run(parse_asm("r0 = -1\nexit\n", "t.s"))
    assert result.to_json() == {"r0": (1 << 64) - 1, "insns_executed": 2}
