"""Layer policies: named domains of the tree and which domains may invoke or access which.

A policy (a ``*.layers.yaml`` file, or ``[layers]`` in ``kernel-lsp.toml``) has domains, each
a set of path globs (``arch/arm64/kvm/hyp/nvhe/**``) with optionally ``may_call`` (the domains
its code may invoke or access; absent: unrestricted), ``interface`` (the only functions and
variables of the domain that code of other domains may reach) and ``allow`` (names its code may
reach wherever they are defined: symbols the link resolves, like assembly routines). ``order``
lists domains from the top layer down: a lower layer may not call a higher one, and with
``strict`` a layer may call only the layer right below it. A file belongs to the first domain
whose globs match it. Schema and semantics: docs/design.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel_lsp.design.yamlsrc import Node, Problem, load, string_list, unknown_keys
from kernel_lsp.globs import glob_problem, glob_to_regex

ANY = "*"  # in may_call: every domain and the code outside every domain
_POLICY_KEYS = ("name", "description", "domains", "order", "strict")
_DOMAIN_KEYS = ("paths", "may_call", "interface", "allow", "description")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def glob_regex(pattern: str) -> str:
    """Regex source for a root-relative path glob (``globs.glob_to_regex``: ``**`` any
    directories, ``*``, ``?`` and ``[...]`` within one path component); a pattern without a
    wildcard also matches what is below it."""
    pattern = pattern.strip().strip("/")
    body = glob_to_regex(pattern)
    return body if any(ch in pattern for ch in "*?[") else f"{body}(?:/.*)?"


@dataclass(slots=True)
class Domain:
    name: str
    paths: list[str]
    may_call: list[str] | None = None  # None: unrestricted
    interface: set[str] | None = None  # None: every function may be reached from outside
    allow: set[str] = field(default_factory=set)
    line: int = 0
    col: int = 0
    regex: re.Pattern | None = None
    lines: dict[str, int] = field(default_factory=dict)  # glob -> line (diagnostics)


@dataclass(slots=True)
class Policy:
    """One layer policy: its domains in file order, the layer order, where it came from."""

    name: str
    origin: str  # a root-relative file name, or "kernel-lsp.toml [layers]"
    domains: dict[str, Domain] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    strict: bool = False
    _cache: dict[str, str | None] = field(default_factory=dict)

    def domain_of(self, path: str) -> str | None:
        """The name of the first domain whose globs match ``path`` (None: outside them all)."""
        got = self._cache.get(path, 0)
        if got == 0:
            got = next((d.name for d in self.domains.values() if d.regex.match(path)), None)
            self._cache[path] = got
        return got

    def verdict(self, src: str | None, dst: str | None, name: str) -> str | None:
        """Why code of domain ``src`` may not reach ``name`` defined in domain ``dst`` (None:
        it may)."""
        if src == dst:
            return None
        target = self.domains.get(dst) if dst else None
        if target is not None and target.interface is not None and name not in target.interface:
            return f"'{name}' is not in the interface of {dst}"
        if src is None:
            return None
        source = self.domains[src]
        if name in source.allow:
            return None
        where = dst or "code outside every domain"
        if source.may_call is not None and ANY not in source.may_call and (
                dst is None or dst not in source.may_call):
            allowed = ", ".join(source.may_call) or "nothing outside itself"
            return f"{src} may not call {where} ({src} may call: {allowed})"
        if src in self.order and dst in self.order:
            up, down = self.order.index(src), self.order.index(dst)
            if down < up:
                return f"{src} is below {dst} in the layer order"
            if self.strict and down > up + 1:
                return f"{src} may call only the layer right below it ({self.order[up + 1]})"
        return None


def parse_policy_yaml(text: str, origin: str) -> tuple[Policy | None, list[Problem]]:
    """The policy of a ``*.layers.yaml`` file and every schema problem (None when unusable)."""
    root, problems = load(text)
    if root is None:
        return None, problems
    if root.kind != "map":
        return None, [root.problem("a layer policy is a mapping with 'domains'")]
    return _build(root, origin, problems), problems


def _build(root: Node, origin: str, problems: list[Problem]) -> Policy | None:
    problems += unknown_keys(root, _POLICY_KEYS, "policy")
    name = root.get("name")
    policy = Policy(name.text if name is not None and name.text else origin, origin)
    domains = root.get("domains")
    if domains is None or domains.kind != "map" or not domains.items:
        problems.append((domains or root).problem("policy: 'domains' must be a mapping of "
                                                  "domain names to their paths"))
        return None
    for key, node in domains.items:
        dom = _domain(key, node, problems)
        if dom is not None:
            policy.domains[dom.name] = dom
    for dom_key, node in domains.items:
        dom = policy.domains.get(dom_key.value)
        if dom is None or dom.may_call is None:
            continue
        for item in string_list(node.get("may_call"), "may_call", []):
            if item.text != ANY and item.text not in policy.domains:
                problems.append(item.problem(f"domain '{dom.name}': may_call names an unknown "
                                             f"domain '{item.text}'"))
    for item in string_list(root.get("order"), "order", problems):
        if item.text not in policy.domains:
            problems.append(item.problem(f"order names an unknown domain '{item.text}'"))
        else:
            policy.order.append(item.text)
    strict = root.get("strict")
    if strict is not None:
        if strict.text not in ("true", "false"):
            problems.append(strict.problem("'strict' must be true or false"))
        policy.strict = strict.text == "true"
    return policy


def _domain(key: Node, node: Node, problems: list[Problem]) -> Domain | None:
    name = key.text or ""
    if not _NAME.match(name) or name == ANY:
        problems.append(key.problem(f"domain name {name!r} must be letters, digits, '_', '.' "
                                    "or '-'"))
        return None
    if node.kind != "map":
        problems.append(node.problem(f"domain '{name}' must be a mapping with 'paths'"))
        return None
    problems.extend(unknown_keys(node, _DOMAIN_KEYS, f"domain '{name}'"))
    globs = string_list(node.get("paths"), f"domain '{name}': paths", problems)
    if not globs:
        problems.append(node.problem(f"domain '{name}': 'paths' must list at least one glob"))
        return None
    bad = [(g, why) for g in globs if (why := glob_problem(g.text.strip().strip("/")))]
    for g, why in bad:  # a glob that is none (``[z-a]*.c``): said, and the domain left out
        problems.append(g.problem(f"domain '{name}': '{g.text}' is no glob ({why})"))
    if bad:
        return None
    dom = Domain(name, [g.text for g in globs], line=key.line, col=key.col)
    dom.lines = {g.text: g.line for g in globs}
    dom.regex = re.compile("|".join(f"(?:{glob_regex(g)})" for g in dom.paths) + r"\Z")
    if node.get("may_call") is not None:
        dom.may_call = [i.text for i in string_list(node.get("may_call"),
                                                    f"domain '{name}': may_call", problems)]
    if node.get("interface") is not None:
        dom.interface = {i.text for i in string_list(node.get("interface"),
                                                     f"domain '{name}': interface", problems)}
    dom.allow = {i.text for i in string_list(node.get("allow"), f"domain '{name}': allow",
                                             problems)}
    return dom


def policy_from_table(table: Mapping, origin: str) -> tuple[Policy | None, list[str]]:
    """The policy of a ``[layers]`` settings table (TOML or an editor's settings); problems as
    messages naming ``origin`` (a TOML table has no line numbers)."""
    root = _node_of(_snake_keys(table))
    problems: list[Problem] = []
    policy = _build(root, origin, problems) if root.kind == "map" else None
    if root.kind != "map":
        problems.append(root.problem("must be a table"))
    return policy, [f"{origin}: layers: {p.message}" for p in problems]


def _snake_keys(value):
    """Editor settings spell keys in camelCase (``mayCall``): the schema's names are snake."""
    if isinstance(value, Mapping):
        return {re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(k)).lower()
                if str(k) in ("mayCall",) else str(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def _node_of(value) -> Node:
    """A TOML value as a position-less ``Node`` (line 0), so one validator serves both."""
    if isinstance(value, Mapping):
        out = Node("map", 0, 0, 0)
        out.items = [(Node("scalar", 0, 0, 0, str(k)), _node_of(v)) for k, v in value.items()]
        return out
    if isinstance(value, list):
        return Node("seq", 0, 0, 0, [_node_of(v) for v in value])
    if isinstance(value, bool):
        return Node("scalar", 0, 0, 0, "true" if value else "false")
    return Node("scalar", 0, 0, 0, value if isinstance(value, str) else None)


def load_policy_file(path, rel: str) -> tuple[Policy | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(0, 0, f"cannot read the policy file: {exc}")]
    return parse_policy_yaml(text, rel)
