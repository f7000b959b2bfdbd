"""The configuration a tree is indexed and checked under: where its ``CONFIG_*`` values come
from, in order: ``ROOT/.config``; ``include/generated/autoconf.h``; the architecture's defconfig
(``arch/x86/configs/x86_64_defconfig``) with the Kconfig defaults (``model/kconfig.py``); else
nothing is known about ``CONFIG_*`` (``Configuration.known`` is False).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from kernel_lsp.files import read_build_file
from kernel_lsp.model.kbuild import kbuild_facts
from kernel_lsp.model.kconfig import (
    debug_variants,
    optional_symbols,
    read_config_file,
    read_kconfig,
    resolve,
)
from kernel_lsp.parse.conditions import is_debug_variant
from kernel_lsp.parse.macroenv import Configuration

__all__ = ["Configuration", "config_inputs", "fingerprint", "load_configuration"]


def _autoconf(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = read_build_file(path)
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"#define CONFIG_([A-Za-z0-9_]+) (.*)$", line)
        if not m:
            continue
        name, value = m.group(1), m.group(2).strip()
        if name.endswith("_MODULE") and value == "1":
            out[name[:-7]] = "m"
        elif name not in out:
            out[name] = "y" if value == "1" else value.strip('"')
    return out


def config_inputs(root: Path, arch: str) -> list[Path]:
    """The files the configuration is derived from (their change invalidates a cached one)."""
    for candidate in (root / ".config", root / "include" / "generated" / "autoconf.h"):
        if candidate.is_file():
            return [candidate]
    defconfig = _defconfig(root, arch)
    return [defconfig] if defconfig is not None and (root / "Kconfig").is_file() else []


def fingerprint(root: Path, arch: str, kconfig_files: list[str] | None = None) -> str:
    """A digest of the inputs' paths under ``root``, sizes and mtimes (and of the Kconfig
    files read): a tree moved or copied with its times (``mv``, ``cp -a``, a cache restored
    elsewhere) keeps its configuration; with absolute paths, its first re-index derived the
    configuration and Kbuild's judgement again (Linux 6.1: 3.6 s instead of 0.8 s)."""
    h = hashlib.blake2b(digest_size=12)
    for p in config_inputs(root, arch) + [root / f for f in kconfig_files or ()]:
        try:
            st = p.stat()
        except OSError:
            continue
        h.update(f"{os.path.relpath(p, root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _defconfig(root: Path, arch: str) -> Path | None:
    configs = root / "arch" / arch / "configs"
    for name in (f"{arch}_64_defconfig", "defconfig", f"{arch}_defconfig"):
        if (configs / name).is_file():
            return configs / name
    return None


def load_configuration(root: Path, arch: str) -> tuple[Configuration, list[str]]:
    """The configuration of ``root`` and the Kconfig and Kbuild files read to derive it."""
    command_line, makefiles, generated = kbuild_facts(root, arch)
    dot = root / ".config"
    if dot.is_file():
        return Configuration(_clean(read_config_file(dot)), ".config", True,
                             command_line=command_line, generated=generated,
                             arch=arch), makefiles
    autoconf = root / "include" / "generated" / "autoconf.h"
    if autoconf.is_file():
        return Configuration(_autoconf(autoconf), "include/generated/autoconf.h", True,
                             command_line=command_line, generated=generated,
                             arch=arch), makefiles
    defconfig = _defconfig(root, arch)
    if defconfig is None or not (root / "Kconfig").is_file():
        return Configuration(command_line=command_line, generated=generated,
                             arch=arch), makefiles
    kc = read_kconfig(root, arch)
    explicit = read_config_file(defconfig)
    values = resolve(kc, explicit)
    optional = optional_symbols(kc, values, explicit)
    variants = debug_variants(kc, explicit, optional, is_debug_variant)
    source = f"{defconfig.relative_to(root)} + Kconfig defaults"
    return Configuration(values, source, True, frozenset(optional), command_line, generated,
                         frozenset(variants), arch), \
        kc.files + makefiles


def _clean(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v not in ("n", "")}
