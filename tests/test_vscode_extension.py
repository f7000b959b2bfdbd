"""The VS Code extension builds from a clean copy into a .vsix with the contracted manifest and bundle."""

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

EXTENSION = REPO / "vscode-extension"
SCRIPT = REPO / "scripts" / "build-vsix.sh"

# Settings and their contracted types and defaults (docs/vscode.md).
SETTINGS = {
    "kernelLsp.server.path": (["string", "array"], ""),
    "kernelLsp.server.python": ("string", ""),
    "kernelLsp.includePaths": ("array", []),
    "kernelLsp.arch": ("string", "x86"),
    "kernelLsp.exclude": ("array", []),
    "kernelLsp.severity": ("object", {}),
    "kernelLsp.disable": ("array", []),
    "kernelLsp.debounceMs": ("integer", 10),
    "kernelLsp.jobs": (["integer", "null"], None),
    "kernelLsp.maxFileBytes": ("integer", 4194304),
    "kernelLsp.trace.server": ("string", "off"),
}
CODES = ["020_2", "404_2", "405_2", "406_2", "502_2", "503_2", "504_2"]


def _clean_copy(dest: Path) -> Path:
    """Copy the extension sources and the build script as a clean checkout would have them."""
    ignore = shutil.ignore_patterns("node_modules", "dist", "out", "*.vsix")
    shutil.copytree(EXTENSION, dest / "vscode-extension", ignore=ignore)
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
    try:
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None, "scripts/build-vsix.sh took more than 300 s"
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return None, f"scripts/build-vsix.sh failed ({done.returncode}):\n{output}"
    version = json.loads((EXTENSION / "package.json").read_text())["version"]
    return root / "vscode-extension" / f"kernel-lsp-{version}.vsix", ""


def _built(build: tuple[Path | None, str]) -> Path:
    """The .vsix, or a test failure (in the test, not a setup error; never a skip: CI has Node 20 and npm)."""
    path, problem = build
    if path is None:
        pytest.fail(problem)
    return path


@pytest.mark.e2e
def test_vsix_is_a_zip_with_manifest_and_bundle(build):
    vsix = _built(build)
    assert vsix.is_file(), f"{vsix.name} was not written"
    assert zipfile.is_zipfile(vsix)
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        assert {"extension/package.json", "extension/dist/extension.js", "extension/LICENSE.txt"} <= names
        assert not [n for n in names if "/node_modules/" in n or "/src/" in n or n.endswith(".ts")]
        manifest = json.loads(archive.read("extension/package.json"))
        bundle = archive.read("extension/dist/extension.js").decode()
    assert manifest["name"] == "kernel-lsp" and manifest["publisher"] == "kernel-lsp"
    assert manifest["main"] == "./dist/extension.js"
    assert "onLanguage:c" in manifest["activationEvents"]
    # The bundle holds the extension and vscode-languageclient; only `vscode` stays external.
    assert "kernel-lsp.reindex" in bundle and "workspace/executeCommand" in bundle
    assert 'require("vscode")' in bundle
    assert 'require("vscode-languageclient' not in bundle


@pytest.mark.e2e
def test_vsix_contributes_settings_and_commands(build):
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
    severity = properties["kernelLsp.severity"]
    assert list(severity["properties"]) == CODES
    assert all(severity["properties"][c]["enum"] == ["error", "warning", "note", "off"] for c in CODES)
    commands = {c["command"]: c["title"] for c in contributes["commands"]}
    assert commands["kernelLsp.reindex"] == "Kernel LSP: Reindex workspace"
    assert commands["kernelLsp.restart"] == "Kernel LSP: Restart server"


@pytest.mark.e2e
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
