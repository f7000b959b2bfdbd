"""Render the real diagnostics of one fixture file as a PNG, for the VS Code extension's README.

The kernel-lsp server runs over stdio with a real LSP client (pygls) on a copy of
fixtures/linux-tree; the diagnostics it publishes for the file, and the quick fixes it offers
for the first one, are drawn as an editor pane (squiggles under the published ranges) and a
Problems list, in HTML rendered by headless chromium. Nothing is drawn that the server did not
send; the code is the fixture's text as it is on disk.

    python scripts/render_diagnostics.py [--file kernel/sys.c] [--out vscode-extension/images/diagnostics.png]

Needs: kernel-lsp importable by this Python (or --server CMD...), and chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "fixtures" / "linux-tree"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]
SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}
TOKENS = re.compile(r"(?P<comment>/\*.*?\*/|//[^\n]*)|(?P<string>\"(?:\\.|[^\"\\\n])*\")"
                    r"|(?P<pre>^[ \t]*#[ \t]*\w+)|(?P<keyword>\b(?:static|struct|union|enum|return|"
                    r"if|else|for|while|void|char|int|long|unsigned|const|sizeof|typedef)\b)"
                    r"|(?P<number>\b\d+\b)", re.S | re.M)


async def collect(server: list[str], root: Path, rel: str, timeout: float):
    """Open ``rel`` in a real session; the published diagnostics and the first one's code actions."""
    client = LanguageClient("render-diagnostics", "1")
    published: dict[str, types.PublishDiagnosticsParams] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
        published[params.uri] = params

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: types.LogMessageParams) -> None:
        pass

    await client.start_io(server[0], *server[1:], cwd=str(root))
    try:
        caps = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)))
        await client.initialize_async(types.InitializeParams(capabilities=caps, root_uri=root.as_uri()))
        client.initialized(types.InitializedParams())
        uri = (root / rel).as_uri()
        text = (root / rel).read_text()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="c", version=1, text=text)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (uri in published and published[uri].diagnostics) or any(
                "(provisional:" in d.message for d in published[uri].diagnostics):
            if loop.time() > deadline:
                raise SystemExit(f"render_diagnostics: no diagnostics for {rel} within {timeout} s")
            await asyncio.sleep(0.05)
        diagnostics = sorted(published[uri].diagnostics,
                             key=lambda d: (d.range.start.line, d.range.start.character))
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri), range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=[diagnostics[0]])))
        await client.shutdown_async(None)
        client.exit(None)
        return text, diagnostics, [a.title for a in actions or []]
    finally:
        await client.stop()


def utf16_to_index(line: str, units: int) -> int:
    """The string index of a UTF-16 column (the default LSP position encoding)."""
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)


def line_html(text: str, token_class: list[str], marks: list[str]) -> str:
    """One source line as spans of (token class, squiggle severity) runs."""
    out, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or (token_class[i], marks[i]) != (token_class[start], marks[start]):
            classes = " ".join(c for c in (token_class[start], marks[start] and f"sq-{marks[start]}") if c)
            out.append(f'<span class="{classes}">{html.escape(text[start:i])}</span>')
            start = i
    return "".join(out)


def classes_of(text: str) -> list[list[str]]:
    """Per line, per character: the syntax class (comment, string, keyword...) or ''."""
    flat = [""] * len(text)
    for m in TOKENS.finditer(text):
        for i in range(m.start(), m.end()):
            flat[i] = m.lastgroup or ""
    lines, at = [], 0
    for line in text.split("\n"):
        lines.append(flat[at:at + len(line)])
        at += len(line) + 1
    return lines


def render_html(rel: str, text: str, diagnostics, fixes: list[str], context: int) -> str:
    lines = text.split("\n")
    classes = classes_of(text)
    marks = [[""] * len(line) for line in lines]
    for d in diagnostics:
        sev = SEVERITY.get(d.severity or 1, "error")
        for ln in range(d.range.start.line, d.range.end.line + 1):
            a = utf16_to_index(lines[ln], d.range.start.character) if ln == d.range.start.line else 0
            b = utf16_to_index(lines[ln], d.range.end.character) if ln == d.range.end.line else len(lines[ln])
            for i in range(a, max(b, a + 1)):
                if i < len(marks[ln]):
                    marks[ln][i] = sev
    first = max(0, min(d.range.start.line for d in diagnostics) - context)
    last = min(len(lines) - 1, max(d.range.end.line for d in diagnostics) + context)
    rows = "\n".join(
        f'<div class="row"><span class="ln">{n + 1}</span><span class="code">'
        f'{line_html(lines[n], classes[n], marks[n]) or "&nbsp;"}</span></div>'
        for n in range(first, last + 1))
    problems = "\n".join(
        f'<div class="problem"><span class="icon {SEVERITY.get(d.severity or 1)}">'
        f'{"&#x2716;" if (d.severity or 1) == 1 else "&#x26A0;"}</span>{html.escape(d.message)} '
        f'<span class="src">{html.escape(str(d.source))}({html.escape(str(d.code))})</span> '
        f'<span class="pos">[Ln {d.range.start.line + 1}, Col {d.range.start.character + 1}]</span></div>'
        for d in diagnostics)
    fix_rows = "".join(f"<div class='fix'><span class='bulb'>&#x25B8;</span> {html.escape(t)}</div>"
                       for t in fixes)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #1e1e1e; color: #d4d4d4; width: 1200px;
  font: 14px 'DejaVu Sans', sans-serif; }}
.tab {{ background: #252526; padding: 8px 16px; color: #fff; border-bottom: 1px solid #333; }}
.editor {{ font: 14px/20px 'DejaVu Sans Mono', monospace; padding: 8px 0; }}
.row {{ white-space: pre; }} .ln {{ display: inline-block; width: 48px; text-align: right;
  color: #858585; padding-right: 16px; }}
.comment {{ color: #6a9955; }} .string {{ color: #ce9178; }} .keyword {{ color: #569cd6; }}
.pre {{ color: #c586c0; }} .number {{ color: #b5cea8; }}
.sq-error {{ text-decoration: underline wavy #f14c4c; text-underline-offset: 3px; }}
.sq-warning {{ text-decoration: underline wavy #cca700; text-underline-offset: 3px; }}
.sq-info, .sq-hint {{ text-decoration: underline wavy #3794ff; text-underline-offset: 3px; }}
.panel {{ border-top: 1px solid #444; background: #1e1e1e; padding: 6px 16px 12px; }}
.title {{ text-transform: uppercase; font-size: 11px; letter-spacing: 1px; color: #e7e7e7;
  padding: 6px 0; }}
.problem {{ padding: 3px 0; }} .icon {{ display: inline-block; width: 22px; }}
.icon.error {{ color: #f14c4c; }} .icon.warning {{ color: #cca700; }}
.src, .pos {{ color: #a0a0a0; }} .fixes {{ margin-top: 8px; color: #cccccc; }}
.fix {{ padding: 2px 0; }} .bulb {{ display: inline-block; width: 22px; color: #cca700; }}
</style></head><body>
<div class="tab">{html.escape(rel)}</div>
<div class="editor">{rows}</div>
<div class="panel"><div class="title">Problems ({len(diagnostics)})</div>{problems}
<div class="fixes"><div class="title">Quick fixes offered for the first problem</div>{fix_rows}</div></div>
</body></html>"""


def screenshot(page: Path, out: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("render_diagnostics: chromium not found (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               f"--window-size=1200,{height}", f"--screenshot={out}", page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.is_file():
        raise SystemExit(f"render_diagnostics: chromium failed ({done.returncode}): {done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default="kernel/sys.c", help="file of fixtures/linux-tree to open")
    parser.add_argument("--out", type=Path, default=REPO / "vscode-extension" / "images" / "diagnostics.png")
    parser.add_argument("--context", type=int, default=3, help="lines shown around the diagnostics")
    parser.add_argument("--server", nargs="+", default=[sys.executable, "-m", "kernel_lsp", "serve"])
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "linux-tree"
        shutil.copytree(TREE, root, ignore=shutil.ignore_patterns(".kernel-lsp"))
        text, diagnostics, fixes = asyncio.run(collect(args.server, root, args.file, args.timeout))
        page = Path(tmp) / "diagnostics.html"
        page.write_text(render_html(args.file, text, diagnostics, fixes, args.context))
        shown = (max(d.range.end.line for d in diagnostics) - min(d.range.start.line for d in diagnostics)
                 + 2 * args.context + 1)
        height = 52 + 20 * shown + 60 + 24 * len(diagnostics) + 36 + 22 * len(fixes)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(page, args.out, height)
    for d in diagnostics:
        print(f"{args.file}:{d.range.start.line + 1}:{d.range.start.character + 1}: {d.code} {d.message}")
    print(f"render_diagnostics: wrote {args.out} ({len(diagnostics)} diagnostics, {len(fixes)} fixes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
