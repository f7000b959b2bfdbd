"""The findings façade (``workspace``): the stored model with editor buffers as an in-memory
overlay, the checks' inputs built eagerly or lazily, incremental re-extraction (no LSP types)."""
