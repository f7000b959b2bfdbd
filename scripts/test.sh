#!/usr/bin/env bash
# Install the test dependencies in a fresh virtual environment and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
# pytest exits 5 when it collects nothing: that must fail CI, and it does (set -e).
.venv/bin/python -m pytest -q -p no:cacheprovider
