"""kernel-lsp: design verification of kernel C code and eBPF bytecode."""

__version__ = "0.1.0"
