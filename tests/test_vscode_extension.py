"""The VS Code extension builds from a clean copy into a linux-x64 .vsix that carries the server.

One build (scripts/build-vsix.sh in a clean copy of the extension, the Python package and the
script) serves every test: the manifest and bundle, the bundled server's files, the bundled server
started by the extension's own discovery code from the unpacked .vsix with this machine's Python
(a real LSP session), and the `$kernel-lsp` problem matcher over real `kernel-lsp check` output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pytest_lsp.client import make_test_lsp_client

from kernel_lsp.findings import codes_of
from kernel_lsp.findings.codes import REPORT_CODES
from tests.conftest import REPO
from tests.lsp_helpers import (
    VSCODE,
    capabilities,
    copy_tree,
    expected,
    keys,
    open_doc,
    start,
    stop,
    wait_published,
)

EXTENSION = REPO / "vscode-extension"
SCRIPT = REPO / "scripts" / "build-vsix.sh"
VERSION = json.loads((EXTENSION / "package.json").read_text())["version"]
VSIX_NAME = f"kernel-lsp-linux-x64-{VERSION}.vsix"
LIBS = "extension/bundled/libs/"
PYTHONS = ["3.11", "3.12", "3.13", "3.14"]

# Settings and their contracted types and defaults (docs/vscode.md).
SETTINGS = {
    "kernelLsp.server.path": (["string", "array"], ""),
    "kernelLsp.server.python": ("string", ""),
    "kernelLsp.headerLanguage": ("string", "c"),
    "kernelLsp.includePaths": ("array", []),
    "kernelLsp.arch": ("string", "x86"),
    "kernelLsp.exclude": ("array", []),
    "kernelLsp.severity": ("object", {}),
    "kernelLsp.disable": ("array", []),
    "kernelLsp.debounceMs": ("integer", 10),
    "kernelLsp.jobs": (["integer", "null"], None),
    "kernelLsp.maxFileBytes": ("integer", 4194304),
    "kernelLsp.docsUrl": ("string", ""),
    "kernelLsp.trace.server": ("string", "off"),
}
CODES = [c for c in codes_of("c") if c not in REPORT_CODES]  # the C codes checks report
# Top-level packages of the server and its dependencies that the bundle must hold.
PACKAGES = ["kernel_lsp", "pygls", "lsprotocol", "attrs", "cattrs", "tree_sitter", "tree_sitter_c",
            "sqlite_utils", "click", "rich", "pygments", "elftools"]

pytestmark = pytest.mark.e2e


def _clean_copy(dest: Path) -> Path:
    """Copy what the build reads (extension, Python package, script) as a clean checkout has it."""
    ignore = shutil.ignore_patterns("node_modules", "dist", "out", "bundled", "*.vsix", "__pycache__",
                                    ".kernel-lsp")
    shutil.copytree(EXTENSION, dest / "vscode-extension", ignore=ignore)
    for name in ("kernel_lsp", "queries"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    (dest / "docs").mkdir()
    for name in ("codes.md", "ebpf-codes.md"):  # shipped in the wheel (kernel-lsp explain)
        shutil.copy2(REPO / "docs" / name, dest / "docs" / name)
    (dest / "scripts").mkdir()
    shutil.copy2(SCRIPT, dest / "scripts" / "build-vsix.sh")
    return dest / "scripts" / "build-vsix.sh"


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path | None, str]:
    """Run scripts/build-vsix.sh once in a clean copy; give the .vsix, or why there is none."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None, "node/npm not found on PATH: building the VS Code extension needs Node.js 20+ and npm"
    root = tmp_path_factory.mktemp("vsix-build")
    script = _clean_copy(root)
    env = {**os.environ, "PYTHON": sys.executable}
    try:
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900,
                              env=env)
    except subprocess.TimeoutExpired:
        return None, "scripts/build-vsix.sh took more than 900 s"
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return None, f"scripts/build-vsix.sh failed ({done.returncode}):\n{output}"
    return root / "vscode-extension" / VSIX_NAME, ""


def _built(build: tuple[Path | None, str]) -> Path:
    """The .vsix, or a test failure (in the test, not a setup error; never a skip: CI has Node 20 and npm)."""
    path, problem = build
    if path is None:
        pytest.fail(problem)
    return path


@pytest.fixture(scope="module")
def unpacked(build, tmp_path_factory) -> Path:
    """The .vsix unpacked as VS Code installs it: the extension directory."""
    vsix = _built(build)
    dest = tmp_path_factory.mktemp("vsix-unpacked")
    with zipfile.ZipFile(vsix) as archive:
        archive.extractall(dest)
    return dest / "extension"


def _python_version(python: str) -> str | None:
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="module")
def machine_python() -> str:
    """A python3 of this machine (not this test run's venv) that the bundle supports."""
    venv_bin = str(Path(sys.executable).parent)
    search = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if d != venv_bin)
    candidates = [shutil.which("python3", path=search), "/usr/bin/python3"]
    for python in candidates:
        if python and Path(python).exists() and _python_version(python) in PYTHONS:
            return python
    pytest.fail(f"no CPython {PYTHONS[0]}-{PYTHONS[-1]} python3 outside the venv: tried {candidates}")


def test_vsix_is_a_linux_x64_zip_with_manifest_bundle_and_icon(build):
    vsix = _built(build)
    assert vsix.is_file(), f"{vsix.name} was not written"
    assert zipfile.is_zipfile(vsix)
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        assert {"extension/package.json", "extension/dist/extension.js", "extension/LICENSE.txt",
                "extension/images/icon.png", "extension/readme.md"} <= names
        outside_bundle = [n for n in names if not n.startswith("extension/bundled/")]
        assert not [n for n in outside_bundle if "/node_modules/" in n or "/src/" in n or n.endswith(".ts")]
        manifest = json.loads(archive.read("extension/package.json"))
        bundle = archive.read("extension/dist/extension.js").decode()
        vsixmanifest = archive.read("extension.vsixmanifest").decode()
    assert 'TargetPlatform="linux-x64"' in vsixmanifest
    assert manifest["name"] == "kernel-lsp" and manifest["publisher"] == "kernel-lsp"
    assert manifest["main"] == "./dist/extension.js"
    assert manifest["icon"] == "images/icon.png"
    assert manifest["activationEvents"] == ["onLanguage:c", "onLanguage:cpp",
                                            "workspaceContains:**/kernel-lsp.toml"]
    # The bundle holds the extension and vscode-languageclient; only `vscode` stays external.
    assert "kernel-lsp.reindex" in bundle and "workspace/executeCommand" in bundle
    assert "kernel_lsp" in bundle and "bundle.json" in bundle
    assert 'require("vscode")' in bundle
    assert 'require("vscode-languageclient' not in bundle


def test_vsix_contributes_settings_commands_matcher_and_task(build):
    vsix = _built(build)
    with zipfile.ZipFile(vsix) as archive:
        contributes = json.loads(archive.read("extension/package.json"))["contributes"]
    properties = contributes["configuration"]["properties"]
    assert set(properties) == set(SETTINGS)
    for key, (kind, default) in SETTINGS.items():
        assert (properties[key]["type"], properties[key]["default"]) == (kind, default), key
        assert properties[key].get("markdownDescription") or properties[key].get("description"), key
        assert properties[key].get("scope"), key
    assert properties["kernelLsp.trace.server"]["enum"] == ["off", "messages", "verbose"]
    assert properties["kernelLsp.headerLanguage"]["enum"] == ["c", "unchanged"]
    severity = properties["kernelLsp.severity"]
    assert list(severity["properties"]) == CODES
    assert all(severity["properties"][c]["enum"] == ["error", "warning", "note", "off"] for c in CODES)
    commands = {c["command"]: c["title"] for c in contributes["commands"]}
    assert commands == {"kernelLsp.reindex": "Kernel LSP: Reindex workspace",
                        "kernelLsp.restart": "Kernel LSP: Restart server",
                        "kernelLsp.showOutput": "Kernel LSP: Show output"}
    (matcher,) = contributes["problemMatchers"]
    assert matcher["name"] == "kernel-lsp" and matcher["fileLocation"][0] == "autoDetect"
    (task,) = contributes["taskDefinitions"]
    assert task["type"] == "kernel-lsp" and task["properties"]["command"]["enum"] == ["check"]


def test_vsix_bundles_the_server_and_its_dependencies(build):
    vsix = _built(build)
    with zipfile.ZipFile(vsix) as archive:
        infos = archive.infolist()
        names = {i.filename for i in infos}
        bundle = json.loads(archive.read("extension/bundled/bundle.json"))
    libs = {n[len(LIBS):] for n in names if n.startswith(LIBS)}
    tops = {n.split("/")[0] for n in libs}
    assert set(PACKAGES) <= tops, sorted(set(PACKAGES) - tops)
    # The server package with its tree-sitter queries, as the wheel ships them.
    queries = sorted(p.name for p in (REPO / "queries").glob("*.scm"))
    assert queries and {f"kernel_lsp/queries/{q}" for q in queries} <= libs
    assert {"kernel_lsp/__main__.py", "kernel_lsp/cli.py", "kernel_lsp/lsp/server.py"} <= libs
    # the code documentation `kernel-lsp explain` prints, as the wheel ships it
    assert {"kernel_lsp/docs/codes.md", "kernel_lsp/docs/ebpf-codes.md"} <= libs
    # tree-sitter has one compiled module per CPython version; tree-sitter-c one abi3 module.
    for py in PYTHONS:
        assert f"tree_sitter/_binding.cpython-{py.replace('.', '')}-x86_64-linux-gnu.so" in libs, py
    assert "tree_sitter_c/_binding.abi3.so" in libs
    # Not shipped: console scripts naming the build's python, pip, bytecode.
    assert not [n for n in libs if n.startswith(("bin/", "pip/")) or "__pycache__" in n]
    assert bundle["pythons"] == PYTHONS and bundle["target"] == "linux-x64"
    assert bundle["platform"] == "manylinux2014_x86_64" and bundle["server"] == VERSION
    for dist in ("kernel-lsp", "pygls", "lsprotocol", "tree-sitter", "tree-sitter-c", "sqlite-utils"):
        assert dist in bundle["packages"], dist
    size = vsix.stat().st_size
    unpacked_size = sum(i.file_size for i in infos)
    print(f"{vsix.name}: {size / 1e6:.1f} MB, {len(infos)} files, {unpacked_size / 1e6:.1f} MB unpacked")
    assert size < 20_000_000


def _discover(build_root: Path, extension: Path, workspace: Path, python: str) -> dict:
    """Run the extension's discovery code (compiled from the same sources) against the unpacked .vsix."""
    out = build_root / "vscode-extension" / "out" / "src"
    script = (
        "const [out, ext, ws] = process.argv.slice(1);"
        "const { discoverServer } = require(out + '/discovery.js');"
        "const { nodeDiscoveryHost } = require(out + '/host.js');"
        "const { serverLaunch } = require(out + '/launch.js');"
        "const logs = [];"
        "discoverServer({ serverPath: '', python: '' }, nodeDiscoveryHost(ext, ws, (m) => logs.push(m)))"
        ".then((found) => console.log(JSON.stringify({ found, logs,"
        " launch: found.ok ? serverLaunch(found.server, ws, process.env) : null })));"
    )
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["node", "-e", script, str(out), str(extension), str(workspace)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_bundled_server_runs_from_the_unpacked_vsix(build, unpacked, machine_python, tmp_path):
    tree = copy_tree(tmp_path / "tree", indexed=False)
    got = _discover(_built(build).parent.parent, unpacked, tree, machine_python)
    assert got["found"]["ok"], got
    server = got["found"]["server"]
    assert server["source"] == "bundled", got["logs"]
    assert server["args"] == ["-P", "-m", "kernel_lsp", "serve"]
    assert Path(server["command"]).name.startswith("python3")
    assert server["env"] == {"PYTHONPATH": str(unpacked / "bundled" / "libs")}
    launch = got["launch"]
    # The interpreter imports the server and tree-sitter from the bundle, not from anywhere else.
    where = subprocess.run(
        [launch["command"], "-P", "-c", "import kernel_lsp, tree_sitter, pygls;"
         "print(kernel_lsp.__file__, tree_sitter.__file__, pygls.__file__)"],
        capture_output=True, text=True, env=launch["options"]["env"], cwd=tree, timeout=60)
    assert where.returncode == 0, where.stderr
    assert all(p.startswith(str(unpacked / "bundled" / "libs")) for p in where.stdout.split()), where.stdout
    # A real LSP session with the command and environment the extension would use.
    client = make_test_lsp_client()
    await client.start_io(launch["command"], *launch["args"], env=launch["options"]["env"],
                          cwd=launch["options"]["cwd"])
    try:
        result = await start(client, tree, capabilities(VSCODE))
        assert result.capabilities.text_document_sync is not None
        u = open_doc(client, tree, "fs/stat.c")
        published = await wait_published(client, u, 1, lambda p: bool(p.diagnostics), timeout=90)
        assert keys(published.diagnostics) == expected(tree, "fs/stat.c")
        assert {d.source for d in published.diagnostics} == {"kernel-lsp"}
        await client.shutdown_session()
    finally:
        await stop(client)


def test_problem_matcher_reads_real_check_output(build, unpacked, machine_python, tmp_path):
    """The matcher regexp of package.json (in node: JavaScript regexps) against the bundled CLI's output."""
    tree = copy_tree(tmp_path / "tree", indexed=False)
    env = {**os.environ, "PYTHONPATH": str(unpacked / "bundled" / "libs")}
    cli = [machine_python, "-P", "-m", "kernel_lsp", "check", "--root", str(tree)]
    text = subprocess.run(cli, capture_output=True, text=True, env=env, cwd=tree, timeout=300)
    report = subprocess.run([*cli, "--format", "json"], capture_output=True, text=True, env=env,
                            cwd=tree, timeout=300)
    assert text.returncode == 1 and report.returncode == 1, text.stderr + report.stderr
    assert len(json.loads(report.stdout)["findings"]) >= 10
    (tmp_path / "check.txt").write_text(text.stdout)
    (tmp_path / "check.json").write_text(report.stdout)
    ext = _built(build).parent
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "out/test/problem-matcher.test.js"],
        capture_output=True, text=True, cwd=ext, timeout=120,
        env={**os.environ, "KERNEL_LSP_CHECK_TEXT": str(tmp_path / "check.txt"),
             "KERNEL_LSP_CHECK_JSON": str(tmp_path / "check.json")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "reads every finding of a real kernel-lsp check run (check.txt)" in done.stdout


def test_build_without_node_says_what_to_install(tmp_path):
    script = _clean_copy(tmp_path)
    bash = shutil.which("bash") or "/bin/bash"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    for tool in ("dirname",):  # what the script needs before it looks for node
        found = shutil.which(tool) or shutil.which(tool, path="/usr/bin:/bin")
        if found:
            os.symlink(found, empty / tool)
    done = subprocess.run(
        [bash, str(script)], capture_output=True, text=True, timeout=60, env={"PATH": str(empty)}
    )
    assert done.returncode != 0
    assert "node was not found on PATH; install Node.js 20 or later" in done.stderr
    assert "Traceback" not in done.stderr


def test_build_without_a_python_with_pip_says_so(tmp_path):
    if shutil.which("node") is None:
        pytest.fail("node not found on PATH: building the VS Code extension needs Node.js 20+")
    script = _clean_copy(tmp_path)
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": str(tmp_path / "no-python")})
    assert done.returncode != 0
    assert f"{tmp_path / 'no-python'} was not found; set PYTHON to a Python 3 that has pip" in done.stderr
    # the check comes before anything is installed
    assert not (tmp_path / "vscode-extension" / "node_modules").exists()


async def test_readme_screenshot_shows_what_the_server_publishes(tmp_path):
    """The README's picture and caption: kernel/sys.c's real diagnostics, drawn where they are."""
    script = REPO / "scripts" / "render_diagnostics.py"
    spec = importlib.util.spec_from_file_location("render_diagnostics", script)
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    tree = copy_tree(tmp_path / "tree", indexed=False)
    server = [sys.executable, "-m", "kernel_lsp", "serve"]
    text, diagnostics, fixes = await render.collect(server, tree, "kernel/sys.c", 60)
    got = {(d.code, d.range.start.line + 1) for d in diagnostics}
    assert got == {("404_2", 28), ("020_2", 30), ("404_2", 42)}
    assert any(f.startswith("Include <linux/timekeeping.h>") for f in fixes)
    page = render.render_html("kernel/sys.c", text, diagnostics, fixes, 3)
    for d in diagnostics:
        symbol = d.data["symbol"]
        assert f'sq-error">{symbol}</span>' in page, symbol
    readme = (EXTENSION / "README.md").read_text()
    assert "images/diagnostics.png" in readme and (EXTENSION / "images" / "diagnostics.png").is_file()
    for symbol in ("ktime_get_real_ns", "kfree", "nr_processes", "404_2", "020_2"):
        assert symbol in readme, symbol
