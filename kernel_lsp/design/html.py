"""The verification report as one self-contained HTML file (no network at view time).

Summary, the model's size, bar charts of the dependent level types by level and of the
dependent relationships by kind (inline SVG), then collapsible demands -> paths -> invocations
(``<details>``), each item with its code, verdict and a link to ``path:line``. The JSON report
summary is embedded (``<script type="application/json" id="report-data">``) for tools.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from kernel_lsp.design.render import report_dict
from kernel_lsp.design.result import LEVEL_NAMES, Item, Run, verdict
from kernel_lsp.findings import CODES

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1100px;
color:#1d1f21;background:#fff;padding:0 1em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.92em}
.ok{color:#1a7f37}.err{color:#cf222e}.warn{color:#9a6700}
.badge{display:inline-block;padding:0 .45em;border-radius:.6em;font-weight:600;font-size:.85em}
.badge.ok{background:#dafbe1}.badge.err{background:#ffebe9}.badge.warn{background:#fff8c5}
table{border-collapse:collapse;margin:.3em 0}td,th{padding:.15em .7em .15em 0;text-align:left;
vertical-align:top}th{font-weight:600;color:#57606a}
details{margin:.25em 0 .25em 1.1em}details>summary{cursor:pointer}
details.demand>summary{font-size:1.08em;font-weight:600}details.invocation{border-left:3px solid
#d0d7de;padding-left:.6em}details.invocation.bad{border-color:#cf222e}
.charts{display:flex;gap:2em;flex-wrap:wrap}.chart{flex:1 1 420px}
.chart svg text{font:12px system-ui,sans-serif;fill:#1d1f21}
.tools button{margin-right:.5em}a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
.msg{color:#57606a}
"""

_JS = """
document.getElementById('expand').addEventListener('click', () =>
  document.querySelectorAll('details').forEach(d => d.open = true));
document.getElementById('collapse').addEventListener('click', () =>
  document.querySelectorAll('details').forEach(d => d.open = false));
document.getElementById('errors').addEventListener('change', e => {
  document.querySelectorAll('details.invocation').forEach(d =>
    d.style.display = e.target.checked && !d.classList.contains('bad') ? 'none' : '');
});
"""

_COLORS = {"base": "#8250df", "func": "#0969da", "struct": "#1a7f37", "file": "#bf8700",
           "dentry": "#bc4c00", "subsys": "#cf222e"}


def _cls(code: str) -> str:
    if code.endswith("_1"):
        return "ok"
    return "warn" if CODES[code].severity == "warning" else "err"


def _badge(code: str) -> str:
    title = escape(CODES[code].title)
    return f'<span class="badge {_cls(code)}" title="{title}">{code}</span>'


def _link(root: Path, path: str | None, line: int | None, col: int | None = None) -> str:
    if not path:
        return ""
    text = path if line is None else f"{path}:{line + 1}" + (f":{col + 1}" if col is not None
                                                             else "")
    uri = (root / path).as_uri() + (f"#L{line + 1}" if line is not None else "")
    return f'<a class="mono" href="{escape(uri)}">{escape(text)}</a>'


def bar_chart(title: str, counts: dict[str, int], colors: dict[str, str] | None = None) -> str:
    """A horizontal bar chart as inline SVG (one bar per key, labelled with its count)."""
    items = list(counts.items())
    width, bar_h, gap, label_w = 440, 20, 6, 130
    height = max(1, len(items)) * (bar_h + gap) + 30
    top = max([v for _, v in items] + [1])
    parts = [f'<svg class="bars" role="img" aria-label="{escape(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="0" y="14" font-weight="600">{escape(title)}</text>']
    for i, (name, value) in enumerate(items):
        y = 24 + i * (bar_h + gap)
        w = 0 if not value else max(2, round((width - label_w - 50) * value / top))
        color = (colors or {}).get(name, "#0969da")
        parts.append(f'<text x="0" y="{y + 14}">{escape(name)}</text>')
        parts.append(f'<rect class="bar" data-name="{escape(name)}" data-value="{value}" '
                     f'x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 14}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _item_row(root: Path, item: Item) -> str:
    return (f"<tr><td>{_badge(item.code)}</td><td class=mono>{escape(item.subject)}</td>"
            f"<td>{_link(root, item.path, item.line, item.col)}</td>"
            f"<td class=msg>{escape(item.message)}</td></tr>")


def _invocation(root: Path, run: Run, inv) -> str:
    els = run.elements
    bad = "" if inv.ok else " bad"
    head = (f'<summary>{_badge(inv.code)} <span class="mono">{escape(inv.id)}</span> '
            f'<b class="mono">{escape(inv.caller)};{escape(inv.callee)}</b> '
            f'<span class="{_cls(inv.code)}">{verdict(inv.code)}</span> '
            f'{" ".join(_badge(r) for r in inv.reasons)}</summary>')
    rows = ["<h4>Participating functions</h4><table>"]
    for k in inv.functions:
        rows += [_item_row(root, i) for i in els[k].items]
    types, files, dirs, hidden = inv.shown(els)
    rows.append(f"</table><h4>Dependent types ({len(inv.types)})</h4><table>")
    for k in types:
        rows += [_item_row(root, i) for i in els[k].items]
    rows.append("</table><h4>Files, dentries and subsystems</h4><table>")
    for k in files:
        rows += [_item_row(root, i) for i in els[k].items]
    rows += [_item_row(root, i) for i in dirs]
    if hidden:
        rows.append(f'<tr><td colspan=4 class=msg>{hidden} more types and files, right '
                    '(members, recursively: see <a href="#elements">the dependent level '
                    "types</a>)</td></tr>")
    rows.append("</table><h4>Relation</h4><table>")
    rows += [_item_row(root, i) for i in inv.relation] or [
        "<tr><td colspan=4>not checked: a participating function does not exist</td></tr>"]
    rows.append("</table>")
    return (f'<details class="invocation{bad}" data-id="{escape(inv.id)}">{head}'
            f'<p class=msg>{inv.require}, demanded at line {inv.line + 1}</p>'
            + "".join(rows) + "</details>")


def _demands(root: Path, run: Run) -> str:
    out = []
    for d in run.demands:
        out.append(f'<details class="demand" open><summary>{_badge(d.code)} demand '
                   f'<span class="mono">{escape(d.id)}</span>: {escape(d.name)} '
                   f'<span class=msg>({escape(d.file)})</span></summary>')
        out += [f'<p class="err">{escape(d.file)}:{p.line + 1}:{p.col + 1}: '
                f'{escape(p.message)}</p>' for p in d.problems]
        for p in d.paths:
            out.append(f'<details class="path" open><summary>{_badge(p.code)} path '
                       f'<span class="mono">{escape(p.id)}</span>: {escape(p.name)} '
                       f'{" ".join(_badge(r) for r in p.reasons)}</summary>')
            out += [_invocation(root, run, inv) for inv in p.invocations]
            out.append("</details>")
        out.append("</details>")
    return "".join(out)


def _elements(root: Path, run: Run) -> str:
    """Every dependent level type once, by level, each level collapsible."""
    out = []
    by_level: dict[int, list] = {}
    for el in run.dependent_elements():
        by_level.setdefault(el.level, []).append(el)
    for level, els in sorted(by_level.items()):
        bad = sum(1 for e in els if any(not i.code.endswith("_1") for i in e.items))
        note = f", {bad} not right" if bad else ""
        out.append(f'<details class="level"><summary>{LEVEL_NAMES[level]} ({len(els)}{note})'
                   "</summary><table>")
        for el in els:
            out += [_item_row(root, i) for i in el.items]
        out.append("</table></details>")
    return "".join(out)


def _table(counts: dict) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(str(k))}</th><td>{v}</td></tr>"
                               for k, v in counts.items()) + "</table>"


def format_html(run: Run, root: Path) -> str:
    s = run.summary()
    full = report_dict(run, root)
    data = json.dumps({k: full[k] for k in ("version", "code", "verdict", "reasons", "summary",
                                            "policies", "model", "dependent")},
                      ensure_ascii=False).replace("</", "<\\/")
    levels = run.level_counts()
    model = run.model_size or {}
    title = f"kernel-lsp verification: {verdict(run.code)}"
    summary = (f"<p>{_badge(run.code)} <b class={_cls(run.code)}>{verdict(run.code)}</b> "
               f"{' '.join(_badge(r) for r in run.reasons)}</p>"
               f"<table><tr><th>demands</th><td>{s['demands_right']} of {s['demands']} right</td>"
               f"</tr><tr><th>paths</th><td>{s['paths_right']} of {s['paths']} right</td></tr>"
               f"<tr><th>invocations</th><td id=inv-count>{s['invocations_right']} of "
               f"{s['invocations']} right</td></tr><tr><th>dependent types</th>"
               f"<td>{s['dependent_types']}</td></tr><tr><th>dependent relationships</th>"
               f"<td>{s['dependent_relationships']}</td></tr>"
               + (f"<tr><th>layer policies</th><td>{escape(', '.join(run.policies))}</td></tr>"
                  if run.policies else "") + "</table>")
    charts = ('<div class="charts"><div class="chart" id="chart-levels">'
              + bar_chart("Dependent level types by level", levels, _COLORS)
              + '</div><div class="chart" id="chart-relationships">'
              + bar_chart("Dependent relationships by kind", run.relationship_counts())
              + "</div></div>")
    model_html = ('<div class="charts"><div>' + "<h3>Level types</h3>"
                  + _table(model.get("levels", {})) + "</div><div><h3>Relationships</h3>"
                  + _table(model.get("relationships", {})) + "</div></div>")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=msg>root <span class=mono>{escape(str(root))}"
        f"</span> · levels: {', '.join(f'{d} {n}' for d, n in LEVEL_NAMES.items())}</p>"
        f"<h2>Summary</h2>{summary}<h2>Dependencies</h2>{charts}"
        f"<h2>The model</h2>{model_html}"
        '<h2>Demands</h2><p class="tools"><button id="expand">Expand all</button>'
        '<button id="collapse">Collapse all</button><label><input type="checkbox" '
        'id="errors"> only wrong invocations</label></p>'
        f"{_demands(root, run)}"
        f'<h2 id="elements">Dependent level types</h2>{_elements(root, run)}'
        f'<script type="application/json" id="report-data">{data}</script>'
        f"<script>{_JS}</script></body></html>\n")
