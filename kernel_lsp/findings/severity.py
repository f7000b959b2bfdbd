"""The severity a finding is reported at: the code table's default, or the user's override."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kernel_lsp.findings.codes import CODES
from kernel_lsp.findings.finding import Finding

OFF = "off"  # an override that hides a code


@dataclass(frozen=True, slots=True)
class Reported:
    """A finding with the severity it is reported at (after the configured overrides)."""

    finding: Finding
    severity: str  # "error" | "warning" | "note"


def effective(code_id: str, overrides: Mapping[str, str]) -> str | None:
    """The severity of ``code_id`` under ``overrides`` (None when it is turned off)."""
    level = overrides.get(code_id) or CODES[code_id].severity
    return None if level == OFF else level


def apply_severities(findings: Iterable[Finding], overrides: Mapping[str, str]) -> list[Reported]:
    """Drop the findings whose code is off, attach the others' severities; sorted, unique."""
    out: dict[Finding, Reported] = {}
    for finding in findings:
        level = effective(finding.code, overrides)
        if level is not None and finding not in out:
            out[finding] = Reported(finding, level)
    return sorted(out.values(), key=lambda r: r.finding.sort_key())
