"""Generate ``man/codey.1`` from ``codey.cli.build_parser()`` with argparse-manpage.

::

    python man/generate.py            # rewrite man/codey.1 if the parser changed
    python man/generate.py --check    # exit 1 if man/codey.1 is out of date (CI)
    python man/generate.py -o FILE    # write the page somewhere else

The options, commands and their help come from the parser; the sections
argparse cannot describe (chat logs, environment, exit status, examples) are
below, in roff. The page's date changes only when its text does, so running
this twice never makes a diff.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "man" / "codey.1"

SHORT_DESCRIPTION = "LLMs on the command line"

CHAT_LOGS = r"""
A chat log is a Markdown file holding a conversation.
\fBcodey prompt\fR reads one from INPUT or standard input, so a saved
conversation piped back in is continued, and \fBcodey save\fR appends to one:
.PP
.RS 4
.nf
+++
model = "o3"
+++

what is the capital of france?

# === ASSISTANT ===

The capital of France is Paris.

# === USER ===

what about the UK?
.fi
.RE
.PP
Optional front matter comes first: TOML between two \fB+++\fR lines, or YAML
between two \fB\-\-\-\fR lines (YAML needs PyYAML:
\fBpip install 'codey[yaml]'\fR).
Its keys, all optional and all strings, are those of the original tool:
.TP
.B model
the model to use, unless \fB\-\-model\fR is given.
.TP
.B delimiterPrefix
what comes before a delimiter's name (default: two newlines).
.TP
.B delimiterSuffix
what comes after it (default: two newlines).
.TP
.B userDelimiter
default: \fB# === USER ===\fR
.TP
.B assistantDelimiter
default: \fB# === ASSISTANT ===\fR
.TP
.B systemDelimiter
default: \fB# === SYSTEM ===\fR
.PP
Other keys are ignored.
Front matter that cannot be read (invalid TOML or YAML, a value that is not a
string, no closing line) is an error that names the line (exit status 3).
.PP
A delimiter is prefix, name and suffix.
Text before the first delimiter is a user message; a system delimiter opens a
system message.
Where a section begins (the start of the text, after the front matter, or
right after another delimiter, blank lines allowed) a delimiter needs no
prefix; at the very end of the text it needs no suffix.
Sections holding only whitespace are dropped, messages are stripped of
surrounding whitespace, and CRLF files read like LF files.
Lines of the form \fB<!\-\- codey: ... \-\->\fR are notes for the reader,
not sent to the model: \fBcodey save\fR leaves one where an answer was
interrupted.
"""

ENVIRONMENT = r"""
.TP
.B OPENAI_API_KEY
the key for OpenAI models (gpt\-*, o1*, o3*, o4*, chatgpt\-*).
.TP
.B XAI_API_KEY
the key for xAI models (grok\-*).
.TP
.B ANTHROPIC_API_KEY
the key for Anthropic models (claude\-*).
.TP
.B OPENAI_BASE_URL
the OpenAI endpoint (default: https://api.openai.com/v1), for a proxy or a
compatible server.
.TP
.B XAI_BASE_URL
the xAI endpoint (default: https://api.x.ai/v1).
.TP
.B ANTHROPIC_BASE_URL
the Anthropic endpoint (default: https://api.anthropic.com).
.TP
.B CODEY_MODEL
the model when neither \fB\-\-model\fR nor the chat log names one
(default: grok\-3).
A model is a known name (see \fBcodey models\fR) or \fIPROVIDER\fR:\fIMODEL\fR,
such as openai:my\-finetune.
.TP
.B NO_COLOR
when set and not empty, \fBcodey color\fR writes plain text.
.TP
.B CODEY_DEBUG
when set to 1, an error also prints its traceback.
.TP
.B HTTPS_PROXY\fR, \fBREQUESTS_CA_BUNDLE\fR, \fBNO_PROXY
are honoured as by Python requests.
"""

EXIT_STATUS = r"""
Every failure prints one line on standard error, and the exit status says what
kind of failure it was, so that a script can retry only what is worth
retrying.
.TP
.B 0
success.
.TP
.B 1
any other error: no input, an unwritable file, a missing optional package.
.TP
.B 2
a usage error: an unknown option or a bad value.
.TP
.B 3
configuration or authentication: a missing API key, an unknown model, invalid
front matter, HTTP 401, 403, 400, 404, 413 or 422.
.TP
.B 4
the provider is busy or failing, after retries and before any text arrived:
HTTP 408, 409, 429, 5xx, 529, or an overloaded, API or rate\-limit error event.
Worth retrying later.
.TP
.B 5
a timeout: no response within the connect timeout, or silence longer than
\fB\-\-chunk\-timeout\fR once the answer had begun.
.TP
.B 6
the stream broke: it ended before the provider's end marker, an error event
arrived after text, malformed data, or a network error.
.TP
.B 130
interrupted (Ctrl\-C); the partial answer already printed stays.
.TP
.B 141
standard output was closed (\fBcodey prompt ... | head \-1\fR): the stream is
closed at once and nothing is printed.
"""

EXAMPLES = r"""
.nf
codey prompt "What is a monad?" \-\-model claude\-sonnet\-4\-0
git diff | codey prompt \-\-system "Review this diff" | codey format
codey prompt "Write a haiku" | codey buffer | codey format | codey color
codey prompt "Count to 5" \-\-chunk
codey save "What is the capital of France?" \-\-file chat.md
codey save "And of the UK?" \-\-file chat.md
codey prompt < chat.md
.fi
"""

SEE_ALSO = r"""
The library: \fBpython3 \-c "import codey; help(codey)"\fR.
"""

#: (heading, roff) sections added after the options and commands, in order.
SECTIONS = (
    ("chat logs", CHAT_LOGS),
    ("environment", ENVIRONMENT),
    ("exit status", EXIT_STATUS),
    ("examples", EXAMPLES),
    ("see also", SEE_ALSO),
)

_TH_RE = re.compile(r'^(\.TH \S+ "[^"]*" )"[^"]*"', re.MULTILINE)


def render(date: Optional[str] = None) -> str:
    """The man page for the parser as it is now, dated ``date`` (default: today)."""
    sys.path.insert(0, str(ROOT))
    try:
        from argparse_manpage.compat import get_reproducible_date  # type: ignore[import-untyped]
        from argparse_manpage.manpage import Manpage  # type: ignore[import-untyped]

        from codey import __version__
        from codey.cli import build_parser
    finally:
        sys.path.remove(str(ROOT))
    parser = build_parser()
    # The epilog of --help is a summary of the sections below: not twice.
    parser.epilog = None
    page = Manpage(parser)
    page.date = date or get_reproducible_date()  # honours SOURCE_DATE_EPOCH
    page.source = f"codey {__version__}"
    page.manual = "User Commands"
    page.description = SHORT_DESCRIPTION
    for heading, roff in SECTIONS:
        page.add_section(heading, ">", roff.strip("\n"))
    return str(page)


def _undated(page: str) -> str:
    return _TH_RE.sub(r'\1"DATE"', page, count=1)


def is_current(path: Path = PAGE) -> bool:
    """Whether the page at ``path`` is what the parser generates now (dates aside)."""
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return _undated(existing) == _undated(render())


def write(path: Path = PAGE) -> bool:
    """Write the page to ``path`` unless it is current; return whether it changed."""
    if is_current(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return True


def main(argv: Optional[list[str]] = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--check", action="store_true", help="fail if the page is stale")
    options.add_argument("-o", "--output", type=Path, default=PAGE, help="the page to write")
    args = options.parse_args(argv)
    if args.check:
        if is_current(args.output):
            return 0
        print(f"{args.output} is out of date: run python man/generate.py", file=sys.stderr)
        return 1
    print(f"{args.output}: {'written' if write(args.output) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
