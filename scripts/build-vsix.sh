#!/usr/bin/env bash
# Build the VS Code extension from a clean checkout: install, type-check, unit-test, bundle, package.
# Result: vscode-extension/kernel-lsp-<version>.vsix. Needs Node >= 20 and npm (and the npm registry,
# or a warm npm cache). Exits non-zero with a message naming the step that failed.
set -euo pipefail

ext_dir="$(cd "$(dirname "$0")/../vscode-extension" && pwd)"

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

cd "$ext_dir"
version="$(node -p 'require("./package.json").version')"
vsix="kernel-lsp-$version.vsix"
rm -rf dist out "$vsix"

if [ -f package-lock.json ]; then
    step "npm ci" npm ci --no-audit --no-fund
else
    step "npm install" npm install --no-audit --no-fund
fi
step "type check (tsc --noEmit)" npx --no-install tsc --noEmit -p .
step "unit tests (npm test)" npm test
step "bundle (esbuild)" npm run bundle
# --no-dependencies: the esbuild bundle already holds vscode-languageclient.
step "package (vsce)" npx --no-install vsce package --no-dependencies --out "$vsix"

[ -f "$vsix" ] || fail "vsce did not write $ext_dir/$vsix"
echo "build-vsix: wrote $ext_dir/$vsix ($(wc -c <"$vsix") bytes)" >&2
