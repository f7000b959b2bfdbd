"""Paths on the command line as a compiler treats them: PATHS relative to the current directory
(or, when nothing is there, to the root), the root and why it was chosen, and printed paths
relative to the current directory (absolute with ``--absolute-paths``) so that ``path:line:col:``
works in terminals, Vim's quickfix (``:cfile``) and VS Code's ``$gcc`` problem matcher."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.config import find_root, root_kind


def path_arg(text: str) -> Path:
    """argparse type of a path argument: an empty one (``check "$FILE"`` with FILE unset) was
    the current directory, and the whole tree was checked (or fixed)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path (an unset variable?)")
    return Path(text)


def absolute(path: Path, base: Path) -> Path:
    """``path`` made absolute against ``base``, normalised lexically (symlinks kept)."""
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def locate(given: Path, root: Path | None, cwd: Path) -> Path:
    """The file or directory a PATH names: relative to ``cwd`` when that exists, else relative
    to ``root`` when that exists, else the ``cwd`` reading (which then does not exist)."""
    here = absolute(given, cwd)
    if given.is_absolute() or here.exists() or root is None:
        return here
    under = absolute(given, root)
    return under if under.exists() else here


@dataclass(frozen=True)
class RootChoice:
    root: Path
    why: str | None  # "kernel tree", "kernel-lsp.toml", ... ; None: nothing marks it as a root
    explicit: bool  # given with --root

    def message(self) -> str | None:
        """What to tell the user about the root (None for a kernel tree found by walking up)."""
        if self.why == "kernel tree" and not self.explicit:
            return None
        if self.explicit:
            return None if self.why else (f"root {self.root} (from --root) is not a kernel tree "
                                          "and holds no kernel-lsp.toml")
        if self.why:
            return f"root {self.root} (chosen for its {self.why})"
        return (f"no kernel tree (Kconfig or Kbuild beside include/linux/) and no kernel-lsp.toml "
                f"in {self.root} or above: using {self.root} as the root, with its model in "
                f"{self.root / '.kernel-lsp'} (choose the root with --root or a kernel-lsp.toml)")


def choose_root(root: Path | None, given: list[Path], cwd: Path) -> RootChoice:
    """The root from ``--root``, else the nearest kernel tree or settings file above the first
    PATH that exists relative to ``cwd`` (else above ``cwd``)."""
    if root is not None:
        top = absolute(root, cwd)
        return RootChoice(top, root_kind(top) if top.is_dir() else None, True)
    anchor = next((absolute(p, cwd) for p in given if absolute(p, cwd).exists()), cwd)
    top = find_root(anchor)
    return RootChoice(top, root_kind(top), False)


@dataclass(frozen=True)
class Shown:
    """How a root-relative path is printed: relative to ``cwd``, or absolute."""

    root: Path
    cwd: Path
    absolute: bool = False

    def __call__(self, rel: str) -> str:
        full = os.path.normpath(self.root / rel)
        return full if self.absolute else os.path.relpath(full, self.cwd)
