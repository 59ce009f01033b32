"""``codey buffer``, ``codey format`` and ``codey color``, and the Markdown rendering they do.

The Markdown libraries (mdformat for ``format``, rich for ``color``) are an
optional extra, ``codey[markdown]``; they are imported only inside the
functions that need them, and their absence is a :class:`MissingExtraError`
that says what to install.
"""

from __future__ import annotations

import functools
import os
import re
import sys

from codey._errors import CodeyError
from codey.cli._exit import fail
from codey.cli._io import hint_if_file_name, read_input, stdout
from codey.cli._status import Ticker, isatty

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Any, Callable, ClassVar, Optional, TextIO

    from markdown_it import MarkdownIt
    from mdformat.renderer import RenderContext, RenderTreeNode
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.markdown import Markdown, MarkdownElement

    from codey.cli._context import Run

__all__ = [
    "MissingExtraError",
    "Spinner",
    "color_markdown",
    "format_markdown",
    "run_buffer",
    "run_color",
    "run_format",
]

NO_INPUT = "No input supplied for {} (argument or stdin required)."

#: What to install for ``format`` and ``color``.
MARKDOWN_EXTRA = "pip install 'codey[markdown]'"

#: Where ``codey format`` wraps prose, as the original's prettier ``proseWrap: always`` did.
WRAP = 80


class MissingExtraError(CodeyError):
    """An optional dependency is not installed; the message says what to install."""


# -- format -------------------------------------------------------------------


def format_markdown(text: str, wrap: int = WRAP) -> str:
    """Rewrap Markdown prose to ``wrap`` columns, keeping code blocks, lists and tables.

    The result ends with exactly one newline.

    Raises:
        MissingExtraError: mdformat is not installed.
    """
    try:
        import mdformat  # noqa: F401  (the renderer below is mdformat's)
        from mdformat.plugins import PARSER_EXTENSIONS
    except ImportError:
        raise MissingExtraError(f"codey format needs mdformat: {MARKDOWN_EXTRA}") from None
    if "tables" in PARSER_EXTENSIONS:
        # mdformat-tables (or mdformat-gfm) understands GFM tables.
        result = _mdformat(text, wrap, tables=True)
    else:
        # Plain mdformat reads a table as a paragraph and would rewrap it into
        # one long line: format the text around the tables, keep them as written.
        parts = []
        for is_table, segment in _split_tables(text):
            if is_table:
                parts.append(segment.rstrip("\n") + "\n")
            elif segment.strip():
                parts.append(_mdformat(segment, wrap, tables=False))
        result = "\n".join(parts)
    return result.rstrip("\n") + "\n"


def _mdformat(text: str, wrap: int, tables: bool) -> str:
    """``mdformat.text(text, options={"wrap": wrap})``, keeping ordered-list numbers.

    mdformat writes ``1.`` for every item after the first (or, with its
    ``number`` option, renumbers from the first); neither keeps ``3. 4.`` and
    ``1. 1. 1.`` both as written. So the renderer is mdformat's with one
    plugin, :class:`_KeepNumbers`, run twice as ``mdformat.text`` does (the
    second pass settles escapes that depend on wrapping).
    """
    from markdown_it import MarkdownIt
    from mdformat.plugins import PARSER_EXTENSIONS
    from mdformat.renderer import MDRenderer

    mdit = MarkdownIt(renderer_cls=MDRenderer)  # type: ignore[arg-type]  # typed before the protocol
    mdit.options["mdformat"] = {"wrap": wrap}
    mdit.options["store_labels"] = True
    mdit.options["codeformatters"] = {}
    plugins: list[Any] = []
    if tables:
        plugins.append(PARSER_EXTENSIONS["tables"])
        PARSER_EXTENSIONS["tables"].update_mdit(mdit)
    plugins.append(_KeepNumbers)
    mdit.options["parser_extension"] = plugins
    return str(mdit.render(mdit.render(text)))


def _ordered_list(node: RenderTreeNode, context: RenderContext) -> str:
    """An ordered list with each item's number as the author wrote it.

    Each item's continuation lines are indented to its own marker's width, so
    that ``9.`` and ``10.`` both keep their content inside the item.
    """
    marker = node.markup or "."  # "." or ")", as written (adjacent lists differ)
    tight = all(
        grand_child.hidden
        for child in node.children
        for grand_child in child.children
        if grand_child.type == "paragraph"
    )
    start = node.attrs.get("start", 1)
    items = []
    for index, item in enumerate(node.children):
        number = item.info if item.info.isdigit() else str(int(str(start)) + index)
        prefix = f"{number}{marker}"
        indent = " " * (len(prefix) + 1)
        with context.indented(len(indent)):
            first, *rest = item.render(context).split("\n")
        lines = [f"{prefix} {first}" if first else prefix]
        lines.extend(f"{indent}{line}" if line else "" for line in rest)
        items.append("\n".join(lines))
    return ("\n" if tight else "\n\n").join(items)


class _KeepNumbers:
    """An mdformat parser extension (plugin) that renders ordered lists by :func:`_ordered_list`."""

    RENDERERS: ClassVar[Mapping[str, Callable[[RenderTreeNode, RenderContext], str]]] = {
        "ordered_list": _ordered_list
    }

    @staticmethod
    def update_mdit(mdit: MarkdownIt) -> None:
        """Nothing to change in the parser."""


_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_DELIMITER_RE = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _split_tables(text: str) -> list[tuple[bool, str]]:
    """Split Markdown into (is_table, text) segments; tables inside code fences don't count."""
    lines = text.splitlines(keepends=True)
    segments: list[tuple[bool, str]] = []
    current: list[str] = []
    fence: Optional[str] = None
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _FENCE_RE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
        elif match:
            fence = match.group(1)
        elif (
            "|" in line
            and index + 1 < len(lines)
            and "|" in lines[index + 1]
            and _TABLE_DELIMITER_RE.match(lines[index + 1])
        ):
            # A header row, then the delimiter row, then rows until a blank line.
            end = index + 2
            while end < len(lines) and lines[end].strip() and "|" in lines[end]:
                end += 1
            if current:
                segments.append((False, "".join(current)))
                current = []
            segments.append((True, "".join(lines[index:end])))
            index = end
            continue
        current.append(line)
        index += 1
    if current:
        segments.append((False, "".join(current)))
    return segments


# -- color --------------------------------------------------------------------


def color_markdown(text: str, file: TextIO, no_color: bool = False) -> None:
    """Render Markdown with terminal colours and highlighted code blocks to ``file``.

    Line breaks are kept: a line that fits the terminal is never re-wrapped (so
    the output of ``codey format`` keeps its shape), a longer one is wrapped.
    No line ends in whitespace. With ``no_color`` the Markdown is written as it
    is, plain text.

    Raises:
        MissingExtraError: rich is not installed.
    """
    if no_color:
        file.write(text.rstrip("\n") + "\n")
        return
    try:
        from rich.console import Console
    except ImportError:
        raise MissingExtraError(f"codey color needs rich: {MARKDOWN_EXTRA}") from None
    # rich decides on colours from the terminal and from FORCE_COLOR / NO_COLOR.
    console = Console(file=file, soft_wrap=False, emoji=False, highlight=False)
    markdown = _markdown_class()(text, code_theme="monokai", hyperlinks=False)
    for token in markdown.parsed:
        for child in token.children or ():
            if child.type == "softbreak":  # rich joins a paragraph's lines with spaces
                child.type = "hardbreak"
    with console.capture() as capture:
        console.print(markdown)
    for line in capture.get().splitlines():
        file.write(_strip_end(line) + "\n")
    file.flush()


#: Whitespace, and the colour codes around it, at the end of a line (rich pads
#: every line to the console's width).
_TRAILING_RE = re.compile(r"(?:\s|\x1b\[[0-9;]*m)+$")


def _strip_end(line: str) -> str:
    """``line`` without trailing whitespace; a style cut off with it is reset."""
    match = _TRAILING_RE.search(line)
    if match is None:
        return line
    cut = match.group()
    line = line[: match.start()]
    return line + "\x1b[0m" if "\x1b" in cut and line else line


@functools.cache
def _markdown_class() -> type[Markdown]:
    """rich's Markdown, with prefixes as wide as the Markdown's own.

    rich indents a list item by 3 (" • ") and a quote's text by 4, where the
    source has 2 ("- ", "> "), and pads code blocks by a column each side; a
    line that fitted would then be wrapped. These elements take only the room
    the source took.
    """
    from rich.markdown import BlockQuote, CodeBlock, ListItem, Markdown
    from rich.segment import Segment
    from rich.syntax import Syntax

    class _ListItem(ListItem):
        def render_bullet(self, console: Console, options: ConsoleOptions) -> RenderResult:
            return self._render(console, options, "•")

        def render_number(
            self, console: Console, options: ConsoleOptions, number: int, last_number: int
        ) -> RenderResult:
            return self._render(console, options, f"{number}.", "markdown.item.number")

        def _render(
            self,
            console: Console,
            options: ConsoleOptions,
            marker: str,
            style_name: str = "markdown.item.bullet",
        ) -> RenderResult:
            # As wide as "- " or "12. ": the source's own indent for the item.
            width = len(marker) + 1
            render_options = options.update(width=options.max_width - width)
            lines = console.render_lines(self.elements, render_options, style=self.style)
            style = console.get_style(style_name, default="none")
            first = True
            for line in lines:
                yield Segment(marker + " " if first else " " * width, style)
                yield from line
                yield Segment.line()
                first = False

    class _BlockQuote(BlockQuote):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            render_options = options.update(width=options.max_width - 2)
            lines = console.render_lines(self.elements, render_options, style=self.style)
            for line in lines:
                yield Segment("▌ ", self.style)
                yield from line
                yield Segment.line()

    class _CodeBlock(CodeBlock):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=0)

    class _Markdown(Markdown):
        elements: ClassVar[dict[str, type[MarkdownElement]]] = {
            **Markdown.elements,
            "list_item_open": _ListItem,
            "blockquote_open": _BlockQuote,
            "fence": _CodeBlock,
            "code_block": _CodeBlock,
        }

    return _Markdown


# -- buffer -------------------------------------------------------------------


class Spinner(Ticker):
    """A spinner on a terminal while the caller blocks (``codey buffer``).

    It draws only when ``stream`` is a terminal, from a daemon thread named
    ``codey-spinner``, and leaves the line clean when it stops.
    """

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    INTERVAL = 0.08

    def __init__(self, stream: TextIO, text: str = "Buffering input...") -> None:
        super().__init__()
        self._stream = stream
        self._text = text

    def __enter__(self) -> Spinner:
        if isatty(self._stream):
            self._start("codey-spinner")
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def _clear(self, drew: bool) -> None:
        if drew:
            self._write("\r\x1b[K")

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            self._write(f"\r{self.FRAMES[index % len(self.FRAMES)]} {self._text}")
            index += 1
            self._stop.wait(self.INTERVAL)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed terminal: nothing to draw on
            self._stop.set()


# -- the commands -------------------------------------------------------------


def run_buffer(run: Run) -> int:
    """``codey buffer``: all of standard input, then at once (a spinner meanwhile)."""
    hint_if_file_name(run.input, "buffer")
    if run.input is None and not isatty(sys.stdin):
        with Spinner(sys.stderr):
            text = read_input(None, run, "input")
    else:
        text = read_input(run.input, run, "input")
    if text is None:
        return fail(NO_INPUT.format("buffering"))
    out = stdout()
    out.write(text.strip() + "\n")
    out.flush()
    return 0


def run_format(run: Run) -> int:
    hint_if_file_name(run.input, "format")
    text = read_input(run.input, run, "input")
    if text is None:
        return fail(NO_INPUT.format("formatting"))
    out = stdout()
    out.write(format_markdown(text))
    out.flush()
    return 0


def run_color(run: Run) -> int:
    hint_if_file_name(run.input, "color")
    text = read_input(run.input, run, "input")
    if text is None:
        return fail(NO_INPUT.format("colorizing"))
    color_markdown(text, stdout(), no_color=bool(os.environ.get("NO_COLOR")))
    return 0
