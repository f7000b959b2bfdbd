"""Recall harness setup: a configured copy of the Linux tree, its compile commands, and GCC runs.

Everything lives in a work directory outside the repository (default ``/tmp/recall-gate``):

* ``linux/``: a real copy (``cp -a``, no hard links: ``make`` writes into the tree) of the
  read-only source tree, configured with ``make defconfig prepare`` (x86_64);
* ``commands.json``: the compile command of every C file a defconfig ``vmlinux`` compiles, taken
  from a dry run (``make -n -k V=1 vmlinux``): exactly the files and flags Kbuild uses;
* ``gcc-before/``: GCC's diagnostics of pristine files (the copy is always restored).

Each step is skipped when its product exists, so the setup is cached and idempotent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGES = ("gcc", "make", "flex", "bison", "bc", "libelf-dev", "libssl-dev")
# the compile command inside a Kbuild dry-run line: after the last trap, before objtool/fixdep
_CMD = re.compile(r"kill -s PIPE \$\$' PIPE; (gcc .*? -c -o \S+\.o \S+\.c)\s*(?:;|$)")


@dataclass(frozen=True)
class Tree:
    """The configured copy and what the harness knows about it."""

    work: Path
    source: Path  # the pristine, read-only tree (edits are restored from it)
    commands: dict[str, list[str]]  # unit (root-relative .c) -> GCC argv for -fsyntax-only

    @property
    def root(self) -> Path:
        return self.work / "linux"


def log(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def ensure_packages() -> None:
    """Install the Debian packages a kernel build needs, when some are missing."""
    missing = [p for p in DEBIAN_PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def copy_tree(source: Path, root: Path) -> None:
    """A real copy of ``source`` at ``root`` (atomic: copied beside it, then renamed)."""
    if root.is_dir():
        return
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"copying {source} to {root}")
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(partial)], check=True)
    shutil.rmtree(partial / ".kernel-lsp", ignore_errors=True)
    partial.rename(root)


def configure(root: Path) -> None:
    """``make defconfig prepare`` once (a marker file records success)."""
    marker = root / ".recall-prepared"
    if marker.exists():
        return
    jobs = str(os.cpu_count() or 1)
    log("make defconfig prepare")
    subprocess.run(["make", "-s", "ARCH=x86_64", "defconfig"], cwd=root, check=True)
    subprocess.run(["make", "-s", "ARCH=x86_64", f"-j{jobs}", "prepare"], cwd=root, check=True)
    marker.write_text("ok\n")


def syntax_argv(argv: list[str]) -> list[str]:
    """Kbuild's compile argv turned into ``-fsyntax-only`` with JSON diagnostics, no -Werror."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "-o":
            skip = True
        elif not (arg.startswith("-Wp,-MMD") or arg in ("-c", "-Werror")):
            out.append(arg)
    return [out[0], "-fsyntax-only", "-fdiagnostics-format=json", *out[1:]]


def dry_run_commands(root: Path, source: Path) -> dict[str, list[str]]:
    """unit -> argv of every kernel C file a defconfig ``vmlinux`` compiles (from ``make -n``)."""
    proc = subprocess.run(["make", "-n", "-k", "V=1", "ARCH=x86_64", "vmlinux"], cwd=root,
                          capture_output=True, text=True, errors="replace")
    commands: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        match = _CMD.search(line)
        if not match:
            continue
        argv = shlex.split(match.group(1))
        unit = os.path.normpath(argv[-1])
        # kernel objects only (host programs have no -D__KERNEL__), from the pristine sources
        if "-D__KERNEL__" in argv and "-nostdinc" in argv and (source / unit).is_file():
            commands[unit] = syntax_argv(argv)
    return commands


def load_commands(work: Path, root: Path, source: Path) -> dict[str, list[str]]:
    path = work / "commands.json"
    if path.exists():
        return json.loads(path.read_text())
    log("dry run of the defconfig build for the compile commands")
    commands = dry_run_commands(root, source)
    if not commands:
        raise SystemExit("recall: the dry run of `make vmlinux` listed no compile command")
    path.write_text(json.dumps(commands, sort_keys=True))
    log(f"{len(commands)} C files compiled by defconfig")
    return commands


def prepare(work: Path, source: Path) -> Tree:
    """The configured copy, ready for faults (every step cached)."""
    if not (source / "Makefile").is_file():
        raise SystemExit(f"recall: {source} is not a Linux source tree")
    work.mkdir(parents=True, exist_ok=True)
    ensure_packages()
    root = work / "linux"
    copy_tree(source, root)
    configure(root)
    return Tree(work, source, load_commands(work, root, source))


# ---------------------------------------------------------------- GCC


def run_gcc(tree: Tree, unit: str) -> list[dict]:
    """GCC's diagnostics for one unit, as GCC's JSON objects (``LC_ALL=C``: plain quotes)."""
    env = {**os.environ, "LC_ALL": "C"}
    proc = subprocess.run(tree.commands[unit], cwd=tree.root, capture_output=True, text=True,
                          errors="replace", env=env, timeout=300)
    start = proc.stderr.find("[")
    if start < 0:
        return []
    try:
        diags, _ = json.JSONDecoder().raw_decode(proc.stderr[start:])
    except json.JSONDecodeError:
        return [{"kind": "error", "message": "unparsable GCC output: " + proc.stderr[:200],
                 "locations": []}]
    return diags


def gcc_before(tree: Tree, unit: str) -> list[dict]:
    """GCC's diagnostics for a pristine unit (cached: the copy is always restored)."""
    cache = tree.work / "gcc-before"
    cache.mkdir(exist_ok=True)
    path = cache / (hashlib.sha1(unit.encode()).hexdigest() + ".json")
    if path.exists():
        return json.loads(path.read_text())
    diags = run_gcc(tree, unit)
    path.write_text(json.dumps(diags))
    return diags
