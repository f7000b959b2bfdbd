"""Demand files and layer policies: what they mean, and every schema error at its line."""

from __future__ import annotations

import pytest

from kernel_lsp.design.demand import parse_demand
from kernel_lsp.design.policy import glob_regex, parse_policy_yaml, policy_from_table

DEMAND = """\
id: open
name: The open system call
paths:
  - id: fops
    chain:
      - sys_open
      - do_dentry_open@fs/open.c
      - file_operations.open
  - chain:
      - filp_open
      - {function: alloc_empty_file, require: designed}
  - [a, b]
"""


def test_a_demand_is_paths_of_invocations():
    demand, problems = parse_demand(DEMAND, "open.demand.yaml")
    assert problems == []
    assert (demand.id, demand.name, [p.id for p in demand.paths]) == (
        "open", "The open system call", ["fops", "p2", "p3"])
    got = [(i.caller.label, i.callee.label, i.require, i.line + 1)
           for p in demand.paths for i in p.invocations]
    assert got == [("sys_open", "do_dentry_open@fs/open.c", "implemented", 7),
                   ("do_dentry_open@fs/open.c", "file_operations.open", "implemented", 8),
                   ("filp_open", "alloc_empty_file", "designed", 11),
                   ("a", "b", "implemented", 12)]
    member = demand.paths[0].invocations[1].callee
    assert (member.struct, member.name, member.file) == ("file_operations", "open", None)
    assert demand.invocation_count == 4


@pytest.mark.parametrize("text, line, message", [
    ("id: x\npaths:\n  - chain: [a]\n", 3,
     "path 1: 'chain' must list at least two functions (caller, callee)"),
    ("id: x\npaths:\n  - chain: [a, 'b c']\n", 3,
     "'b c' is not a function name (name, name@path/file.c or struct.member)"),
    ("id: x\nrequire: maybe\npaths:\n  - [a, b]\n", 2,
     "'require' must be one of: implemented, designed"),
    ("id: x\npaths:\n  - id: p\n    chain: [a, b]\n    colour: red\n", 5,
     "path 1: unknown key 'colour' (expected one of: id, name, description, require, chain)"),
    ("id: x\npaths: []\n", 2, "demand: 'paths' must be a non-empty list of paths"),
    ("id: x\n", 1, "demand: 'paths' is missing (a list of call chains)"),
    ("id: 'a b'\npaths:\n  - [a, b]\n", 1,
     "demand: 'id' must be letters, digits, '_', '.' or '-' (got 'a b')"),
    ("id: x\npaths:\n  - [a, s.m@f.c]\n", 3, "'s.m@f.c': a member function has no file"),
    ("id: x\npaths:\n  - id: p\n    chain: [a, b]\n  - id: p\n    chain: [c, d]\n", 5,
     "path id 'p' is used twice"),
    ("id: x\npaths:\n  - chain: [a, {file: f.c}]\n", 3, "chain item: 'function' is missing"),
    ("id: [x\n", 2, "YAML syntax error: expected ',' or ']', but got '<stream end>'"),
    ("", 1, "the file is empty"),
    ("- a\n- b\n", 1, "a demand file is a mapping with 'id', 'name' and 'paths'"),
])
def test_demand_schema_errors_are_at_their_line(text, line, message):
    _demand, problems = parse_demand(text, "x.demand.yaml")
    assert [(p.line + 1, p.message) for p in problems] == [(line, message)]


POLICY = """\
name: layers
domains:
  top:
    paths: [a/**]
    may_call: [mid]
    allow: [asm_routine]
  mid:
    paths: ["b/*.c", b/sub]
    interface: [api]
  low:
    paths: [c/**]
order: [top, mid, low]
strict: true
"""


def test_globs():
    import re

    def match(glob, path):
        return re.fullmatch(glob_regex(glob), path) is not None
    assert match("a/**", "a/b/c.c") and match("a/**", "a/c.c") and not match("a/**", "ab/c.c")
    assert match("**/*.h", "x.h") and match("**/*.h", "a/b/x.h") and not match("**/*.h", "x.c")
    assert match("b/*.c", "b/x.c") and not match("b/*.c", "b/s/x.c")
    assert match("b/sub", "b/sub/x.c") and match("b/sub", "b/sub")
    # a character class, as in the exclude globs of kernel-lsp.toml
    assert match("drivers/gpu/drm/i91[05]/*.c", "drivers/gpu/drm/i915/a.c")
    assert not match("drivers/gpu/drm/i91[05]/*.c", "drivers/gpu/drm/i913/a.c")
    assert match("fs/[!x]*.c", "fs/open.c") and not match("fs/[!x]*.c", "fs/xattr.c")


def test_a_glob_that_is_none_is_said_and_its_domain_left_out():
    policy, problems = parse_policy_yaml(
        "name: p\ndomains:\n  bad:\n    paths: ['[z-a]*.c']\n  good:\n    paths: [a/**]\n",
        "l.layers.yaml")
    assert [p.message for p in problems] == [
        "domain 'bad': '[z-a]*.c' is no glob (bad character range z-a at position 1)"]
    assert problems[0].line == 3
    assert policy.domain_of("a/x.c") == "good" and policy.domain_of("zz.c") is None


def test_policy_verdicts():
    policy, problems = parse_policy_yaml(POLICY, "l.layers.yaml")
    assert problems == []
    assert [policy.domain_of(p) for p in ("a/x.c", "b/y.c", "b/sub/z.c", "c/q/r.c", "d.c")] == [
        "top", "mid", "mid", "low", None]
    v = policy.verdict
    assert v("top", "mid", "api") is None
    assert v("top", "mid", "private") == "'private' is not in the interface of mid"
    assert v("top", "low", "f") == "top may not call low (top may call: mid)"
    assert v("top", None, "f") == "top may not call code outside every domain (top may call: mid)"
    assert v("top", None, "asm_routine") is None
    assert v("low", "top", "f") == "low is below top in the layer order"
    assert v("mid", "low", "f") is None
    assert v(None, "mid", "private") == "'private' is not in the interface of mid"
    assert v(None, "low", "f") is None and v("low", "low", "f") is None


def test_strict_order():
    policy, _ = parse_policy_yaml("domains:\n  a: {paths: [a]}\n  b: {paths: [b]}\n"
                                  "  c: {paths: [c]}\norder: [a, b, c]\nstrict: true\n", "s")
    assert policy.verdict("a", "c", "f") == "a may call only the layer right below it (b)"
    assert policy.verdict("a", "b", "f") is None


@pytest.mark.parametrize("text, line, message", [
    ("domains:\n  a: {paths: [a], may_call: [nobody]}\n", 2,
     "domain 'a': may_call names an unknown domain 'nobody'"),
    ("domains:\n  a: {}\n", 2, "domain 'a': 'paths' must list at least one glob"),
    ("domains:\n  a: {paths: [a]}\norder: [a, z]\n", 3, "order names an unknown domain 'z'"),
    ("domains:\n  a: {paths: [a], calls: [b]}\n", 2,
     "domain 'a': unknown key 'calls' (expected one of: paths, may_call, interface, allow, "
     "description)"),
    ("name: x\n", 1, "policy: 'domains' must be a mapping of domain names to their paths"),
    ("domains:\n  a: {paths: [a]}\nstrict: sometimes\n", 3, "'strict' must be true or false"),
])
def test_policy_schema_errors_are_at_their_line(text, line, message):
    _policy, problems = parse_policy_yaml(text, "p.layers.yaml")
    assert [(p.line + 1, p.message) for p in problems] == [(line, message)]


def test_a_toml_table_is_the_same_schema():
    policy, messages = policy_from_table(
        {"domains": {"a": {"paths": ["a/**"], "mayCall": ["b"]}, "b": {"paths": ["b/**"]}},
         "order": ["a", "b"]}, "kernel-lsp.toml [layers]")
    assert messages == []
    assert policy.verdict("b", "a", "f") == "b is below a in the layer order"
    assert policy.domains["a"].may_call == ["b"]
    _policy, messages = policy_from_table({"domains": {"a": {"paths": [1]}}}, "t [layers]")
    assert messages == ["t [layers]: layers: domain 'a': paths: every item must be a non-empty "
                        "string", "t [layers]: layers: domain 'a': 'paths' must list at least "
                        "one glob"]


def test_aliases_neither_recurse_nor_multiply():
    _d, problems = parse_demand("id: x\npaths: &a\n  - *a\n", "x")
    assert [(p.line + 1, p.message) for p in problems] == [
        (2, "path 1: 'chain' must list at least two functions (caller, callee)")]
    laughs = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 12))
    _d, problems = parse_demand("l0: &l0 [x]\n" + laughs + "id: y\npaths: [[a, b]]\n", "x")
    assert len(problems) == 12 and all("unknown key" in p.message for p in problems)
