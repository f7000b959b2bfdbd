"""``kernel-lsp bpf check`` through ``kernel_lsp.cli.main``: exit codes, text and JSON shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kernel_lsp.cli import main

RAW = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf" / "raw"
ASM = RAW.parent / "asm"
_TEXT = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|note): "
                   r"(?P<msg>.+) \[(?P<code>E\d{3})\]( \(at insn (?P<insn>\d+)\))?$")


def _run(capsys, *argv):
    status = main(["bpf", "check", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_accepted_program_exits_0_and_prints_no_finding(capsys):
    status, out, _ = _run(capsys, RAW / "ok_return0.bin")
    assert (status, out) == (0, "")


def test_rejected_program_exits_1_with_kernel_wording(capsys):
    status, out, _ = _run(capsys, RAW / "e101_out_of_range.bin")
    assert status == 1
    m = _TEXT.match(out.strip())
    assert m, out
    assert m["msg"] == "jump out of range from insn 0 to 2"
    assert (m["code"], m["insn"], m["line"], m["col"]) == ("E101", "0", "1", "1")


def test_text_line_uses_the_assembly_line(capsys):
    status, out, _ = _run(capsys, "--no-bounded-loops", ASM / "e105_loop.s")
    assert status == 1
    m = _TEXT.match(out.strip())
    assert (m["line"], m["code"], m["insn"]) == ("6", "E105", "2")


def test_json_shape(capsys):
    status, out, _ = _run(capsys, "--format", "json", "--isa", "linux-6.1", RAW / "e016_shift.bin",
                          RAW / "ok_return0.bin")
    assert status == 1
    doc = json.loads(out)
    assert doc["version"] == 1
    assert [(f["code"], f["insn"]) for f in doc["findings"]] == [("E016", 1), ("E016", 2)]
    keys = {"code", "severity", "path", "line", "column", "end_line", "end_column", "symbol",
            "message", "insn"}
    assert all(set(f) == keys for f in doc["findings"])
    assert doc["findings"][0]["message"] == "invalid shift 64"
    assert doc["findings"][0]["symbol"] == "e016_shift"
    assert doc["stats"]["programs"] == 2
    assert (doc["stats"]["accepted"], doc["stats"]["rejected"]) == (1, 1)
    assert doc["stats"]["by_code"] == {"E016": 2}


def test_prog_type_changes_the_helper_verdict(capsys):
    xdp_helper = RAW / "ok_xdp_helper.bin"  # calls xdp_adjust_head
    assert _run(capsys, "--prog-type", "xdp", xdp_helper)[0] == 0
    status, out, _ = _run(capsys, xdp_helper)  # default socket_filter
    assert status == 1 and "unknown func bpf_xdp_adjust_head#44 [E109]" in out


def test_bounded_loops_are_privileged_default(capsys):
    """A loop counting to 4: walked by default, E105 in loop-free mode and for unprivileged."""
    assert _run(capsys, RAW / "e105_cond_loop.bin")[0] == 0
    assert _run(capsys, "--bounded-loops", RAW / "e105_cond_loop.bin")[0] == 0
    status, out, _ = _run(capsys, "--no-bounded-loops", RAW / "e105_cond_loop.bin")
    assert status == 1 and "back-edge from insn 2 to 1 [E105]" in out
    status, out, _ = _run(capsys, "--unprivileged", RAW / "e105_cond_loop.bin")
    assert status == 1 and "back-edge from insn 2 to 1 [E105]" in out


def test_unprivileged_rejects_a_pointer_leak(capsys):
    leak = RAW.parent / "dataflow" / "e306_leak.s"  # r0 = r10; exit
    assert _run(capsys, leak)[0] == 0
    status, out, _ = _run(capsys, "--unprivileged", leak)
    assert status == 1 and "R0 leaks addr as return value [E306] (at insn 1)" in out


def test_log_prints_the_abstract_state_per_instruction(capsys):
    status, out, _ = _run(capsys, "--log", RAW.parent / "dataflow" / "e301_scalar.s")
    assert status == 1
    lines = out.splitlines()
    assert lines[1:5] == ["0: R1=ctx(off=0,imm=0) R10=fp0", "0: (b7) r1 = 64",
                          "1: R1=64 R10=fp0", "1: (61) r0 = *(u32 *)(r1 + 0)"]
    assert "R1 invalid mem access 'scalar'" in lines
    assert "processed 2 insns" in lines


def test_policy_finding_names_itself(capsys):
    """RFC 9669 masks shift amounts; the rejection is Linux's policy and says so."""
    status, out, _ = _run(capsys, RAW / "e016_policy.bin")
    assert status == 1
    assert "invalid shift 64 (Linux 6.1 verifier policy; RFC 9669 masks the shift amount)" in out
    assert _run(capsys, "--structural-only", RAW / "e016_policy.bin")[0] == 0


@pytest.mark.parametrize("argv", [
    ["--prog-type", "nonsense", str(RAW / "ok_return0.bin")],
    ["/nonexistent/prog.bin"],
    ["--section", "nope", str(RAW / "ok_return0.bin")],
])
def test_bad_input_exits_2_with_a_message(capsys, argv):
    status, _, err = _run(capsys, *argv)
    assert status == 2
    assert err.startswith("kernel-lsp bpf check: ")
    assert "Traceback" not in err


def test_bad_input_and_good_input_together_still_exit_2(capsys):
    status, _, _ = _run(capsys, RAW / "ok_return0.bin", "/nonexistent/prog.bin")
    assert status == 2


def test_truncated_and_empty_raw_are_findings_not_crashes(capsys):
    status, out, _ = _run(capsys, "--format", "json", RAW / "e001_truncated.bin",
                          RAW / "e000_empty.bin")
    doc = json.loads(out)
    assert status == 1
    assert [(f["code"], f["insn"]) for f in doc["findings"]] == [("E001", 2), ("E000", None)]


def test_bpf_without_subcommand_exits_2(capsys):
    assert main(["bpf"]) == 2


def test_isa_linux_6_1_rejects_v4_encodings(tmp_path, capsys):
    """0xd7 (bswap) is legal in v4 and ``unknown opcode d7`` for a Linux 6.1 loader."""
    from kernel_lsp.cli import main

    prog = tmp_path / "bswap.bin"
    # r0 = 1 ; r0 = bswap64 r0 ; exit
    prog.write_bytes(bytes([0xB7, 0, 0, 0, 1, 0, 0, 0, 0xD7, 0x00, 0, 0, 64, 0, 0, 0,
                            0x95, 0, 0, 0, 0, 0, 0, 0]))
    assert main(["bpf", "check", str(prog)]) == 0
    capsys.readouterr()
    assert main(["bpf", "check", "--isa", "linux-6.1", str(prog)]) == 1
    assert "unknown opcode d7" in capsys.readouterr().out
    sdiv = tmp_path / "sdiv.bin"
    # r0 = 1; r0 s/= 2 (off=1) ; exit
    sdiv.write_bytes(bytes([0xB7, 0, 0, 0, 1, 0, 0, 0, 0x37, 0, 1, 0, 2, 0, 0, 0,
                            0x95, 0, 0, 0, 0, 0, 0, 0]))
    assert main(["bpf", "check", str(sdiv)]) == 0
    capsys.readouterr()
    assert main(["bpf", "check", "--isa", "linux-6.1", str(sdiv)]) == 1
    assert "uses reserved fields" in capsys.readouterr().out


def test_license_decides_the_gpl_only_helpers(capsys, tmp_path):
    """An ELF object's license section, else GPL, else --license: a GPL-only helper
    (bpf_trace_printk) needs a GPL-compatible one, as Linux's check_helper_call says."""
    elf = RAW.parent / "elf" / "license.o"  # license "Proprietary"
    status, out, _ = _run(capsys, "--section", "gpl_only_helper", elf)
    assert status == 1 and "cannot call GPL-restricted function from non-GPL compatible " \
        "program [E309]" in out
    assert _run(capsys, "--license", "Dual BSD/GPL", "--section", "gpl_only_helper", elf)[0] == 0
    asm = tmp_path / "printk.s"  # a program with no license of its own: loaded as GPL
    asm.write_text("r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\n"
                   "call 6\nr0 = 0\nexit\n")
    assert _run(capsys, "--prog-type", "kprobe", asm)[0] == 0
    status, out, _ = _run(capsys, "--prog-type", "kprobe", "--license", "MIT", asm)
    assert status == 1 and "[E309]" in out


def test_a_file_name_with_a_newline_stays_on_one_line(capsys, tmp_path):
    """A program file whose name holds a newline: each finding's line was cut in two there
    (``check`` quotes such names), and so was the message of one that cannot be read."""
    odd = tmp_path / "new\nline.bin"
    odd.write_bytes((RAW / "e001_truncated.bin").read_bytes())
    status, out, _ = _run(capsys, odd)
    assert status == 1
    lines = out.splitlines()
    assert lines and all(line.startswith(f'"{tmp_path}/new\\nline.bin":') for line in lines)
    missing = tmp_path / "gone\nprog.bin"
    for command in ("check", "dis", "run"):
        assert main(["bpf", command, str(missing)]) == 2
        err = capsys.readouterr().err
        assert err.splitlines()[0] == (f"kernel-lsp bpf {command}: cannot read {tmp_path}/"
                                       "gone\\nprog.bin: No such file or directory")
