"""The documentation's code: every Python example in README.rst and docs/ at least compiles.

CI also builds the site with warnings as errors and runs every ``testcode``
example of docs/ against the fake provider (``sphinx-build -b doctest``).
"""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.helpers import ROOT

BLOCK = re.compile(
    r"^\.\. (?:code-block:: python|testcode::)\n((?:[ \t]*:[\w-]+:.*\n)*)\n((?:(?:    .*)?\n)+)",
    re.M,
)
PAGES = [ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst"))]


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((page.name, line, textwrap.dedent(match.group(2))))
    return found


def test_the_pages_have_examples() -> None:
    pages = {page for page, _, _ in _blocks()}
    assert {"README.rst", "library.rst", "tools.rst", "testing.rst"} <= pages


@pytest.mark.parametrize(("page", "line", "code"), _blocks(), ids=lambda value: str(value)[:40])
def test_example_compiles(page: str, line: int, code: str) -> None:
    compile(code, f"{page}:{line}", "exec")


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   ([\w-]+)$", index, re.M))
    pages = {page.stem for page in (ROOT / "docs").glob("*.rst")} - {"index"}
    assert pages == listed
