"""ELF reader: programs per section, program types, relocations, maps, data, bad objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel_lsp.cli import main
from kernel_lsp.ebpf.load import LoadError
from kernel_lsp.ebpf.load.elf import load_elf, prog_type_for_section

ELF_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf" / "elf"


def _programs(name: str) -> dict:
    return {p.section: p for p, _ in load_elf((ELF_DIR / name).read_bytes(), name)}


def test_every_executable_section_is_a_program_with_its_type():
    progs = _programs("progs.o")
    assert {s: (p.name, p.prog_type) for s, p in progs.items()} == {
        "socket": ("sock_prog", "socket_filter"),
        "xdp": ("xdp_prog", "xdp"),
        "kprobe/do_sys_open": ("kprobe_prog", "kprobe"),
        "tracepoint/syscalls/sys_enter_open": ("tp_prog", "tracepoint"),
        "classifier": ("tc_prog", "sched_cls"),
    }


def test_relocations_are_classified():
    sock = _programs("progs.o")["socket"]
    assert sock.relocations == {4: ("legacy_counts", "map"), 11: ("threshold", "data"),
                                14: ("add_one", "call")}
    xdp = _programs("progs.o")["xdp"]
    assert xdp.relocations[4] == ("btf_hash", "map")
    assert xdp.relocations[18] == ("misses", "data")


def test_text_subprogram_is_appended_and_call_patched():
    sock = _programs("progs.o")["socket"]
    assert len(sock.insns) == 16 + 3
    call = sock.insns[14]
    assert 14 + call.imm + 1 == 16  # the appended add_one
    assert [i.opcode for i in sock.insns[16:]] == [0xBF, 0x07, 0x95]


def test_call_through_the_section_symbol_is_patched():
    xdp = _programs("loop.o")["xdp"]
    assert xdp.relocations == {4: ("twice", "call")}
    assert 4 + xdp.insns[4].imm + 1 == 6


def test_maps_and_data_in_meta():
    meta = _programs("progs.o")["socket"].meta
    assert meta["maps"]["legacy_counts"] == {"type": 2, "key_size": 4, "value_size": 8,
                                             "max_entries": 4, "flags": 0}
    assert meta["maps"]["btf_hash"] == {"btf": True}
    assert meta["globals"]["hits"] == {"section": ".data", "offset": 0, "size": 4}
    assert meta["data"][".rodata"] == (7).to_bytes(4, "little")
    assert meta["data"][".bss"] == bytes(8)


def test_uncalled_text_is_its_own_program():
    assert list(_programs("text_only.o")) == [".text"]


def test_not_bpf_machine_is_a_load_error():
    data = bytearray((ELF_DIR / "progs.o").read_bytes())
    data[18:20] = (62).to_bytes(2, "little")  # EM_X86_64
    with pytest.raises(LoadError, match="not an eBPF object"):
        load_elf(bytes(data), "x.o")


def test_truncated_elf_exits_2(tmp_path, capsys):
    bad = tmp_path / "cut.o"
    bad.write_bytes((ELF_DIR / "progs.o").read_bytes()[:100])
    assert main(["bpf", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "kernel-lsp bpf check:" in err and "Traceback" not in err


def test_section_filter_and_section_prog_type(capsys):
    assert main(["bpf", "check", "--section", "xdp", str(ELF_DIR / "loop.o")]) == 0
    status = main(["bpf", "check", "--section", "tracepoint/sched/sched_switch",
                   str(ELF_DIR / "loop.o")])
    assert status == 1
    assert "invalid bpf_context access off=0 size=8 [E304] (at insn 3)" in capsys.readouterr().out


@pytest.mark.parametrize(("section", "prog_type"), [
    ("socket", "socket_filter"), ("socket/1", "socket_filter"), ("xdp", "xdp"),
    ("xdp.frags", "xdp"), ("kprobe/sys_open", "kprobe"), ("kretprobe/x", "kprobe"),
    ("tracepoint/a/b", "tracepoint"), ("tp/a/b", "tracepoint"), ("raw_tp/x", "raw_tracepoint"),
    ("raw_tracepoint.w/x", "raw_tracepoint_writable"), ("classifier", "sched_cls"),
    ("tc", "sched_cls"), ("action", "sched_act"), ("cgroup/skb", "cgroup_skb"),
    ("cgroup/sock_create", "cgroup_sock"), ("cgroup/connect4", "cgroup_sock_addr"),
    ("fentry/f", "tracing"), ("lsm/file_open", "lsm"), ("license", None), ("xdpfoo", None),
])
def test_prog_type_from_section_name(section, prog_type):
    assert prog_type_for_section(section) == prog_type
