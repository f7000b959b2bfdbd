"""ELF loader: programs per function, types from section names, linking, maps, externs, headers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_lsp.cli import main
from kernel_lsp.ebpf.load import LoadError, load_file
from kernel_lsp.ebpf.load.elf import load_elf
from kernel_lsp.ebpf.load.sections import prog_type_for_section, section_def
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.run.maps import MapSpec, program_maps
from kernel_lsp.ebpf.verify import VerifyOptions, verify

ELF_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "ebpf" / "elf"
RDONLY_MMAP, MMAP = 0x480, 0x400


def _programs(name: str) -> dict:
    return {p.name: p for p, _ in load_elf((ELF_DIR / name).read_bytes(), name)}


def _findings(name: str) -> dict:
    return {p.name: [(f.code, f.insn) for f in found]
            for p, found in load_elf((ELF_DIR / name).read_bytes(), name)}


def _sizes(spec: MapSpec) -> tuple:
    return spec.kind, spec.key_size, spec.value_size, spec.max_entries, spec.flags


def test_every_function_of_a_section_is_a_program_with_its_subprograms():
    progs = _programs("multi_func.o")
    assert {n: (p.section, p.prog_type, p.meta["subprogs"]) for n, p in progs.items()} == {
        "xdp_a": ("xdp", "xdp", ["scale"]),
        "xdp_b": ("xdp", "xdp", ["offset", "scale"]),
        "xdp_c": ("xdp", "xdp", []),
        "xdp_loop": ("xdp", "xdp", ["step"]),
        "tc_a": ("tc", "sched_cls", ["offset", "scale", "twice"]),
        "tc_b": ("tc", "sched_cls", ["twice"]),
    }


def test_subprograms_are_appended_depth_first_and_calls_patched():
    tc_a = _programs("multi_func.o")["tc_a"]
    # tc_a (5 slots), then offset (3) which calls scale (3) without relocation, then twice (3)
    assert len(tc_a.insns) == 14
    targets = {slot: slot + tc_a.insns[slot].imm + 1 for slot in (1, 3, 5)}
    assert targets == {1: 5, 3: 11, 5: 8}
    assert tc_a.relocations == {1: ("offset", "call"), 3: ("twice", "call"),
                                5: ("scale", "call")}


def test_callback_address_is_a_pseudo_func_load_of_the_appended_subprogram():
    prog = _programs("multi_func.o")["xdp_loop"]
    lddw = prog.insns[1]
    assert (lddw.opcode, lddw.src, 1 + lddw.imm + 1) == (0x18, 4, 8)  # step appended at 8
    assert prog.relocations == {1: ("step", "func")}


def test_program_types_attach_types_and_flags_from_section_names():
    progs = _programs("sections.o")
    got = {n: (p.prog_type, p.meta["attach_type"], p.meta["sleepable"], p.meta["section_match"])
           for n, p in progs.items()}
    assert got["p_fentry_sleepable"] == ("tracing", "trace_fentry", True, "libbpf")
    assert got["p_lsm"] == ("lsm", "lsm_mac", False, "libbpf")
    assert got["p_cgroup_skb_ingress"] == ("cgroup_skb", "cgroup_inet_ingress", False, "libbpf")
    assert got["p_cgroup_connect4"] == ("cgroup_sock_addr", "cgroup_inet4_connect", False,
                                        "libbpf")
    assert got["p_sk_skb_verdict"] == ("sk_skb", "sk_skb_stream_verdict", False, "libbpf")
    assert got["p_syscall"] == ("syscall", None, True, "libbpf")
    assert got["p_struct_ops"] == ("struct_ops", None, False, "libbpf")
    assert got["p_legacy_xdp"] == ("xdp", "xdp", False, "legacy")
    assert got["p_unknown"] == (None, None, False, None)
    assert progs["p_xdp_frags"].meta["xdp_frags"] is True
    assert progs["p_xdp_noautoload"].meta["autoload"] is False
    assert len(progs) == 51


def test_section_name_findings():
    found = _findings("sections.o")
    assert {n for n, f in found.items() if f == [("E006", None)]} == {
        "p_legacy_xdp", "p_legacy_socket", "p_legacy_kprobe"}
    assert {n for n, f in found.items() if f == [("E007", None)]} == {
        "p_unknown", "p_unknown_no_boundary"}


def test_btf_maps_have_their_sizes():
    progs = _programs("btf_maps.o")
    specs = {s.name: _sizes(s) for s in progs["report"].meta["maps"].values()
             if not s.name.startswith(".")}
    assert specs == {
        "flows": ("hash", 16, 40, 1024, 0),
        "percpu_counts": ("percpu_array", 4, 24, 4, 0),
        "events": ("perf_event_array", 4, 4, 0, 0),
        "ring": ("ringbuf", 0, 0, 4096, 0),
        "lru": ("lru_hash", 8, 4, 64, 2),
    }
    maps = program_maps(progs["count_flow"])
    assert {slot: spec.name for slot, spec in maps.items()} == {11: "flows", 18: "percpu_counts"}
    assert {slot: spec.name for slot, spec in program_maps(progs["report"]).items()} == {
        7: "lru", 14: "events", 21: "ring"}


def test_map_loads_are_rewritten_like_libbpf():
    count_flow = _programs("btf_maps.o")["count_flow"]
    first, second = count_flow.insns[18], count_flow.insns[19]
    assert (first.opcode, first.src, first.imm, second.imm) == (0x18, 1, 1, 0)  # map_fd #1


def test_legacy_maps_have_their_sizes():
    prog = _programs("legacy_maps.o")["count_proto"]
    assert {slot: _sizes(spec) for slot, spec in program_maps(prog).items()} == {
        5: ("percpu_array", 4, 8, 256, 0),
        15: ("hash", 8, 16, 1000, 1),
        20: ("prog_array", 4, 4, 8, 0),
    }


def test_global_data_sections_are_one_element_array_maps():
    sock = _programs("progs.o")["sock_prog"]
    data = {n: _sizes(s) for n, s in sock.meta["maps"].items() if n.startswith(".")}
    assert data == {".rodata": ("array", 4, 4, 1, RDONLY_MMAP),
                    ".data": ("array", 4, 4, 1, MMAP),
                    ".bss": ("array", 4, 8, 1, MMAP),
                    ".rodata.str1.1": ("array", 4, 6, 1, RDONLY_MMAP)}
    assert sock.meta["maps"][".rodata"].init == (7).to_bytes(4, "little")
    lddw, second = sock.insns[11], sock.insns[12]
    assert (lddw.src, second.imm) == (2, 0)  # BPF_PSEUDO_MAP_VALUE at offset 0 of .rodata
    assert program_maps(sock)[11].name == ".rodata"
    assert run(sock).r0 == 8  # add_one(threshold): the interpreter reads .rodata's value


def test_relocations_are_classified():
    progs = _programs("progs.o")
    assert progs["sock_prog"].relocations == {4: ("legacy_counts", "map"),
                                              11: ("threshold", "data"),
                                              14: ("add_one", "call")}
    assert progs["xdp_prog"].relocations[4] == ("btf_hash", "map")
    assert progs["xdp_prog"].relocations[18] == ("misses", "data")
    assert progs["sock_prog"].meta["globals"]["hits"] == {"section": ".data", "offset": 0,
                                                          "size": 4}


def test_call_through_the_section_symbol_is_patched():
    xdp = _programs("loop.o")["xdp_twice"]
    assert xdp.relocations == {4: ("twice", "call")}
    assert 4 + xdp.insns[4].imm + 1 == 6


def test_undefined_symbols_are_one_finding_each():
    progs = _programs("externs.o")
    found = {p.name: [(f.code, f.insn, f.message) for f in fs]
             for p, fs in load_elf((ELF_DIR / "externs.o").read_bytes(), "externs.o")}
    assert [(c, i) for c, i, _ in found["clear_buf"]] == [("E005", 7), ("E005", 13)]
    assert found["clear_buf"][0][2].startswith("failed to find BTF for extern 'memset': call")
    assert found["use_kfunc"][0][2].startswith("extern (func ksym) 'bpf_rcu_read_lock'")
    assert found["read_ksym"][0][2].startswith("extern (var ksym) 'bpf_prog_active'")
    assert found["kernel_version"] == []  # a .kconfig value: a load from libbpf's .kconfig map
    assert progs["clear_buf"].relocations == {7: ("memset", "extern"), 13: ("memcpy", "extern")}


def test_kconfig_externs_are_an_unknown_read_only_map():
    prog = _programs("kconfig.o")["branch_on_config"]
    specs = {prog.relocations[s][0]: m for s, m in prog.meta["slot_maps"].items()}
    assert set(specs) == {"CONFIG_BPF_SYSCALL", "LINUX_KERNEL_VERSION"}
    m = specs["CONFIG_BPF_SYSCALL"]
    assert (m.name, m.value_size, m.max_entries, m.frozen) == (".kconfig", 9, 1, True)
    assert m.flags & 0x80 and m.unknown_ranges == ((0, 9),)  # BPF_F_RDONLY_PROG, all unknown
    # libbpf's layout: alignment descending, size ascending, name; each at its alignment
    lddw = {prog.relocations[s][0]: i.imm64 >> 32 for s, i in enumerate(prog.insns)
            if s in prog.relocations}
    assert lddw == {"LINUX_KERNEL_VERSION": 4, "CONFIG_BPF_SYSCALL": 8}


def test_extern_calls_are_not_verified_further(capsys):
    status = main(["bpf", "check", "--section", "clear_buf", str(ELF_DIR / "externs.o")])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert [line.split("[")[1].split("]")[0] for line in out] == ["E005", "E005"]


def test_map_without_btf_is_reported_where_loaded():
    assert _findings("maps_nobtf.o") == {"read_config": [("E008", 4)]}
    assert program_maps(_programs("maps_nobtf.o")["read_config"]) == {}


def test_em_none_loads_with_a_warning(capsys):
    assert _findings("em_none.o") == {"old_llvm_xdp": [("E004", None)],
                                      "old_llvm_socket": [("E004", None)]}
    assert main(["bpf", "check", str(ELF_DIR / "em_none.o")]) == 0
    assert "warning: ELF machine is EM_NONE" in capsys.readouterr().out


def test_object_without_sections_checks_its_global_text_functions():
    assert _findings("text_only.o") == {"prog": [("E007", None)]}


def test_not_bpf_machine_is_a_load_error():
    data = bytearray((ELF_DIR / "progs.o").read_bytes())
    data[18:20] = (62).to_bytes(2, "little")  # EM_X86_64
    with pytest.raises(LoadError, match="not an eBPF object"):
        load_elf(bytes(data), "x.o")


def test_big_endian_object_is_a_load_error():
    data = bytearray((ELF_DIR / "progs.o").read_bytes())
    data[5] = 2  # EI_DATA = ELFDATA2MSB
    with pytest.raises(LoadError):
        load_elf(bytes(data), "x.o")


def test_truncated_elf_exits_2(tmp_path, capsys):
    bad = tmp_path / "cut.o"
    bad.write_bytes((ELF_DIR / "progs.o").read_bytes()[:100])
    assert main(["bpf", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "kernel-lsp bpf check:" in err and "Traceback" not in err


def test_corrupt_btf_is_ignored_not_fatal(tmp_path):
    data = bytearray((ELF_DIR / "btf_maps.o").read_bytes())
    start = data.find(b"\x9f\xeb\x01\x00")  # BTF header magic + version
    data[start + 8: start + 12] = (0xFFFFFF).to_bytes(4, "little")  # type_off far out
    path = tmp_path / "badbtf.o"
    path.write_bytes(bytes(data))
    loaded = load_file(str(path))
    assert loaded.error is None
    assert {f.code for _, fs in loaded.programs for f in fs} == {"E008"}


def test_section_filter_and_section_prog_type(capsys):
    assert main(["bpf", "check", "--section", "xdp", str(ELF_DIR / "loop.o")]) == 0
    status = main(["bpf", "check", "--section", "tracepoint/sched/sched_switch",
                   str(ELF_DIR / "loop.o")])
    assert status == 1
    assert "invalid bpf_context access off=0 size=8 [E304] (at insn 3)" in capsys.readouterr().out


def test_prog_type_reaches_the_checker_unless_overridden(capsys):
    args = ["bpf", "check", "--section", "p_xdp_helper", str(ELF_DIR / "sections.o")]
    assert main(args) == 0  # bpf_xdp_adjust_head is an XDP helper, and the section says xdp
    assert main([*args, "--prog-type", "socket_filter"]) == 1
    assert "unknown func bpf_xdp_adjust_head#44 [E109]" in capsys.readouterr().out


def test_tail_call_from_a_subprogram_needs_the_jit():
    loaded = load_file(str(ELF_DIR / "tailcall_sub.o"))
    program = next(p for p, _ in loaded.programs if p.name == "small_frame")
    jitted = VerifyOptions(prog_type="sched_cls")
    assert verify(program, jitted) == []
    found = verify(program, replace(jitted, jit=False))
    assert [f.code for f in found] == ["E309"]
    assert "non-JITed programs with bpf-to-bpf calls" in found[0].message


@pytest.mark.parametrize(("section", "prog_type", "how"), [
    ("socket", "socket_filter", "libbpf"), ("socket/1", "socket_filter", "legacy"),
    ("socket1", "socket_filter", "legacy"), ("xdp", "xdp", "libbpf"),
    ("xdp.frags", "xdp", "libbpf"), ("xdp/cpumap", "xdp", "libbpf"),
    ("xdp_fwd", "xdp", "legacy"), ("kprobe/sys_open", "kprobe", "libbpf"),
    ("kprobe", "kprobe", "libbpf"), ("kretprobe/x", "kprobe", "libbpf"),
    ("kprobe.multi/x", "kprobe", "libbpf"), ("tracepoint/a/b", "tracepoint", "libbpf"),
    ("tp/a/b", "tracepoint", "libbpf"), ("raw_tp/x", "raw_tracepoint", "libbpf"),
    ("raw_tracepoint.w/x", "raw_tracepoint_writable", "libbpf"),
    ("tp_btf/x", "tracing", "libbpf"), ("classifier", "sched_cls", "libbpf"),
    ("tc", "sched_cls", "libbpf"), ("tc_mark", "sched_cls", "legacy"),
    ("action", "sched_act", "libbpf"), ("cgroup/skb", "cgroup_skb", "libbpf"),
    ("cgroup/sock_create", "cgroup_sock", "libbpf"), ("cgroup/sock1", "cgroup_sock", "legacy"),
    ("cgroup/connect4", "cgroup_sock_addr", "libbpf"), ("fentry/f", "tracing", "libbpf"),
    ("lsm/file_open", "lsm", "libbpf"), ("lsm_cgroup/x", "lsm", "libbpf"),
    ("?xdp", "xdp", "libbpf"), ("struct_ops/x", "struct_ops", "libbpf"),
    ("license", None, None), ("xdpfoo", None, None), ("tcp_x", None, None),
    (".text", None, None), ("cgroup/connect5", None, None),
])
def test_prog_type_from_section_name(section, prog_type, how):
    assert prog_type_for_section(section) == prog_type
    found = section_def(section)
    assert (found.how if found else None) == how


FIXTURE_OBJECTS = sorted(p.name for p in ELF_DIR.glob("*.o"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FIXTURE_OBJECTS),
       edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8))
def test_corrupt_objects_give_a_message_not_an_internal_error(name, edits):
    data = bytearray((ELF_DIR / name).read_bytes())
    for pos, value in edits:
        data[pos % len(data)] = value
    try:
        programs = load_elf(bytes(data), name)
    except LoadError as exc:
        assert str(exc)
        return
    for program, found in programs:
        assert program.name and all(f.code.startswith("E0") for f in found)
