"""A provider batch's state file, beside the output: the batches submitted and the lines
in each, so that a run that stopped (Ctrl-C, a crash, a reboot) collects the same
batches when resumed instead of paying for them twice.

It is rewritten whole (a temporary file, fsync, rename) at each step, and removed once
every batch's results are in the output. It holds no key: a resumed run reads the key
from the environment again.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional, Union

import attrs

from codey._errors import BatchOutputError

__all__ = ["STATE_SUFFIX", "StateFile", "Submission", "state_path"]

#: Beside the output while a provider batch is in flight.
STATE_SUFFIX = ".provider-batch.json"


def state_path(output: Union[str, os.PathLike[str]]) -> str:
    """``prompts.out.jsonl`` -> ``prompts.out.jsonl.provider-batch.json``."""
    return os.fspath(output) + STATE_SUFFIX


_FORMAT = "codey provider batch"
_VERSION = 1


@attrs.define
class Submission:
    """One batch at one provider: its lines by custom id, as ``[line id, model]``."""

    provider: str
    base_url: str
    #: Sent as the batch's metadata (OpenAI), to find it by.
    token: str
    lines: dict[str, list[str]]
    #: The provider's id once it said it created the batch.
    id: Optional[str] = None
    #: The create request went out: with no id, the provider may or may not have it.
    creating: bool = False
    #: When (Unix time) the create request went out.
    created_after: Optional[float] = None
    collected: bool = False


class StateFile:
    """The submissions of one output's provider batch."""

    def __init__(self, path: str, submissions: list[Submission]) -> None:
        self.path = path
        self.submissions = submissions

    def __repr__(self) -> str:
        return f"<StateFile {self.path} ({len(self.submissions)} batches)>"

    @classmethod
    def load(cls, path: str) -> Optional[StateFile]:
        """The state at ``path``; None when there is none."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        try:
            obj = json.loads(text)
            if obj.get("format") != _FORMAT or obj.get("version") != _VERSION:
                raise ValueError("not a codey provider batch state, or another version")
            submissions = [Submission(**entry) for entry in obj["batches"]]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BatchOutputError(
                f"{path}: not a provider batch state file that codey can read ({exc}); "
                "if no provider batch is in flight for this output, delete it",
                path=path,
            ) from None
        return cls(path, submissions)

    def save(self) -> None:
        """Write the state whole: a reader sees the old state or the new, never half."""
        import tempfile  # here: a streamed batch reads the state file, never writes one

        obj: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "batches": [attrs.asdict(submission) for submission in self.submissions],
        }
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, temporary = tempfile.mkstemp(prefix=".codey-state-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(obj, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        _sync_folder(folder)

    def remove(self) -> None:
        os.unlink(self.path)
        _sync_folder(os.path.dirname(os.path.abspath(self.path)))


def _sync_folder(folder: str) -> None:
    # The rename (or unlink) itself survives a crash only once the folder is synced.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder: its renames are durable as they are
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
