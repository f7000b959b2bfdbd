"""Subcommands ``index`` and ``check`` (owned by the batch helper; stub until written)."""


def register(sub) -> None:  # noqa: D103
    pass
