"""A batch's files: the input (JSONL or CSV) as :class:`BatchLine` values, and the output
JSONL file, which is the batch's state (what is done, appended crash-safely).
"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, Union

import attrs

from codey._errors import BatchInputError, BatchOutputError
from codey._options import LINE, named
from codey._types import Message

__all__ = [
    "LINE_OPTIONS",
    "BatchInput",
    "BatchLine",
    "OutputFile",
    "coerce",
    "lines_to_run",
    "read_batch_input",
    "read_batch_output",
]

#: The ``stream()`` keywords a line may set for itself (its ``options``).
LINE_OPTIONS = frozenset(named(LINE))
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _prompt(value: object) -> Union[str, tuple[Message, ...]]:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("the prompt is empty")
        return value
    if isinstance(value, (list, tuple)):
        from codey._request import messages  # the one check of a message list

        return messages(value, None)
    raise TypeError(f"a prompt must be a str or a list of messages, not {type(value).__name__}")


def _line_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"an id must be a string or an integer, not {value!r}")
    text = str(value)
    if not text:
        raise ValueError("an id must not be empty")
    return text


def _options(value: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(value)
    unknown = sorted(set(options) - LINE_OPTIONS)
    if unknown:
        raise ValueError(
            f"unknown option {', '.join(map(repr, unknown))}; a line may set "
            + ", ".join(sorted(LINE_OPTIONS))
        )
    return options


@attrs.frozen
class BatchLine:
    """One prompt of a batch: its ``id``, the ``prompt`` (a str, or messages), and,
    for this line alone, a ``model`` and ``options`` (``stream()`` keywords such as
    ``max_tokens``) over the batch's own."""

    id: str = attrs.field(converter=_line_id)
    prompt: Union[str, tuple[Message, ...]] = attrs.field(converter=_prompt)
    model: Optional[str] = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    options: dict[str, Any] = attrs.field(factory=dict, converter=_options, hash=False)


def _from_object(obj: Mapping[str, Any], number: int, column: Optional[str]) -> BatchLine:
    key = column or ("prompt" if "prompt" in obj else "messages")
    if key not in obj:
        raise ValueError(
            f"no {column!r} key" if column else 'no "prompt" or "messages" key (or choose one)'
        )
    stray = sorted(LINE_OPTIONS & set(obj))
    if stray:
        raise ValueError(f'put {", ".join(map(repr, stray))} under "options"')
    options = obj.get("options") or {}
    if not isinstance(options, Mapping):
        raise TypeError('"options" must be an object')
    return BatchLine(
        obj["id"] if obj.get("id") is not None else number,
        obj[key],
        model=obj.get("model") or None,
        options=options,
    )


def coerce(item: object, number: int, column: Optional[str] = None) -> BatchLine:
    """An item of ``batch()``'s lines (a ``BatchLine``, a str, a message list or a dict)
    as a ``BatchLine``; ``number`` (1-based) is its id when it has none."""
    if isinstance(item, BatchLine):
        return item
    if isinstance(item, Mapping):
        return _from_object(item, number, column)
    return BatchLine(number, item)


def lines_to_run(
    lines: Iterable[Any], done: set[str], skipped: Callable[[], None]
) -> Iterator[tuple[int, BatchLine]]:
    """(1-based number, line) of each line whose id is not ``done``, read as it goes;
    ``skipped()`` for each one that is. An id seen twice is a BatchInputError."""
    seen: set[str] = set()
    for number, item in enumerate(lines, 1):
        line = coerce(item, number)
        if line.id in seen:
            raise _duplicate(line.id, number)
        seen.add(line.id)
        if line.id in done:
            skipped()
        else:
            yield number, line


def _duplicate(line_id: str, number: int) -> BatchInputError:
    return BatchInputError(
        f"the id {line_id!r} appears twice (again at line {number}): every line needs its own id",
        line=number,
    )


class BatchInput:
    """The lines of an input file, read lazily each time it is iterated (so twice: once
    to check every line and id before any request, once to run them)."""

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        column: Optional[str] = None,
        name: Optional[str] = None,
    ) -> None:
        self.path = os.fspath(path)
        self.column = column
        #: What error messages call the input (``standard input`` for a spooled copy).
        self.name = name or self.path
        self.format = _detect(self.path)

    def __repr__(self) -> str:
        return f"<BatchInput {self.format} {self.name!r}>"

    def __iter__(self) -> Iterator[BatchLine]:
        if self.format == "jsonl":
            return self._jsonl()
        return self._csv()

    def _error(self, number: int, exc: object) -> BatchInputError:
        where = "line" if self.format == "jsonl" else "row"
        return BatchInputError(f"{self.name}: {where} {number}: {exc}", path=self.path, line=number)

    def _jsonl(self) -> Iterator[BatchLine]:
        with open(self.path, encoding="utf-8-sig") as lines:
            for number, text in enumerate(lines, 1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    raise self._error(number, f"not JSON: {exc}") from None
                try:
                    yield coerce(obj, number, self.column)
                except (ValueError, TypeError) as exc:
                    raise self._error(number, exc) from None

    def _csv(self) -> Iterator[BatchLine]:
        delimiter = _CSV_SUFFIXES.get(os.path.splitext(self.path)[1].lower(), ",")
        with open(self.path, encoding="utf-8-sig", newline="") as rows:
            reader = csv.DictReader(rows, delimiter=delimiter)
            column = _prompt_column(self.name, reader.fieldnames or (), self.column)
            for number, row in enumerate(reader, 1):
                try:
                    yield BatchLine(
                        row.get("id") or number,
                        row.get(column) or "",
                        model=row.get("model") or None,
                    )
                except (ValueError, TypeError) as exc:
                    raise self._error(number, exc) from None


def _prompt_column(path: str, names: Sequence[str], column: Optional[str]) -> str:
    if column is not None:
        if column not in names:
            raise BatchInputError(
                f"{path}: no column {column!r}; the columns are {', '.join(names)}", path=path
            )
        return column
    if "prompt" in names:
        return "prompt"
    others = [name for name in names if name not in ("id", "model")]
    if len(others) == 1:
        return others[0]
    raise BatchInputError(
        f"{path}: which column holds the prompts? Choose one of {', '.join(names)} "
        "(column=, or --column)",
        path=path,
    )


def _detect(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    if suffix in _CSV_SUFFIXES:
        return "csv"
    with open(path, "rb") as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if start[:1] in (b"{", b"[", b'"') else "csv"


def read_batch_input(
    path: Union[str, os.PathLike[str]], column: Optional[str] = None
) -> BatchInput:
    """The lines of a JSONL or CSV file (by its suffix, else by its first character).

    JSONL: each non-blank line is a prompt (a JSON string), a message list, or an
    object with ``prompt`` or ``messages`` (or the key ``column`` names), and
    optionally ``id``, ``model`` and ``options``; other keys are ignored. CSV: a
    header row; the prompt is the ``column`` column, else ``prompt``, else the only
    column besides ``id`` and ``model``, which are read too. A line without an id
    gets its 1-based line number (a CSV row, its number after the header).
    """
    return BatchInput(path, column)


def dumps(record: Mapping[str, Any]) -> bytes:
    """An output record as one line of compact JSON (non-ASCII kept as UTF-8)."""
    return (_encoder.encode(record) + "\n").encode("utf-8")


def _records(path: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(line number, end offset, record) of each complete line; a torn last line is left out."""
    offset = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                return  # cut short by a kill mid-write: as if never written
            offset += len(raw)
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if not isinstance(record, dict) or "id" not in record:
                raise BatchOutputError(
                    f"{path}: line {number} is not a batch record: is this the output of a batch?",
                    path=path,
                    line=number,
                )
            yield number, offset, record


def is_success(record: Mapping[str, Any]) -> bool:
    return "error" not in record and "text" in record


def read_batch_output(path: Union[str, os.PathLike[str]]) -> dict[str, dict[str, Any]]:
    """The state of a batch's output file: each id's last record (a success is never
    followed by another). A torn last line, from a kill mid-write, is ignored."""
    state: dict[str, dict[str, Any]] = {}
    for _, _, record in _records(os.fspath(path)):
        state[str(record["id"])] = record
    return state


class OutputFile:
    """The output file, open for appending and locked, with the ids already done.

    Records are written whole with one ``os.write`` each batch of them, then
    ``fsync``: a crash loses only what was not yet handed over, and a torn last
    line (a kill in the middle of a write) is cut off when the file is opened again.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise BatchOutputError(
                    f"{self.path}: not a regular file; a batch's output must be one "
                    "(the next run resumes from it)",
                    path=self.path,
                )
            _lock(self._fd, self.path)
            self.done: set[str] = set()
            end = 0
            for _, offset, record in _records(self.path):
                end = offset
                if is_success(record):
                    self.done.add(str(record["id"]))
            if os.fstat(self._fd).st_size > end:
                os.ftruncate(self._fd, end)
                os.fsync(self._fd)
        except BaseException:
            os.close(self._fd)
            raise

    def write(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records, each one whole line, and fsync."""
        data = memoryview(b"".join(dumps(record) for record in records))
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)  # the lock goes with it


def _lock(fd: int, path: str) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one batch per file is up to the user
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BatchOutputError(
            f"{path}: another batch is writing to this file", path=path
        ) from None
