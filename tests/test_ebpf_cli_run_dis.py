"""``kernel-lsp bpf run`` and ``bpf dis`` on the fixtures: output shapes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from kernel_lsp.cli import main
from kernel_lsp.ebpf.load import load_file
from kernel_lsp.ebpf.load.asmtext import parse_asm

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf"


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_json_r0(capsys):
    code, out, _ = _run(capsys, "bpf", "run", str(FIX / "run/alu64_basic.s"), "--format", "json")
    assert code == 0 and json.loads(out) == {"r0": 42, "insns_executed": 4}


def test_run_json_fault_exit_1(capsys):
    code, out, _ = _run(capsys, "bpf", "run", str(FIX / "run/fault_null.s"), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["fault"]["insn"] == 1 and data["fault"]["kind"] == "region"


def test_run_text_and_mem(capsys):
    code, out, _ = _run(capsys, "bpf", "run", str(FIX / "run/ctx_len.s"), "--mem", "00 11 22")
    assert code == 0 and out.startswith("r0 = 3 ")


def test_run_bad_input_exit_2(capsys):
    assert _run(capsys, "bpf", "run", str(FIX / "run/ctx_len.s"), "--mem", "xyz")[0] == 2
    assert _run(capsys, "bpf", "run", str(FIX / "nope.s"))[0] == 2
    code, _, err = _run(capsys, "bpf", "run", str(FIX / "carray/sample.c"), "--section", "zz")
    assert code == 2 and "Traceback" not in err


def test_run_unknown_program_type_exit_2(capsys):
    # as bpf check: a misspelt type ran the program under no type's context and helpers
    code, out, err = _run(capsys, "bpf", "run", str(FIX / "run/ctx_len.s"), "--packet",
                          "--prog-type", "nonsense", "--mem", "00 11 22")
    assert code == 2 and out == ""
    assert err.startswith("kernel-lsp bpf run: unknown program type 'nonsense' (known: ")


def test_run_c_section_and_elf(capsys):
    code, out, _ = _run(capsys, "bpf", "run", str(FIX / "carray/sample.c"), "--section",
                        "returns seven", "--format", "json")
    assert code == 0 and json.loads(out)["r0"] == 7
    code, out, _ = _run(capsys, "bpf", "run", str(FIX / "elf/progs.o"), "--format", "json")
    assert code == 0 and json.loads(out)["r0"] == 8  # add_one(threshold) via .rodata


def test_dis_round_trips(capsys):
    for path in [FIX / "elf/progs.o", *sorted((FIX / "run").glob("*.s"))]:
        code, out, _ = _run(capsys, "bpf", "dis", str(path), "--section",
                            load_file(str(path)).programs[0][0].section or
                            load_file(str(path)).programs[0][0].name)
        assert code == 0
        original = load_file(str(path)).programs[0][0]
        assert parse_asm(out, "dis.s").insns == original.insns, path.name
