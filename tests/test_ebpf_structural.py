"""Fixture corpus of the verifier (all tiers): each fixture's expected (code, insn) set, exactly.

Fixtures live under ``fixtures/ebpf/``. A ``.bin`` or ``.o`` has a sibling ``NAME.expect``; a
``.s`` carries its expectations in leading ``;`` comment lines. Lines: ``expect: accept``,
``expect: CODE at N`` (``N`` may be ``-``), ``expect[NAME]: ...`` for one program of an ELF
object (its function name, or its section when no other program shares it), and options
``prog_type: T``, ``bounded_loops: false``, ``max_insns: N``,
``unprivileged: true``, ``dataflow: false`` (structural tiers only), ``isa: linux-6.1``,
``attach_type: A``, ``max_processed: N`` (the path walk's budget), ``func_info: true`` (the
loader passes BTF func_info, which ``lddw rX, func[...]`` needs) and
``map: SLOT KIND KEY VALUE MAX [FLAGS] [spin_lock=OFF] [timer=OFF] [frozen=1]`` (a map bound to
a lddw slot; ``spin_lock``/``timer`` say where the value's BTF would place a ``bpf_spin_lock`` or
``bpf_timer``, ``frozen=1`` that the loader froze it, as libbpf does ``.rodata``).
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from kernel_lsp.ebpf.findings import BPF_CODES
from kernel_lsp.ebpf.load import load_file, verifiable
from kernel_lsp.ebpf.run.maps import MapSpec
from kernel_lsp.ebpf.verify import VerifyOptions, verify
from kernel_lsp.ebpf.verify.dataflow.maps import from_spec
from tests.conftest import REPO as ROOT

FIXTURES = ROOT / "fixtures" / "ebpf"
DOCS = ROOT / "docs" / "ebpf-codes.md"
_LINE = re.compile(r"^(?:;|#|//)?\s*(expect(?:\[(?P<sec>[^\]]+)\])?|prog_type|bounded_loops|"
                   r"max_insns|unprivileged|dataflow|isa|attach_type|map|max_processed|func_info)\s*:\s*(?P<val>.+?)\s*$")


_VERDICT = re.compile(r"^(accept|E\d{3} at (\d+|-))$")


def _expect_source(path: Path) -> str | None:
    """The expectation text of a structural fixture (other ``expect:`` lines, e.g. the
    interpreter's ``expect: r0 = 1``, do not make a file a structural fixture)."""
    if path.suffix == ".s":
        text = path.read_text()
    else:
        sibling = path.with_suffix(".expect")
        text = sibling.read_text() if sibling.exists() else ""
    return text if parse_expectations(text)[1] else None


def parse_expectations(text: str) -> tuple[dict, dict[str | None, set]]:
    options: dict = {}
    expects: dict[str | None, set] = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        key, value = m.group(1).split("[")[0], m.group("val")
        if key == "map":
            options.setdefault("map", []).append(value)
            continue
        if key != "expect":
            options[key] = {"true": True, "false": False}.get(value, value)
            continue
        if not _VERDICT.match(value):
            continue
        bucket = expects.setdefault(m.group("sec"), set())
        if value != "accept":
            code, _, insn = value.partition(" at ")
            bucket.add((code.strip(), None if insn.strip() == "-" else int(insn)))
    return options, expects


def _fixture_paths() -> list[Path]:
    paths = [p for p in sorted(FIXTURES.rglob("*")) if p.suffix in (".bin", ".o", ".s")]
    return [p for p in paths if _expect_source(p) is not None]


def _options(opts: dict, program) -> VerifyOptions:
    max_insns = opts.get("max_insns")
    return VerifyOptions(prog_type=opts.get("prog_type", program.prog_type or "socket_filter"),
                         bounded_loops=bool(opts.get("bounded_loops", True)),
                         max_insns=None if max_insns is None else int(max_insns),
                         unprivileged=bool(opts.get("unprivileged", False)),
                         dataflow=bool(opts.get("dataflow", True)),
                         isa_version=3 if opts.get("isa") == "linux-6.1" else 4,
                         # as `bpf check` does: an ELF program's from its section name
                         expected_attach_type=opts.get("attach_type")
                         or (program.meta or {}).get("attach_type"),
                         max_processed=int(opts.get("max_processed", 1_000_000)),
                         func_info=bool(opts.get("func_info", False)),
                         maps=_map_infos(opts))


def _map_lines(opts: dict):
    for line in opts.get("map", []):
        slot, kind, key, value, max_entries, *rest = line.split()
        attrs = dict(r.split("=") for r in rest if "=" in r)
        flags = [r for r in rest if "=" not in r]
        yield (int(slot), MapSpec(f"m{slot}", kind, int(key), int(value), int(max_entries),
                                  int(flags[0], 0) if flags else 0), attrs)


def _bind_maps(opts: dict, program) -> None:
    """``map:`` lines become the program's slot maps (seen by the verifier and interpreter)."""
    slot_maps = {slot: spec for slot, spec, _ in _map_lines(opts)}
    if slot_maps:
        program.meta["slot_maps"] = slot_maps


def _map_infos(opts: dict):
    """Maps with BTF-described fields need the verifier's own MapInfo (None: from the program)."""
    lines = list(_map_lines(opts))
    if not any(attrs for _, _, attrs in lines):
        return None
    return {slot: replace(from_spec(spec), spin_lock_off=int(attrs.get("spin_lock", -1)),
                          timer_off=int(attrs.get("timer", -1)),
                          frozen=attrs.get("frozen") == "1")
            for slot, spec, attrs in lines}


def actual_findings(path: Path) -> dict[str | None, set]:
    opts, _ = parse_expectations(_expect_source(path))
    loaded = load_file(str(path))
    assert loaded.error is None, loaded.error
    result = {}
    per_section = Counter(p.section for p, _ in loaded.programs)
    for program, front in loaded.programs:
        _bind_maps(opts, program)
        found = front + (verify(program, _options(opts, program)) if verifiable(front) else [])
        keys = [None] if len(loaded.programs) == 1 else []
        if loaded.form == "elf":  # an ELF program by its name, or its section if it is alone
            keys += [program.name] + ([program.section] if per_section[program.section] == 1
                                      else [])
        for key in keys:
            result[key] = {(f.code, f.insn) for f in found}
    return result


@pytest.mark.parametrize("path", _fixture_paths(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(path):
    _, expects = parse_expectations(_expect_source(path))
    assert expects, f"{path.name}: no expect line"
    actual = actual_findings(path)
    for section, expected in expects.items():
        assert section in actual, f"no program {section!r} in {path.name}: {sorted(actual, key=str)}"
        assert actual[section] == expected


def _covered_codes() -> set[str]:
    codes = set()
    for path in _fixture_paths():
        for bucket in parse_expectations(_expect_source(path))[1].values():
            codes |= {code for code, _ in bucket}
    return codes


def test_every_code_has_a_fixture():
    assert sorted(set(BPF_CODES) - _covered_codes()) == []


def test_every_code_has_a_docs_section_and_no_stale_ones():
    sections = re.findall(r"^## (E\d{3})\b", DOCS.read_text(), flags=re.M)
    assert sorted(sections) == sorted(BPF_CODES)


def test_docs_quote_the_kernel_message():
    text = DOCS.read_text()
    for code in BPF_CODES.values():
        if code.kernel:
            assert code.kernel in text, code.id


def test_raw_fixtures_match_their_source():
    spec = importlib.util.spec_from_file_location("make_raw", FIXTURES / "raw" / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    for name, (_, slots, _, _) in make.PROGRAMS.items():
        assert (FIXTURES / "raw" / f"{name}.bin").read_bytes() == make.encode(slots), name
        assert (FIXTURES / "raw" / f"{name}.expect").read_text() == make.expect_text(name), name
