"""Layer check (408_2): an invocation or access that crosses a domain boundary against a policy.

For every layer policy of the configuration (``design/policy.py``), a call or a use of a
file-scope variable in a file of the checked set is resolved to the definitions it can reach:
the file's own definition, else the non-static definitions elsewhere in this configuration and
the ``static inline`` ones of headers visible at the use. The use is a violation when the policy
forbids every one of them (``Policy.verdict``). A name with no C definition (an assembly
routine, a macro) is not judged here: 020_2 and the link decide about those.
"""

from __future__ import annotations

from kernel_lsp.checks.inputs import CheckInputs
from kernel_lsp.findings import Finding
from kernel_lsp.model.visibility import visible


def check_layers(ctx: CheckInputs) -> list[Finding]:
    out: list[Finding] = []
    for policy in ctx.policies:
        interfaced = any(d.interface is not None for d in policy.domains.values())
        fids = [f for f in ctx.file_ids
                if interfaced or policy.domain_of(ctx.path(f)) is not None]
        if not fids:
            continue
        out += _calls(ctx, policy, fids)
        out += _accesses(ctx, policy, fids)
    return out


_USER_SPACE = ("tools/", "samples/", "scripts/", "usr/", "Documentation/")


def _arch(path: str) -> str | None:
    return path.split("/", 2)[1] if path.startswith("arch/") and path.count("/") >= 2 else None


def compatible(from_path: str, to_path: str) -> bool:
    """Whether code of ``from_path`` can be linked with a definition in ``to_path``: never with
    user-space programs (tools/, samples/, ...), nor with another architecture's code."""
    if to_path.startswith(_USER_SPACE):
        return from_path.startswith(_USER_SPACE)
    mine, theirs = _arch(from_path), _arch(to_path)
    return mine is None or theirs is None or mine == theirs


def reachable_definitions(ctx: CheckInputs, entries: list, fid: int, pos: int) -> list:
    """The definitions among ``entries`` (function or variable symbols) that a use in ``fid``
    at byte ``pos`` reaches."""
    here = ctx.path(fid)
    defs = [e for e in ctx.symbols.native(entries, fid) if e.is_definition
            and getattr(e, "storage", None) != "extern"
            and compatible(here, ctx.path(e.file_id))]
    own = [e for e in defs if e.file_id == fid]
    if own:
        return own
    mask = None
    out = []
    for e in defs:
        if e.storage != "static":
            out.append(e)
        elif ctx.symbols.is_header(e.file_id):
            if mask is None:
                mask = ctx.visibility.before(fid, pos)
            if visible(mask, e.file_id):
                out.append(e)
    return out


def judge(ctx: CheckInputs, policy, fid: int, name: str, targets: list) -> tuple | None:
    """(source domain, target domain, reason, target path) when ``policy`` forbids every target
    of a use of ``name`` in ``fid``; None when one of them is allowed."""
    src = policy.domain_of(ctx.path(fid))
    first = None
    for t in targets:
        path = ctx.path(t.file_id)
        dst = policy.domain_of(path)
        reason = policy.verdict(src, dst, name)
        if reason is None:
            return None
        if first is None:
            first = (src, dst, reason, path)
    return first


def _macro_here(ctx: CheckInputs, name: str, fid: int, pos: int) -> bool:
    entries = ctx.symbols.macros.get(name)
    if not entries:
        return False
    mask = ctx.visibility.before(fid, pos)
    return any((f == fid and start < pos) or (f != fid and visible(mask, f))
               for f, _fl, start in entries)


def _calls(ctx: CheckInputs, policy, fids: list[int]) -> list[Finding]:
    out = []
    for fid, call in ctx.facts.calls_in(fids):
        if call.caller is None or fid in ctx.hosted:
            continue
        entries = ctx.symbols.functions.get(call.callee)
        if not entries or _macro_here(ctx, call.callee, fid, call.start_byte):
            continue
        targets = reachable_definitions(ctx, entries, fid, call.start_byte)
        got = judge(ctx, policy, fid, call.callee, targets) if targets else None
        if got is not None:
            out.append(_finding(ctx, policy, fid, call, call.callee, "call", got))
    return out


def _accesses(ctx: CheckInputs, policy, fids: list[int]) -> list[Finding]:
    syms, out = ctx.symbols, []
    for fid, use in ctx.facts.var_uses_in(fids):
        name = use.name
        entries = syms.variables.get(name)
        if not entries or fid in ctx.hosted or name in syms.functions or name in syms.macros \
                or name in syms.enumerators or name in syms.typedefs or name in syms.members:
            continue  # as 406_2 does: a member name is more often a field than a global
        targets = reachable_definitions(ctx, entries, fid, use.start_byte)
        got = judge(ctx, policy, fid, name, targets) if targets else None
        if got is not None:
            out.append(_finding(ctx, policy, fid, use, name, "access", got))
    return out


def _finding(ctx, policy, fid: int, row, name: str, what: str, got: tuple) -> Finding:
    src, dst, reason, target = got
    noun = "call" if what == "call" else "access"
    message = (f"layer violation ({noun} of '{name}', defined in {target}): {reason} "
               f"[policy {policy.name}]")
    return Finding("408_2", ctx.path(fid), row.line, row.col, row.line, row.end_col, name,
                   message, {"policy": policy.origin, "from": src, "to": dst,
                             "defined_in": target})
