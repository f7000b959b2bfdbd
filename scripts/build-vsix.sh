#!/usr/bin/env bash
# Build the linux-x64 VS Code extension with the kernel-lsp server bundled: install, type-check,
# unit-test, bundle the client, install the server and its Python dependencies into
# vscode-extension/bundled/libs, package. Result: vscode-extension/kernel-lsp-linux-x64-<version>.vsix.
#
# Needs Node >= 20 with npm (the npm registry, or a warm npm cache) and a Python with pip ($PYTHON,
# default python3; PyPI or a pip cache/wheelhouse). The bundled libraries are the linux x86_64
# CPython wheels (manylinux2014: glibc 2.17+) of every version in BUNDLE_PYTHONS, merged into one
# directory: tree-sitter has one compiled module per CPython version, and everything else is
# pure Python or abi3. Exits non-zero with a message naming the step that failed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
ext_dir="$repo/vscode-extension"
PYTHON="${PYTHON:-python3}"
BUNDLE_PYTHONS="${BUNDLE_PYTHONS:-3.11 3.12 3.13 3.14}"
BUNDLE_PLATFORM="manylinux2014_x86_64"
VSCE_TARGET="linux-x64"

fail() {
    echo "build-vsix: $*" >&2
    exit 1
}

step() {
    local name="$1"
    shift
    echo "build-vsix: $name" >&2
    "$@" || fail "$name failed (exit $?)"
}

command -v node >/dev/null 2>&1 || fail "node was not found on PATH; install Node.js 20 or later"
command -v npm >/dev/null 2>&1 || fail "npm was not found on PATH; install Node.js 20 or later (it ships npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "Node.js 20 or later is needed; this is $(node --version)"
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON was not found; set PYTHON to a Python 3 that has pip"
case "$PYTHON" in  # the steps below run in other directories
    */*) PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")" ;;
esac
"$PYTHON" -m pip --version >/dev/null 2>&1 ||
    fail "$PYTHON has no pip; set PYTHON to a Python 3 that has pip (e.g. the python of a venv)"
[ -f "$repo/pyproject.toml" ] && [ -d "$repo/kernel_lsp" ] ||
    fail "$repo is not a kernel-lsp checkout (pyproject.toml and kernel_lsp/ are needed to bundle the server)"

cd "$ext_dir"
version="$(node -p 'require("./package.json").version')"
vsix="kernel-lsp-$VSCE_TARGET-$version.vsix"
work="$(mktemp -d "${TMPDIR:-/tmp}/build-vsix.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rm -rf dist out bundled "$vsix"

if [ -f package-lock.json ]; then
    step "npm ci" npm ci --no-audit --no-fund
else
    step "npm install" npm install --no-audit --no-fund
fi
step "type check (tsc --noEmit)" npx --no-install tsc --noEmit -p .
step "unit tests (npm test)" npm test
step "bundle (esbuild)" npm run bundle

# The server: a wheel of this checkout, then it and its dependencies as wheels for the target
# platform, one --target directory per CPython version (no scripts, no bytecode).
step "server wheel (pip wheel)" "$PYTHON" -m pip wheel -q --no-deps -w "$work/wheel" "$repo"
for py in $BUNDLE_PYTHONS; do
    step "server libraries for CPython $py (pip install --target)" \
        "$PYTHON" -m pip install -q --no-compile --no-warn-script-location --target "$work/py$py" \
        --platform "$BUNDLE_PLATFORM" --implementation cp --python-version "$py" --only-binary=:all: \
        "$work"/wheel/*.whl
done

# Merge the per-version trees into bundled/libs: the first version's tree, plus the files only
# the others have (their compiled modules). Any other difference means the versions resolved
# different packages, and one directory cannot serve them all: stop.
merge_libs() {
    "$PYTHON" - "$work" "$ext_dir/bundled" "$BUNDLE_PLATFORM" "$VSCE_TARGET" $BUNDLE_PYTHONS <<'PY'
import filecmp, json, shutil, sys
from email.parser import Parser
from pathlib import Path

work, out, platform, target, *versions = sys.argv[1:]
work, out = Path(work), Path(out)
libs = out / "libs"
shutil.copytree(work / f"py{versions[0]}", libs)
for version in versions[1:]:
    tree = work / f"py{version}"
    for src in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = src.relative_to(tree)
        dest = libs / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        elif not filecmp.cmp(src, dest, shallow=False) and not rel.parts[0].endswith(".dist-info"):
            sys.exit(f"CPython {version} needs a different {rel} than CPython {versions[0]}")
# Not needed to run the server: console scripts (their #! names the build's python) and pip
# (sqlite-utils requires it for its own `install` subcommand only).
shutil.rmtree(libs / "bin", ignore_errors=True)
for path in list(libs.glob("pip")) + list(libs.glob("pip-*.dist-info")):
    shutil.rmtree(path)
packages = {}
for meta in sorted(libs.glob("*.dist-info/METADATA")):
    fields = Parser().parsestr(meta.read_text(encoding="utf-8"), headersonly=True)
    packages[fields["Name"]] = fields["Version"]
bundle = {"pythons": versions, "implementation": "cpython", "platform": platform, "target": target,
          "server": packages["kernel-lsp"], "packages": packages}
(out / "bundle.json").write_text(json.dumps(bundle, indent=2) + "\n")
print(f"build-vsix: bundled {len(packages)} packages for CPython {', '.join(versions)}", file=sys.stderr)
PY
}
step "merge the server libraries into bundled/libs" merge_libs
[ -d bundled/libs/kernel_lsp/queries ] || fail "bundled/libs/kernel_lsp has no queries/ (the wheel must ship them)"

# --no-dependencies: the esbuild bundle already holds vscode-languageclient.
# --no-rewrite-relative-links: README images stay relative to the packaged README.
step "package (vsce)" npx --no-install vsce package --target "$VSCE_TARGET" --no-dependencies \
    --no-rewrite-relative-links --out "$vsix"

[ -f "$vsix" ] || fail "vsce did not write $ext_dir/$vsix"
echo "build-vsix: wrote $ext_dir/$vsix ($(wc -c <"$vsix") bytes)" >&2
