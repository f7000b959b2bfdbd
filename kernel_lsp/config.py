"""Settings: one typed, fully-defaulted schema shared by the CLI, the language server and VS Code.

Sources, in order of precedence for the include paths: ``kernel-lsp.toml`` (or
``[tool.kernel-lsp]`` in ``pyproject.toml``) at the root; ``compile_commands.json`` at the root;
otherwise auto-detection of a Linux-like tree. Bad settings never raise: they produce a message
and the default is kept. Every key is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from kernel_lsp.globs import glob_problem

DEFAULT_ARCH = "x86"
DEFAULT_EXCLUDE = (".git/**", ".kernel-lsp/**", "**/node_modules/**")
DEFAULT_EXTENSIONS = (".c", ".h")
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILE_BYTES_LIMIT = 1 << 30  # (a larger setting, 10**23, was an OverflowError in each read)
SEVERITIES = ("error", "warning", "note", "off")
INDEX_DIR = ".kernel-lsp"
TOML_NAME = "kernel-lsp.toml"
DEFAULT_LAYER_FILES = ("*.layers.yaml",)  # layer policy files, globs relative to the root

# Include directories of an unconfigured Linux-like tree, in the order Kbuild passes them
# (``{arch}`` is replaced by the architecture).
LINUX_INCLUDE_PATHS = (
    "include",
    "arch/{arch}/include",
    "include/uapi",
    "arch/{arch}/include/uapi",
    "arch/{arch}/include/generated",
    "arch/{arch}/include/generated/uapi",
    "include/generated",
    "include/generated/uapi",
)

_ARCH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")  # (a longer name: ENAMETOOLONG)


@dataclass(slots=True)
class Config:
    """All settings of one workspace root; every field has a usable default."""

    root: Path
    include_paths: list[str] = field(default_factory=list)
    arch: str = DEFAULT_ARCH
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    jobs: int | None = None
    severity: dict[str, str] = field(default_factory=dict)  # code -> error|warning|note|off
    linux_like: bool = False
    source: str = "default"  # where the include paths came from
    quote_paths: list[str] = field(default_factory=list)  # -iquote: quoted includes only
    forced_includes: list[str] = field(default_factory=list)  # -include FILE
    # layer policies (docs/design.md): ``[layers]`` of the settings, then the policy files
    layer_files: list[str] = field(default_factory=lambda: list(DEFAULT_LAYER_FILES))
    layers_table: tuple | None = None  # (table, origin) of ``[layers]``
    policies: list = field(default_factory=list)  # kernel_lsp.design.policy.Policy
    docs_url: str | None = None  # where docs/ is published: findings link to their code's section

    @property
    def index_dir(self) -> Path:
        return self.root / INDEX_DIR

    @property
    def db_path(self) -> Path:
        return self.index_dir / "model.db"



def is_linux_like(path: Path) -> bool:
    """Whether ``path`` is kernel-like (``Kconfig`` or ``Kbuild``, and ``include/linux/``)."""
    try:
        return ((path / "Kconfig").is_file() or (path / "Kbuild").is_file()) and (
            path / "include" / "linux"
        ).is_dir()
    except OSError:
        return False


def _has_settings(path: Path) -> bool:
    if (path / TOML_NAME).is_file():
        return True
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return "kernel-lsp" in tomllib.loads(pyproject.read_text("utf-8")).get("tool", {})
    except (OSError, ValueError):
        return False


def root_kind(path: Path) -> str | None:
    """Why ``path`` is a root: ``"kernel tree"``, the settings file it holds, or None."""
    if is_linux_like(path):
        return "kernel tree"
    if (path / TOML_NAME).is_file():
        return TOML_NAME
    if _has_settings(path):
        return "pyproject.toml [tool.kernel-lsp]"
    return None


def find_root(start: Path) -> Path:
    """The nearest ancestor of ``start`` that is kernel-like or holds settings, else ``start``."""
    start = Path(os.path.abspath(start))
    base = start if start.is_dir() else start.parent
    for candidate in (base, *base.parents):
        if is_linux_like(candidate) or _has_settings(candidate):
            return candidate
    return base


# ---------------------------------------------------------------- reading the sources


def _read_settings(root: Path, messages: list[str]) -> tuple[dict, str | None]:
    """The settings table from ``kernel-lsp.toml`` or ``pyproject.toml`` and its origin name."""
    for name, section in ((TOML_NAME, None), ("pyproject.toml", "tool.kernel-lsp")):
        path = root / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            messages.append(f"{name}: cannot read settings ({exc}); using defaults")
            continue
        if section:
            data = data.get("tool", {}).get("kernel-lsp")
            if data is None:
                continue
            if not isinstance(data, dict):
                messages.append(f"{name}: [{section}] must be a table; using defaults")
                continue
            return data, f"{name} [{section}]"
        return data, name
    return {}, None


def _norm_dir(root: Path, base: str, value: str) -> str:
    """``value`` (relative to ``base``) as a POSIX path relative to ``root`` when inside it."""
    joined = os.path.normpath(os.path.join(base, value))
    root_s = os.path.normpath(str(root))
    if joined == root_s:
        return "."
    if joined.startswith(root_s + os.sep):
        return Path(joined[len(root_s) + 1 :]).as_posix()
    return Path(joined).as_posix()


_CC_FLAG_RE = re.compile(
    r"""(?:^|\s)(-I|-isystem|-iquote|-include)\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+)"""
)


def _cc_flags(entry: Mapping) -> list[tuple[str, str]]:
    """(flag, value) pairs of the include-related options of one compile command."""
    args = entry.get("arguments")
    if isinstance(args, list):
        out: list[tuple[str, str]] = []
        it = iter(str(a) for a in args)
        for arg in it:
            for flag in ("-isystem", "-iquote", "-include", "-I"):
                if arg == flag:
                    out.append((flag, next(it, "")))
                    break
                if arg.startswith(flag) and flag in ("-I", "-isystem", "-iquote"):
                    out.append((flag, arg[len(flag) :]))
                    break
        return out
    command = entry.get("command")
    if not isinstance(command, str):
        return []
    return [(f, v.strip("\"'")) for f, v in _CC_FLAG_RE.findall(command)]


def read_compile_commands(root: Path, messages: list[str]) -> tuple[list, list, list] | None:
    """Include dirs, quote dirs and forced includes of ``compile_commands.json`` (None: absent)."""
    path = root / "compile_commands.json"
    if not path.is_file():
        return None
    try:
        entries = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        messages.append(f"compile_commands.json: cannot read ({exc}); ignored")
        return None
    if not isinstance(entries, list):
        messages.append("compile_commands.json: not a list of compile commands; ignored")
        return None
    dirs: dict[str, None] = {}
    quote: dict[str, None] = {}
    forced: dict[str, None] = {}
    seen: set[tuple] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        base = str(entry.get("directory") or root)
        for flag, value in _cc_flags(entry):
            if not value or (base, flag, value) in seen:
                continue
            seen.add((base, flag, value))
            target = {"-iquote": quote, "-include": forced}.get(flag, dirs)
            target[_norm_dir(root, base, value)] = None
    return list(dirs), list(quote), list(forced)


def linux_include_paths(arch: str) -> list[str]:
    """The auto-detected include paths of a Linux-like tree for ``arch``."""
    return [p.format(arch=arch) for p in LINUX_INCLUDE_PATHS]


# ---------------------------------------------------------------- validating settings


def _str_list(value, key: str, where: str, messages: list[str]) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    messages.append(f"{where}: '{key}' must be a list of strings; using the default")
    return None


def _positive_int(value, key: str, where: str, messages: list[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    messages.append(f"{where}: '{key}' must be a positive integer; using the default")
    return None


def _severities(value, where: str, messages: list[str]) -> dict[str, str]:
    if isinstance(value, list) and not value:
        return {}  # an empty table as some clients encode it (Neovim's ``{}``)
    if not isinstance(value, dict):
        messages.append(f"{where}: 'severity' must be a table of code = level; ignored")
        return {}
    out: dict[str, str] = {}
    for code_id, level in value.items():
        if isinstance(level, str) and level.lower() in SEVERITIES:
            out[str(code_id)] = level.lower()
        else:
            messages.append(
                f"{where}: severity of '{code_id}' must be one of {', '.join(SEVERITIES)}; ignored"
            )
    return out


def _extensions(value, where: str, messages: list[str]) -> tuple[str, ...] | None:
    items = _str_list(value, "extensions", where, messages)
    if items is None:
        return None
    if not items or any(not e.startswith(".") or len(e) < 2 for e in items):
        messages.append(f"{where}: 'extensions' must be names like \".c\"; using the default")
        return None
    return tuple(items)


_URL_RE = re.compile(r"^(https?|file)://[^\s]+$")


def _docs_url(value, where: str, messages: list[str]) -> str | None | bool:
    """The docs URL setting: an http(s) or file URL, "" or null for none; False when bad."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _URL_RE.match(value.strip()):
        return value.strip().rstrip("/")
    messages.append(f"{where}: 'docs_url' must be an http(s):// or file:// URL; ignored")
    return False


def apply_settings(config: Config, data: Mapping, where: str) -> list[str]:
    """Apply a settings table to ``config`` in place; return messages for bad or unknown keys.

    This is the one validator for every front end: the TOML files, and later the language
    server's ``initializationOptions`` / ``workspace/configuration`` (same key names).
    """
    messages: list[str] = []
    for key, value in data.items():
        key = str(key).replace("-", "_")
        if key == "include_paths":
            items = _str_list(value, key, where, messages)
            if items is not None:
                config.include_paths = [_norm_dir(config.root, str(config.root), v) for v in items]
                config.source = where
        elif key == "arch":
            if isinstance(value, str) and _ARCH_RE.match(value):
                config.arch = value
            else:
                messages.append(f"{where}: 'arch' must be a directory name under arch/; using x86")
        elif key == "exclude":
            items = _exclude_list(_str_list(value, key, where, messages), where, messages)
            if items is not None:
                config.exclude = [*DEFAULT_EXCLUDE, *(i for i in items if i not in DEFAULT_EXCLUDE)]
        elif key == "extensions":
            exts = _extensions(value, where, messages)
            if exts is not None:
                config.extensions = exts
        elif key in ("max_file_bytes", "jobs"):
            number = _positive_int(value, key, where, messages)
            if number is not None and key == "jobs":
                number = capped_jobs(number, where, messages)
            elif number is not None and number > MAX_FILE_BYTES_LIMIT:
                messages.append(f"{where}: 'max_file_bytes' {number} is more than 1 GiB (no "
                                f"source file is as large): using {MAX_FILE_BYTES_LIMIT}")
                number = MAX_FILE_BYTES_LIMIT
            if number is not None:
                setattr(config, key, number)
        elif key == "severity":
            config.severity.update(_severities(value, where, messages))
        elif key == "disable":
            for code_id in _str_list(value, key, where, messages) or ():
                config.severity[code_id] = "off"
        elif key == "layers":
            if isinstance(value, Mapping):
                config.layers_table = (value, where)
            else:
                messages.append(f"{where}: 'layers' must be a table of domains; ignored")
        elif key == "layer_files":
            items = _str_list(value, key, where, messages)
            if items is not None:
                config.layer_files = items
        elif key == "docs_url":
            url = _docs_url(value, where, messages)
            if url is not False:
                config.docs_url = url
        elif key == "linux_like":
            if isinstance(value, bool):
                config.linux_like = value
            else:
                messages.append(f"{where}: 'linux_like' must be true or false; ignored")
        else:
            messages.append(f"{where}: unknown setting '{key}' (ignored)")
    return messages


def load_config(root: Path, arch: str | None = None,
                overrides: tuple[tuple[Mapping, str], ...] = ()) -> tuple[Config, list[str]]:
    """Read every settings source at ``root``; return the config and messages (never raises).

    ``overrides``: (settings table, origin name) pairs applied after the file, in order (the
    language server's ``initializationOptions`` and ``workspace/configuration``).
    """
    root = Path(os.path.abspath(root))
    config = Config(root=root, linux_like=is_linux_like(root))
    messages: list[str] = []
    data, where = _read_settings(root, messages)
    if where:
        messages += apply_settings(config, data, where)
    for table, origin in overrides:
        messages += apply_settings(config, table, origin)
    if arch is not None:
        if _ARCH_RE.match(arch):
            config.arch = arch
        else:
            messages.append(f"--arch: '{arch}' is not a directory name; using {config.arch}")
    if config.source == "default":
        _default_include_paths(config, messages)
    else:  # explicit include paths may name the architecture as {arch}
        config.include_paths = [p.replace("{arch}", config.arch) for p in config.include_paths]
    if config.linux_like and not (root / "arch" / config.arch).is_dir():
        messages.append(f"arch '{config.arch}': no directory arch/{config.arch} under the root")
    messages += load_policies(config)
    return config, messages


def capped_jobs(jobs: int, where: str, messages: list[str]) -> int:
    """``jobs``, at most four worker processes per CPU (a setting of 100000 started as many
    processes), said when it is cut."""
    most = 4 * (os.cpu_count() or 1)
    if jobs <= most:
        return jobs
    messages.append(f"{where}: 'jobs' {jobs} is more than 4 per CPU ({os.cpu_count()} CPUs): "
                    f"using {most}")
    return most


def _exclude_list(items: list[str] | None, where: str, messages: list[str]
                  ) -> list[str] | None:
    """``items`` without the globs that are no globs (``[z-a]*.c``), each said."""
    if items is None:
        return None
    out = []
    for item in items:
        problem = glob_problem(item.strip().strip("/"))
        if problem is None:
            out.append(item)
        else:
            messages.append(f"{where}: 'exclude': '{item}' is no glob ({problem}); ignored")
    return out


def load_policies(config: Config, extra: tuple[Path, ...] = ()) -> list[str]:
    """Read the layer policies of ``config`` (``[layers]``, the ``layer_files`` globs and the
    ``extra`` policy files) into ``config.policies``; messages for the bad ones."""
    from kernel_lsp.design.policy import load_policy_file, policy_from_table

    messages: list[str] = []
    config.policies = []
    if config.layers_table is not None:
        table, where = config.layers_table
        policy, problems = policy_from_table(table, f"{where} [layers]")
        messages += problems
        if policy is not None:
            config.policies.append(policy)
    files: dict[Path, None] = {}
    for pattern in config.layer_files:
        if not PurePath(pattern).parts:  # ('.': pathlib's glob raised IndexError)
            messages.append(f"layer_files: '{pattern}' names no file; ignored")
            continue
        try:
            files.update((p, None) for p in sorted(config.root.glob(pattern)) if p.is_file())
        except (OSError, ValueError, NotImplementedError) as exc:  # (an absolute pattern)
            messages.append(f"layer_files: '{pattern}': {exc}; ignored")
    files.update((Path(os.path.abspath(p)), None) for p in extra)
    for path in files:
        rel = relative_posix(config.root, path) or str(path)
        policy, problems = load_policy_file(path, rel)
        messages += [f"{rel}:{p}" for p in problems]
        if policy is not None:
            config.policies.append(policy)
    return messages


def _default_include_paths(config: Config, messages: list[str]) -> None:
    """Include paths from ``compile_commands.json``, else the Linux-like layout."""
    found = read_compile_commands(config.root, messages)
    if found is not None and (found[0] or found[1]):
        config.include_paths, config.quote_paths, config.forced_includes = found
        config.source = "compile_commands.json"
    elif config.linux_like:
        config.include_paths = linux_include_paths(config.arch)
        config.source = f"auto-detected Linux-like tree (arch {config.arch})"
    else:
        config.include_paths = []
        config.source = "default"


def relative_posix(root: Path, path: Path) -> str | None:
    """``path`` as a POSIX path relative to ``root`` ("." for the root), None when outside it.

    The comparison is lexical first (so a symlink inside the root keeps its own name), then on
    the resolved paths (so ``/tmp`` vs ``/private/tmp`` style aliases still match).
    """
    for path_s, root_s in (
        (os.path.abspath(path), os.path.abspath(root)),
        (os.path.realpath(path), os.path.realpath(root)),
    ):
        if path_s == root_s:
            return "."
        prefix = root_s.rstrip(os.sep) + os.sep
        if path_s.startswith(prefix):
            return Path(path_s[len(prefix) :]).as_posix()
    return None
