"""codey format and codey color: what they keep of the author's text."""

from __future__ import annotations

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
