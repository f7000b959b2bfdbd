"""The macro environment ``#if`` conditions are evaluated in: a configuration's ``CONFIG_*``
values and the compiler's predefined macros (GCC 12 building a kernel object for the
configuration's architecture: x86-64 unless said otherwise).

Any other macro is unknown here (``None``): a condition on it keeps its code (see
``parse/conditions.py``). ``Configuration`` is where the values are; ``model/configuration.py``
derives them from a tree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

# Macros GCC 12 predefines for an x86-64 kernel object (-D__KERNEL__, not a module).
PREDEFINED: dict[str, int | None] = {
    "__KERNEL__": 1, "__linux__": 1, "__linux": 1, "__unix__": 1, "__x86_64__": 1,
    "__x86_64": 1, "__amd64__": 1, "__LP64__": 1, "_LP64": 1, "__GNUC__": 12,
    "__GNUC_MINOR__": 2, "__GNUC_PATCHLEVEL__": 0, "__STDC__": 1, "__STDC_VERSION__": 201112,
    "__STDC_HOSTED__": 0, "__CHAR_BIT__": 8, "__SIZEOF_INT__": 4, "__SIZEOF_LONG__": 8,
    "__SIZEOF_LONG_LONG__": 8, "__SIZEOF_POINTER__": 8, "__SIZEOF_SHORT__": 2,
    "__SIZEOF_INT128__": 16, "__ORDER_LITTLE_ENDIAN__": 1234, "__ORDER_BIG_ENDIAN__": 4321,
    "__BYTE_ORDER__": 1234, "__OPTIMIZE__": 1, "__ELF__": 1, "__GCC_ASM_FLAG_OUTPUTS__": 1,
    # not defined when compiling C for the kernel
    "__ASSEMBLY__": None, "__ASSEMBLER__": None, "MODULE": None, "__clang__": None,
    "__CHECKER__": None, "__cplusplus": None, "__i386__": None, "__i386": None,
    "__GENKSYMS__": None, "__DISABLE_EXPORTS": None, "__aarch64__": None, "__arm__": None,
    "__powerpc__": None, "__s390__": None, "__riscv": None, "__mips__": None,
    "__sparc__": None, "BUILD_VDSO": None, "BUILD_VDSO32": None,
    "__BPF_TRACING__": None, "__TARGET_ARCH_x86": None,
    # defined by the one .c file that instantiates a trace header's events, before including it
    # (there the file's own #define counts): absent in every other includer
    "CREATE_TRACE_POINTS": None,
    # ACPICA's user-space builds (iASL, acpiexec, acpidump...) pass these with -D; the kernel's
    # objects never see them, nor the ACPI_APPLICATION that include/acpi/platform/acenv.h
    # derives from them
    **dict.fromkeys((
        "ACPI_APPLICATION", "ACPI_ASL_COMPILER", "ACPI_EXEC_APP", "ACPI_BIN_APP",
        "ACPI_DUMP_APP", "ACPI_HELP_APP", "ACPI_NAMES_APP", "ACPI_SRC_APP", "ACPI_XTRACT_APP",
        "ACPI_EXAMPLE_APP", "ACPI_EFI_HELLO", "ACPI_LIBRARY")),
}

# What GCC 12 predefines for another architecture's kernel object instead of x86-64's macros
# (the other names of ``PREDEFINED`` keep their value). The architecture macros of the table are
# undefined for every architecture but their own; an architecture not in it has them all
# undefined and its own unknown.
_ARCH_MACROS: dict[str, dict[str, int]] = {
    "x86": {"__x86_64__": 1, "__x86_64": 1, "__amd64__": 1},
    "arm64": {"__aarch64__": 1, "__AARCH64EL__": 1, "__ARM_64BIT_STATE": 1},
    "arm": {"__arm__": 1},
    "powerpc": {"__powerpc__": 1},
    "s390": {"__s390__": 1},
    # -march=rv64ima...: the word size, and the M and A extensions every kernel build has
    "riscv": {"__riscv": 1, "__riscv_xlen": 64, "__riscv_muldiv": 1, "__riscv_atomic": 1},
    "mips": {"__mips__": 1},
    "sparc": {"__sparc__": 1},
}
# Kbuild's forced ``kconfig.h`` defines one of these (``Configuration._byte_order``)
_BYTE_ORDERS = frozenset({"__LITTLE_ENDIAN", "__BIG_ENDIAN"})
_ARCH_NAMES = frozenset(n for names in _ARCH_MACROS.values() for n in names)
# The names whose value the compiler gives a kernel object, whatever its file and directory
# (defined or not): not ``MODULE``, ``CREATE_TRACE_POINTS``, ``BUILD_VDSO``, ACPICA's
# application names, nor those some Makefile passes with -D (``__DISABLE_EXPORTS``), genksyms
# (``__GENKSYMS__``) or a BPF program's build (``__BPF_TRACING__``, ``__TARGET_ARCH_x86``).
DECIDED_NAMES = frozenset(n for n in PREDEFINED if n.startswith("__") and n not in (
    "__GENKSYMS__", "__DISABLE_EXPORTS", "__BPF_TRACING__", "__TARGET_ARCH_x86")) | _ARCH_NAMES


def predefined(arch: str) -> dict[str, int | None]:
    """The macros GCC predefines for a kernel object of ``arch`` (a directory under ``arch/``),
    None for those it leaves undefined."""
    if arch == "x86":
        return PREDEFINED
    return {**PREDEFINED, **dict.fromkeys(_ARCH_NAMES), **_ARCH_MACROS.get(arch, {})}


@dataclass
class Configuration:
    """Configuration symbol values (``FOO`` -> ``y``/``m``/number/string; off: absent) plus
    the predefined macros. ``known`` is False when nothing is known about ``CONFIG_*``."""

    values: dict[str, str] = field(default_factory=dict)
    source: str = "none"
    known: bool = False
    # off, but a user could turn them on (a defconfig derivation): their conditions are unknown,
    # so the code under them is kept (the files a default configuration does not build are
    # checked as their own options would have them), except debug and profiling variants
    optional: frozenset[str] = frozenset()
    # names some Kbuild file defines with -D (``ccflags-y := -DPCI``): never taken as undefined
    command_line: frozenset[str] = frozenset()
    # headers the Kbuild files name, ``%.xml.h`` for a pattern rule's (``kbuild.kbuild_facts``):
    # an include of one the tree lacks finds what the build writes (not read by extraction)
    generated: frozenset[str] = frozenset()
    # of ``optional``, the symbols only debugging options turn on (``kconfig.debug_variants``):
    # their conditions count as debug variants (``conditions.is_debug_variant``)
    variants: frozenset[str] = frozenset()
    # the architecture under ``arch/`` the objects are built for: the predefined macros
    arch: str = "x86"

    def __post_init__(self):
        self._predefined = predefined(self.arch)

    # -- cexpr.Macros ----------------------------------------------------------------------
    @property
    def derived(self) -> bool:
        """Whether the values are a guess (a defconfig and the Kconfig defaults, or nothing),
        not the user's ``.config``/``autoconf.h``."""
        return self.source not in (".config", "include/generated/autoconf.h")

    def _byte_order(self, name: str) -> int | None:
        """``__LITTLE_ENDIAN`` (1234) or ``__BIG_ENDIAN`` (4321) as ``include/linux/kconfig.h``,
        which Kbuild reads before every object (``-include``), defines it: the big one only
        with ``CONFIG_CPU_BIG_ENDIAN`` on (s390's and sparc's Kconfig always turn it on; left to
        the user, arm64's, it is off by default: little); 0 when the other is; None when
        nothing is known of ``CONFIG_*``."""
        if not self.known:
            return None
        big = self.values.get("CPU_BIG_ENDIAN") == "y"
        return (4321 if big else 0) if name == "__BIG_ENDIAN" else (0 if big else 1234)

    def defined(self, name: str) -> bool | None:
        if name in self._predefined:
            return self._predefined[name] is not None
        if name in _BYTE_ORDERS:
            order = self._byte_order(name)
            return None if order is None else bool(order)
        if name.startswith("CONFIG_") and self.known:
            sym = name[7:]
            if sym.endswith("_MODULE") and self.values.get(sym[:-7]) == "m":
                return True
            value = self.values.get(sym)
            if value is None and sym in self.optional:
                return None
            return value is not None and value != "m"
        return None

    def value(self, name: str) -> int | None:
        if name in self._predefined:
            return self._predefined[name] or 0
        if name in _BYTE_ORDERS:
            return self._byte_order(name)
        if name.startswith("CONFIG_") and self.known:
            d = self.defined(name)
            if d is None:
                return None
            if not d:
                return 0
            raw = self.values.get(name[7:], "y")
            if raw == "y":
                return 1
            try:
                return int(raw, 0)
            except ValueError:
                return None  # a string value
        if name in ("true",):
            return 1
        return None

    def call(self, name: str, args: list[str]) -> int | None:
        arg = args[0].strip() if args else ""
        if name in ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE") and (
                arg.startswith("CONFIG_") and self.known):
            value = self.values.get(arg[7:])
            if value is None and arg[7:] in self.optional:
                return None
            if name == "IS_BUILTIN":
                return int(value == "y")
            if name == "IS_MODULE":
                return int(value == "m")
            return int(value in ("y", "m"))
        if name in ("__has_attribute", "__has_builtin"):
            return 1
        if name == "KERNEL_VERSION" and len(args) == 3:
            try:
                a, b, c = (int(x, 0) for x in args)
            except ValueError:
                return None
            return (a << 16) + (b << 8) + min(c, 255)
        return None

    # -- persistence -------------------------------------------------------------------------
    def digest(self) -> str:
        """A short digest of the values (what extraction under this configuration depends on)."""
        text = json.dumps([sorted(self.values.items()), self.known, sorted(self.optional),
                           sorted(self.command_line)] + ([sorted(self.variants)] if self.variants
                                                          else [])
                          + ([self.arch] if self.arch != "x86" else []))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def to_json(self) -> str:
        return json.dumps({"values": self.values, "source": self.source, "known": self.known,
                           "optional": sorted(self.optional),
                           "command_line": sorted(self.command_line),
                           "generated": sorted(self.generated),
                           "variants": sorted(self.variants), "arch": self.arch})

    @classmethod
    def from_json(cls, text: str) -> Configuration:
        data = json.loads(text)
        return cls(dict(data["values"]), data["source"], bool(data["known"]),
                   frozenset(data.get("optional", ())), frozenset(data.get("command_line", ())),
                   frozenset(data.get("generated", ())), frozenset(data.get("variants", ())),
                   str(data.get("arch", "x86")))


