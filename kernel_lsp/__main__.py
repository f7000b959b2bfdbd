"""Entry point for ``python -m kernel_lsp``."""

from kernel_lsp.cli import main

raise SystemExit(main())
