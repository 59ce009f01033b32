"""codey format and codey color: what they keep of the author's text."""

from __future__ import annotations

import re

import pytest

from codey.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestFormatNumbers:
    """codey format keeps ordered-list numbers as written."""

    @pytest.fixture(autouse=True)
    def _mdformat(self) -> None:
        pytest.importorskip("mdformat")

    @pytest.mark.parametrize(
        "markdown",
        [
            "3. x\n4. y\n",
            "1. a\n1. b\n1. c\n",
            "1. one\n2. two\n3. three\n",
            "7) seven\n9) nine\n",
            "0. zero\n1. one\n",
        ],
    )
    def test_numbers_as_written(self, capsys: pytest.CaptureFixture[str], markdown: str) -> None:
        """A list starting anywhere, or numbered 1. 1. 1., comes out as it went in."""
        assert run(capsys, "format", markdown) == (0, markdown, "")

    def test_several_lists(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Each list keeps its own numbers; bullets and prose are untouched."""
        markdown = "Steps:\n\n3. x\n4. y\n\nThen:\n\n1. a\n1. b\n\n- q\n"
        assert run(capsys, "format", markdown) == (0, markdown, "")

    def test_wider_numbers_keep_their_content(self, capsys: pytest.CaptureFixture[str]) -> None:
        """From 9. to 10. the marker widens: the item's wrapped lines and nested
        blocks are indented to its own marker, so they stay inside the item."""
        long = " ".join(["word"] * 30)
        markdown = f"9. nine\n10. {long}\n\n    - nested\n"
        code, out, err = run(capsys, "format", markdown)
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == "9. nine"
        assert lines[2].startswith("10. word")
        assert lines[3].startswith("    word")
        assert "    - nested" in lines
        assert all(len(line) <= 80 for line in lines), out
        # Formatting is stable: the output formats to itself.
        assert run(capsys, "format", out) == (0, out, "")

    def test_nested_ordered_list(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A nested list's numbers are kept too."""
        markdown = "2. outer\n   1. inner\n   3. inner\n3. outer\n"
        assert run(capsys, "format", markdown) == (0, markdown, "")


ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")

PROSE = (
    "Streaming answers arrive a piece at a time, and a careful client shows each piece "
    "as soon as it comes, without waiting for the whole answer to be ready. "
)
FORMATTED_SOURCE = f"""\
# Streaming

{PROSE * 3}

- {PROSE * 2}
- short item
  - {PROSE}

1. {PROSE}
2. two

> {PROSE * 2}

```python
print("a code line that is long but still shorter than eighty columns......")
```
"""


def plain(text: str) -> str:
    return ANSI_RE.sub("", text)


class TestColorLayout:
    """codey color keeps the author's line breaks and adds no trailing spaces."""

    @pytest.fixture(autouse=True)
    def _forced(self, monkeypatch: pytest.MonkeyPatch) -> None:
        pytest.importorskip("rich")
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.delenv("NO_COLOR", raising=False)

    def color(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        text: str,
        columns: int,
    ) -> str:
        monkeypatch.setenv("COLUMNS", str(columns))
        code, out, err = run(capsys, "color", text)
        assert (code, err) == (0, "")
        return out

    def test_no_trailing_whitespace(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No line ends in whitespace, coloured or not: not prose, lists, quotes,
        code blocks, headings, rules or tables."""
        out = self.color(
            capsys, monkeypatch, FORMATTED_SOURCE + "\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", 80
        )
        assert "\x1b[" in out
        for line in out.splitlines():
            assert line == line.rstrip(), repr(line)
            assert plain(line) == plain(line).rstrip(), repr(line)

    def test_short_lines_are_not_joined(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A paragraph already broken into short lines keeps its breaks."""
        out = self.color(capsys, monkeypatch, "one two\nthree four\nfive\n", 40)
        assert plain(out).splitlines() == ["one two", "three four", "five"]

    def test_format_then_color_keeps_the_lines(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """codey format | codey color, at 80 columns: every formatted line is one
        rendered line, words unchanged (only the list and quote markers differ)."""
        pytest.importorskip("mdformat")
        code, formatted, _ = run(capsys, "format", FORMATTED_SOURCE)
        assert code == 0
        assert max(len(line) for line in formatted.splitlines()) > 76  # lines that nearly fill
        out = self.color(capsys, monkeypatch, formatted, 80)
        source_lines = [
            line.lstrip(" -0123456789.>#").strip("`")
            for line in formatted.splitlines()
            if line.strip() and not line.startswith("```")
        ]
        rendered = [
            line.lstrip(" •0123456789.▌").strip()
            for line in plain(out).splitlines()
            if line.strip()
        ]
        assert rendered == [line.strip() for line in source_lines]
        assert all(len(line) <= 80 for line in plain(out).splitlines())

    def test_long_lines_still_wrap(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A line longer than the terminal is wrapped at words to fit."""
        out = self.color(capsys, monkeypatch, PROSE + "\n\n- " + PROSE + "\n", 40)
        lines = plain(out).splitlines()
        assert len(lines) > 4
        assert all(len(line) <= 40 for line in lines), lines
        assert " ".join(" ".join(lines).replace("•", "").split()) == " ".join(
            (PROSE + PROSE).split()
        )
