"""The parser's value types: each checks one option's text and says what is wrong.

Cheap to import, as the parser is: ``--schema``'s loads its modules only when used.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from codey._options import Option


def of_option(option: Option) -> Callable[[str], Any]:
    """The type of a request option's flag: its text as the table's check takes it."""

    def parse(text: str) -> Any:
        try:
            return option.from_text(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = option.name
    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _schema(text: str) -> object:
    """``--schema``: a JSON Schema file (``*.json``, or any file), else the concise form."""
    import os

    from codey._schema import to_schema

    if text.lower().endswith(".json") or os.path.isfile(text):
        import json

        try:
            with open(text, encoding="utf-8") as file:
                value = json.load(file)
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror}") from None
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError(f"{text} must hold a JSON Schema object")
    else:
        value = text
    try:
        return to_schema(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
