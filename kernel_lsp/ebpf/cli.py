"""Subcommands ``bpf check|run|dis`` (stub until written)."""


def register(sub) -> None:  # noqa: D103
    pass
