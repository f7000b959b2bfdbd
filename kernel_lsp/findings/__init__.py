"""What every analysis produces and every consumer reads: ``Finding``, ``Fix``, ``Edit`` and the
one code table (C design codes and eBPF codes). Imports no other part of kernel-lsp."""

from kernel_lsp.findings.codes import CODES, Code, code, codes_of, severity_of
from kernel_lsp.findings.finding import Edit, Finding, Fix
from kernel_lsp.findings.severity import Reported, apply_severities, effective

__all__ = ["CODES", "Code", "Edit", "Finding", "Fix", "Reported", "apply_severities", "code",
           "codes_of", "effective", "severity_of"]
