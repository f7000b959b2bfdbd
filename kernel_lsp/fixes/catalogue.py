"""The fix catalogue: which plans each finding code gets, in the order a kernel developer wants.

- 404_2: include the declaring header (up to 3); Declare the prototype; declare it in the
  header of the defining file (when no header declares it).
- 020_2: Did you mean (a close visible name); a type: include the defining header, else Define
  stub and (struct/union) a forward declaration; a function: Declare the prototype derived from
  the call's arguments, then Define stub.
- 405_2: make the definition non-static and declare it in its file's header (+ include).
- 406_2: static: as 405_2; else include the declaring header, Declare extern, declare it in the
  header of the defining file.
- 407_2: include the header that defines the type.
"""

from __future__ import annotations

from kernel_lsp.design.hidden import find_hidden
from kernel_lsp.design.repair import close_names
from kernel_lsp.fixes import decltext
from kernel_lsp.fixes.derive import derived_prototype
from kernel_lsp.fixes.plan import TAG_KINDS, Planner


def plan_undeclared_call(p: Planner) -> list[dict]:
    """404_2: a function of another file called with no declaration in scope (or a function-like
    macro of a header that is not included)."""
    start, use = p.use("call")
    if p.f.context.get("macro"):
        return p.include_plans([h for h in p.f.context.get("declared_in", []) if p.native(h)],
                               use)
    rows = [r for r in p.model.function_declarations(p.symbol) if p.native(r[0])]
    # any header that declares it, or defines it (a static inline header function)
    headers = [r[0] for r in rows if r[0].endswith(".h") and (r[2] != "static" or r[1])]
    plans = p.include_plans(headers, use)
    proto = _prototype(p, [r for r in rows if r[2] != "static"])
    if proto is not None:
        plans.append(p.declare_plan(proto, "function", use))
        if not plans[:-1]:
            plans.append(p.export_plan("function", proto, start, use, None))
    return plans


def _prototype(p: Planner, rows: list[tuple]) -> str | None:
    """The first prototype that can be built from the rows' signatures (definitions first)."""
    for _path, _is_def, _storage, signature, generated_by, _line in rows:
        if generated_by or not signature:
            continue  # a definition written by a macro: its signature is the invocation
        proto = decltext.prototype(signature, p.symbol)
        if proto is not None:
            return proto
    return None


def plan_missing_type(p: Planner) -> list[dict]:
    """020_2: a type or a function defined nowhere in the model, candidate repairs best first.

    1. ``Did you mean filp_open?``: a close name visible at the use (the file and what it
       includes), replacing the misspelt one at this use;
    2. a type: the header that defines it (a model that changed since the check);
    3. a function: ``Declare`` the prototype derived from the call's argument types, then
       ``Define stub`` with the same signature; a struct/union/enum: ``Define stub`` and (not an
       enum) a forward declaration. A typedef name gets nothing more: its underlying type is
       unknown.
    """
    kind = p.f.context.get("kind") or "function"
    plans = rename_plans(p, kind) + hidden_plans(p, kind)
    if kind == "function":
        return plans + function_plans(p)
    if kind not in (*TAG_KINDS, "typedef"):
        return plans
    _start, use = p.use("type")
    headers = [h for h in p.model.type_definition_paths(p.symbol, kind) if p.native(h)]
    plans += p.include_plans(headers, use)
    if any(pl["kind"] == "include" for pl in plans) or kind == "typedef":
        return plans
    plans.append(p.declare_plan(decltext.stub_definition(kind, p.symbol), kind, use,
                                title=f"Define stub {kind} {p.symbol}", kind="define_stub"))
    if kind != "enum":
        plans.append(p.declare_plan(decltext.forward_declaration(kind, p.symbol), kind, use,
                                    title=f"Declare {kind} {p.symbol}", kind="forward_declare"))
    return plans


def rename_plans(p: Planner, kind: str) -> list[dict]:
    """``Did you mean X?`` for the close names declared in the file or the files it includes."""
    fid = p.model.file_id(p.path)
    if fid is None:
        return []
    files = sorted(p.model.nav_include_closure(fid))
    if kind == "function":
        names = p.model.design_names_in_files("functions", files)
    else:
        names = p.model.design_names_in_files("types", files, kind)
    spelled = (lambda n: n) if kind in ("function", "typedef") else (lambda n: f"{kind} {n}")
    return [p.base("rename", f"Did you mean {spelled(name)}?", to=name,
                   use=[p.f.line, p.f.col]) for name in close_names(p.symbol, names)]


def hidden_plans(p: Planner, kind: str) -> list[dict]:
    """Include the header that defines the name in an ``#if`` branch this configuration drops,
    when the file does not include it yet (the configuration is the user's to change)."""
    hidden = find_hidden(p.model, p.config.root, p.symbol, kind, p.path)
    if hidden is None or not hidden.path.endswith(".h") or hidden.path in p.reached_headers(-1):
        return []
    _start, use = p.use("call" if kind == "function" else "type")
    return p.include_plans([hidden.path], use)


def function_plans(p: Planner) -> list[dict]:
    """Declare the function with the argument types of the call, or define a stub of it."""
    source = p.read(p.path)
    proto = derived_prototype(source, p.f.line, p.f.col, p.symbol) if source else None
    if proto is None:
        return []
    _start, use = p.use("call")
    head = proto[:-1]
    ret = head.split(p.symbol + "(", 1)[0].strip()
    body = "\n\t/* TODO */\n" if ret == "void" else "\n\t/* TODO */\n\treturn 0;\n"
    stub = f"{head}\n{{{body}}}"
    return [p.declare_plan(proto, "function", use, title=f"Declare {proto}"),
            p.declare_plan(stub, "function", use, title=f"Define stub {p.symbol}")]


def plan_static_call(p: Planner) -> list[dict]:
    """405_2: a call to a function that is static in another file."""
    start, use = p.use("call")
    named = p.f.context.get("static_in") or []
    rows = [r for r in p.model.function_declarations(p.symbol)
            if r[1] and r[2] == "static" and r[0] != p.path and r[0].endswith(".c")
            and p.native(r[0]) and not r[4]]
    rows.sort(key=lambda r: named.index(r[0]) if r[0] in named else len(named))
    for path, _is_def, _storage, signature, _gen, line in rows:
        proto = decltext.prototype(signature or "", p.symbol)
        if proto is not None:
            plan = p.export_plan("function", proto, start, use, {"path": path, "line": line})
            return [plan] if plan else []
    return []


def plan_access(p: Planner) -> list[dict]:
    """406_2: a variable static in another file, or defined elsewhere with no declaration."""
    start, use = p.use("var")
    if [p.f.line, p.f.col] < use:
        use = [p.f.line, p.f.col]
    rows = [r for r in p.model.variable_declarations(p.symbol) if p.native(r[0])]
    defs = [r for r in rows if r[2] and r[1] != "extern" and r[0] != p.path
            and r[0].endswith(".c") and not r[5]]
    if not defs:
        return []
    if all(d[1] == "static" for d in defs):
        path, _st, _d, line, col, _g = defs[0]
        text = p.extern_text(path, line, col)
        plan = p.export_plan("variable", text, start, use, {"path": path, "line": line}) \
            if text else None
        return [plan] if plan else []
    headers = [r[0] for r in rows if r[0].endswith(".h") and r[1] == "extern" and not r[2]]
    plans = p.include_plans(headers, use)
    path, _st, _d, line, col, _g = next(d for d in defs if d[1] != "static")
    text = p.extern_text(path, line, col)
    if text is not None:
        plans.append(p.declare_plan(text, "variable", use))
        if not headers:
            plans.append(p.export_plan("variable", text, start, use, None))
    return plans


def plan_invisible_type(p: Planner) -> list[dict]:
    """407_2: a type defined in the tree but not visible where the use needs it: include the
    header that defines it (a typedef: that declares it; a function-pointer typedef the unit
    loses: that declares its return type, ``checks/typedefdrop``)."""
    kind = p.f.context.get("kind")
    if kind not in (*TAG_KINDS, "typedef"):
        return []
    _start, use = p.use("type")
    name = p.f.context.get("returns", p.symbol)
    headers = [h for h in p.model.type_definition_paths(name, kind)
               if p.native(h) and h.endswith(".h")]
    return p.include_plans(headers, use)


PLANNERS = {
    "404_2": plan_undeclared_call,
    "020_2": plan_missing_type,
    "405_2": plan_static_call,
    "406_2": plan_access,
    "407_2": plan_invisible_type,
}
