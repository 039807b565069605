"""Trace export (GET /traces/export): every trace matching the list's filters, streamed as
JSONL or CSV a keyset page at a time."""
