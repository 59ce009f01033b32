"""``codey.batch()``: many prompts answered into one output file."""

from codey._batch._streamed import DEFAULT_RETRIES, BatchSummary, batch, state_path

__all__ = ["DEFAULT_RETRIES", "BatchSummary", "batch", "state_path"]
