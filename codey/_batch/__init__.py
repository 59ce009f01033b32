"""``codey.batch()``: many prompts answered into one output file."""

from codey._batch._provider._state import state_path
from codey._batch._records import BatchSummary
from codey._batch._streamed import DEFAULT_RETRIES, batch

__all__ = ["DEFAULT_RETRIES", "BatchSummary", "batch", "state_path"]
