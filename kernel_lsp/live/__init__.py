"""The live session: the model plus editor buffers as an in-memory overlay (no LSP types here)."""
