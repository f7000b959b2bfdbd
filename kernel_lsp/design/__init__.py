"""Design specifications beside the code: demand files and layer policies, their verification
against the model (the LMVM/LAMVs method's Algorithm 1), the model self-check and the reports.

Nothing here imports LSP types; the language server and the CLI consume it alike.
"""

DEMAND_SUFFIX = ".demand.yaml"
POLICY_SUFFIX = ".layers.yaml"


def is_demand_file(path: str) -> bool:
    return path.endswith(DEMAND_SUFFIX)


def is_policy_file(path: str) -> bool:
    return path.endswith(POLICY_SUFFIX)


def is_design_file(path: str) -> bool:
    """A demand file or a layer policy file (by name)."""
    return is_demand_file(path) or is_policy_file(path)
