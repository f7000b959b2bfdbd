"""The documents name only install commands that work and only `kernel-lsp` subcommands that exist.

kernel-lsp is not published on PyPI, npm or the VS Code Marketplace: `pip install kernel-lsp` and
its relatives cannot work. Every install command in the user documents must install a path (a
checkout, a wheel, a .vsix) or a package from PUBLISHED, a list of packages checked by hand on
their registries. Every `kernel-lsp SUBCOMMAND` (and `python -m kernel_lsp SUBCOMMAND`) in their
code must be one that `kernel_lsp.cli.build_parser()` knows.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from kernel_lsp.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), REPO / "vscode-extension" / "README.md"])

# The project itself is published nowhere.
UNPUBLISHED = {"kernel-lsp", "kernel-lsp.kernel-lsp"}
# Packages the documents install, per registry, each checked to exist there.
PUBLISHED = {
    "pypi": {"pipx", "uv"},  # pypi.org/project/pipx, pypi.org/project/uv
    "debian": {"linux-source-6.1", "neovim", "chromium", "pipx"},  # packages.debian.org/bookworm
    "npm": set(),
    "vscode": set(),  # the extension is installed from its .vsix only
}
# An install command: the tool, the registry it installs from, and its arguments (to the end of
# the command: a shell separator, a comment, a closing backtick or the end of the line).
INSTALLERS = [
    (r"(?:python3?\s+-m\s+)?(?:[\w./-]*/)?pip3?\s+install", "pypi"),
    (r"pipx\s+install", "pypi"),
    (r"uv\s+(?:tool\s+install|pip\s+install|add)", "pypi"),
    (r"uvx", "pypi"),
    (r"npm\s+(?:install|i|add)", "npm"),
    (r"(?:yarn|pnpm)\s+add", "npm"),
    (r"(?:sudo\s+)?apt(?:-get)?\s+install", "debian"),
    (r"code\s+--install-extension", "vscode"),
]
INSTALL = re.compile(r"(?<![\w-])(" + "|".join(f"(?:{p})" for p, _ in INSTALLERS)
                     + r")(?P<args>[^\n`;&|#)]*)")
# Options whose value is the next word (not a package).
VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "--python", "-p", "-t", "--target",
                 "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--suffix"}


def is_path(word: str) -> bool:
    return (word.startswith((".", "/", "~", "<", "$")) or "/" in word
            or word.endswith((".whl", ".vsix", ".tar.gz", ".zip")))


def package_name(word: str) -> str:
    """`Kernel_LSP[test]>=0.1` -> `kernel-lsp` (PEP 503 normalized, no extras or version)."""
    name = re.split(r"[\[<>=!~@;]", word, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower() if "." not in name else name.lower()


def installed_packages(args: str) -> list[str]:
    """The package arguments of an install command: not options, their values or paths."""
    words = [w.strip("'\"") for w in args.split()]
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in VALUE_OPTIONS
        elif word and not is_path(word):
            out.append(word)
    return out


def install_commands(text: str) -> list[tuple[str, str, str]]:
    """(command as written, registry, package) for each package an install command names."""
    found = []
    for m in INSTALL.finditer(text):
        reg = _registry_of(m.group(1))
        for word in installed_packages(m.group("args")):
            found.append((m.group(0).strip(), reg, word))
    return found


def _registry_of(tool: str) -> str:
    for pattern, reg in INSTALLERS:
        if re.fullmatch(pattern, tool):
            return reg
    raise AssertionError(f"no registry for {tool!r}")


def problems_with_installs(text: str) -> list[str]:
    """Code (comments included) may install paths and PUBLISHED packages; nothing may install kernel-lsp."""
    problems = []
    for where, strict in ((code_of(text, comments=True), True), (prose_of(text), False)):
        for command, reg, word in install_commands(where):
            name = package_name(word) if reg == "pypi" else word.lower()
            if name in UNPUBLISHED:
                problems.append(f"`{command}`: kernel-lsp is not published on {reg}; install it from a "
                                "checkout (pipx install <checkout>, uv tool install <checkout>)")
            elif strict and name not in PUBLISHED[reg]:
                problems.append(f"`{command}`: {word!r} is not in PUBLISHED[{reg!r}] (check that it "
                                "is published there, then add it)")
    return problems


# -- kernel-lsp subcommands ----------------------------------------------------------------------
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMENT = re.compile(r"(?:^|\s)(?:#|--)\s.*$", re.M)
MENTIONS = [
    re.compile(r"(?<![\w.-])kernel-lsp[ \t]+(-{0,2}[A-Za-z][\w-]*)(?:[ \t]+([A-Za-z][\w-]*))?"),
    re.compile(r"-m[ \t]+kernel_lsp[ \t]+(-{0,2}[A-Za-z][\w-]*)(?:[ \t]+([A-Za-z][\w-]*))?"),
    # array elements, as in Lua or JSON command lines (not JSON keys: `"type": "kernel-lsp", "x": 1`)
    re.compile(r"[\"']kernel[-_]lsp[\"'],[ \t]*[\"'](-{0,2}[A-Za-z][\w-]*)[\"'](?![ \t]*:)"
               r"(?:,[ \t]*[\"']([A-Za-z][\w-]*)[\"'](?![ \t]*:))?"),
]


def code_of(text: str, comments: bool = False) -> str:
    """The code of a Markdown text (fenced blocks and inline spans), without comments unless asked."""
    fenced = [m.group(1) for m in FENCE.finditer(text)]
    inline = [m.group(1) for m in INLINE.finditer(FENCE.sub("", text))]
    code = "\n".join(fenced + inline)
    return code if comments else COMMENT.sub("", code)


def prose_of(text: str) -> str:
    return INLINE.sub(" ", FENCE.sub("", text))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings}


def problems_with_subcommands(text: str, parser: argparse.ArgumentParser) -> list[str]:
    commands = _subcommands(parser)
    problems = []
    for pattern in MENTIONS:
        for m in pattern.finditer(code_of(text)):
            first, second = m.group(1), m.group(2)
            if first.startswith("-"):
                if first not in _options(parser):
                    problems.append(f"`{m.group(0)}`: kernel-lsp has no option {first}")
            elif first not in commands:
                problems.append(f"`{m.group(0)}`: {first!r} is not a kernel-lsp subcommand "
                                f"({', '.join(sorted(commands))})")
            else:
                nested = _subcommands(commands[first])
                if nested and second is not None and second not in nested:
                    problems.append(f"`{m.group(0)}`: {second!r} is not a `kernel-lsp {first}` "
                                    f"subcommand ({', '.join(sorted(nested))})")
    return problems


# -- the documents -------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_install_commands_name_only_published_packages_or_paths(doc: Path):
    assert problems_with_installs(doc.read_text()) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_kernel_lsp_subcommands_exist(doc: Path):
    assert problems_with_subcommands(doc.read_text(), build_parser()) == []


def test_the_documents_show_how_to_get_the_cli():
    """The ways that work are documented where users look for them."""
    readme = (REPO / "README.md").read_text()
    assert "pipx install" in readme and "uv tool install" in readme
    for doc in ("vscode.md", "neovim.md"):
        text = (REPO / "docs" / doc).read_text()
        assert "pipx install" in text, doc


# -- the checks themselves catch what they must --------------------------------------------------
BAD_INSTALLS = [
    "```sh\npip install kernel-lsp\n```",
    "Run `pip install kernel_lsp` first.",
    "Just pip install kernel-lsp and go.",
    "python3 -m pip install -U Kernel_LSP==0.1.0",
    ".venv/bin/pip install kernel-lsp[test]",
    "pipx install kernel-lsp",
    "uv tool install kernel-lsp",
    "uv pip install --python python3.12 kernel-lsp",
    "npm install -g kernel-lsp",
    "code --install-extension kernel-lsp.kernel-lsp",
    "`pip install some-unknown-package`",
]
GOOD_INSTALLS = [
    "pipx install .",
    "pipx install /path/to/kernel-lsp",
    "uv tool install <checkout>",
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/kernel-lsp check",
    "pip install -e '.[test]'",
    "pip install --python python3.12 ./kernel-lsp",
    "code --install-extension vscode-extension/kernel-lsp-linux-x64-0.1.0.vsix",
    "apt-get install -y linux-source-6.1 && tar xf x.tar.xz",
    "pip install pipx uv",
    "The pip install step (see above) ...",
]


@pytest.mark.parametrize("text", BAD_INSTALLS)
def test_bad_install_commands_are_caught(text: str):
    assert problems_with_installs(text), text


@pytest.mark.parametrize("text", GOOD_INSTALLS)
def test_working_install_commands_pass(text: str):
    assert problems_with_installs(text) == [], text


SUBCOMMAND_CASES = [
    ("`kernel-lsp serve`", []),
    ("```sh\nkernel-lsp check --root tree\nkernel-lsp bpf check prog.o\n```", []),
    ("```sh\n.venv/bin/kernel-lsp index tree\n```", []),
    ("Prose is not read: kernel-lsp verifies designs.", []),
    ('```lua\ncmd = { "kernel-lsp", "serve" }\n```', []),
    ("```lua\n-- kernel-lsp for Neovim 0.7\n```", []),
    ("`kernel-lsp.toml` and `.kernel-lsp/model.db` and `kernel-lsp: error`", []),
    ("`kernel-lsp --version`", []),
    ("`kernel-lsp lint fs/open.c`", ["'lint' is not a kernel-lsp subcommand"]),
    ("```sh\npython -m kernel_lsp serv\n```", ["'serv' is not a kernel-lsp subcommand"]),
    ("`kernel-lsp bpf verify x.o`", ["'verify' is not a `kernel-lsp bpf` subcommand"]),
    ('```lua\ncmd = { "kernel-lsp", "server" }\n```', ["'server' is not a kernel-lsp subcommand"]),
    ("`kernel-lsp --frobnicate`", ["no option --frobnicate"]),
    ('```json\n{ "type": "kernel-lsp", "command": "check" }\n```', []),
    ('```json\n"kernelLsp.server.path": ["kernel-lsp", "serve", "-v"]\n```', []),
    ('```json\n"kernelLsp.server.path": ["kernel-lsp", "sevre"]\n```', ["'sevre' is not"]),
]


@pytest.mark.parametrize(("text", "wanted"), SUBCOMMAND_CASES)
def test_subcommand_check(text: str, wanted: list[str]):
    got = problems_with_subcommands(text, build_parser())
    assert len(got) == len(wanted), got
    for problem, expected in zip(got, wanted, strict=True):
        assert expected in problem
