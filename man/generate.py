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
from typing import Any, Optional

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
.PP
A line of its own \fB![attachment](\fIPATH\fB)\fR in a user message attaches
that file (an image or a PDF) to the message, so a conversation that had
attachments can be continued; \fBcodey save \-a\fR writes these lines.
A path is relative to the chat log's directory (to the current directory when
the log comes from standard input); \fB<\fR...\fB>\fR goes around a path with
spaces or parentheses; an http(s) URL or a \fBdata:\fR URL (what
\fBsave \-a \-\fR writes for standard input's bytes) works too.
Markdown viewers show the line as an image.
A message line that would read as one is written with a backslash,
\fB\\![attachment](...)\fR, and read back as text.
"""

ATTACHMENTS = r"""
\fB\-a\fR/\fB\-\-attach\fR \fIPATH\fR|\fIURL\fR|\fB\-\fR (repeatable) attaches an
image (PNG, JPEG, GIF, WEBP) or a PDF to the prompt.
The type comes from the file's first bytes, else its suffix; anything else,
or a file over 20 MiB, is a configuration error (exit status 3), and a missing
file an error naming it (exit status 1).
\fB\-\fR reads the bytes from standard input; the prompt is then INPUT.
An http(s) URL is sent as it is, for the provider to fetch.
OpenAI and xAI get images as \fBimage_url\fR parts; OpenAI gets a PDF as a
\fBfile\fR part; Anthropic gets \fBimage\fR and \fBdocument\fR blocks.
A provider that cannot take the type (a PDF for xAI, any attachment for a
text\-only service) is a configuration error before anything is sent.
.PP
.RS 4
.nf
codey prompt "What is in this picture?" \-a photo.png \-m gpt\-4.1
curl \-s https://example.com/chart.png | codey prompt "Describe it" \-a \-
codey save "Summarise the paper" \-a paper.pdf \-m claude\-sonnet\-4\-6
.fi
.RE
"""

TOOLS = r"""
\fB\-\-functions\fR \fIFILE.py\fR makes every public function defined in
the file a tool the model may call; \fB\-T\fR \fIMODULE:FUNCTION\fR names one
(imported with the current directory on the path).
A function's type hints (str, int, float, bool, lists, dicts, Optional,
Literal, enums) and docstring (the first paragraph, and \fB:param x:\fR lines
or an \fBArgs:\fR section) describe it to the model.
codey runs each call the model makes and sends the result back until the
model answers (at most \fB\-\-max\-tool\-rounds\fR rounds, default 5); the
text of every round is written.
A tool that raises is reported on standard error, and the model gets
\fBerror: \fIType\fB: \fImessage\fR as the result.
.PP
On a terminal codey asks before each call, on standard error:
.PP
.RS 4
.nf
Run tool weather(city='Oslo')? [y/N]
.fi
.RE
.PP
and runs it only after \fBy\fR.
\fB\-\-yes\fR runs every call unasked.
When standard input or standard error is not a terminal, codey cannot ask,
and without \fB\-\-yes\fR it refuses to run tools: a configuration error
(exit status 3) before anything is sent, rather than running code in silence.
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
(default: the config file's \fBmodel\fR, else grok\-4.3,
xAI's current general model: the original's grok\-3 is retired).
A model is a known name (see \fBcodey models\fR) or \fIPROVIDER\fR:\fIMODEL\fR,
such as openai:my\-finetune.
.TP
.B CODEY_CONFIG
the config file to read instead of the default one (it must exist).
.TP
.B XDG_CONFIG_HOME
where the default config file is: \fB$XDG_CONFIG_HOME/codey/config.toml\fR
(default: \fB~/.config/codey/config.toml\fR).
.TP
.B CODEY_STATUS_DELAY
seconds without text before the status line appears (default: the config
file's \fBstatus_delay\fR, else 3; 0 shows it at once).
.TP
.B NO_COLOR
when set and not empty, \fBcodey color\fR writes plain text, and nothing on
standard error is styled (reasoning is not dimmed).
.TP
.B CODEY_DEBUG
when set to 1, an error also prints its traceback.
.TP
.B HTTPS_PROXY\fR, \fBREQUESTS_CA_BUNDLE\fR, \fBNO_PROXY
are honoured as by Python requests.
"""

#: The list of statuses (@STATUSES@) comes from ``codey.cli._exit.STATUSES``.
EXIT_STATUS = r"""
Every failure prints one line on standard error, and the exit status says what
kind of failure it was, so that a script can retry only what is worth
retrying.
@STATUSES@
.PP
With several models (\fBcodey prompt \-m A \-m B\fR), each model that failed
gets its own line on standard error, \fBcodey: error: MODEL: ...\fR, and the
exit status is that of the first failed model, in the order given.
.PP
\fBcodey batch\fR exits 0 when every prompt succeeded; when some failed, with
the status of their kind if they all share one (3, 4, 5 or 6), else 1; 130 or
143 when Ctrl\-C or SIGTERM stopped it.
"""

BATCH = r"""
\fBcodey batch prompts.jsonl \-m gpt\-4.1 \-p 16\fR answers every line of the
input and appends one record per line to the output file
(\fBprompts.out.jsonl\fR), as each answer completes:
.PP
.RS 4
.nf
{"id":"1","model":"gpt\-4.1","text":"...","finish_reason":"stop",
 "usage":{"input_tokens":12,"output_tokens":80},
 "timings":{"to_first_text":0.41,"total":1.9,"retries":0}}
{"id":"2","model":"gpt\-4.1","error":{"type":"RateLimitError",
 "message":"...","status_code":429,"kind":"busy"}}
.fi
.RE
.PP
(one line each), \fBkind\fR as in \fB\-\-events\fR.
Input lines, JSONL:
.PP
.RS 4
.nf
"a prompt"
[{"role": "user", "content": "a conversation"}]
{"id": "q7", "prompt": "...", "model": "claude\-sonnet\-4\-6",
 "options": {"max_tokens": 200, "temperature": 0}}
.fi
.RE
.PP
or CSV with a header row (the prompt in \fB\-\-column\fR; \fBid\fR and
\fBmodel\fR columns are read too).
A line's own model and options win over the flags, which win over the config
file.
The output file is the batch's state: running the same command again skips every
id with a successful record and tries every failed one again, appending its new
record (the last record of an id counts; a successful id is never answered
twice).
Each record is written whole and synced to disk; a torn last line left by a
kill in the middle of a write is cut off on the next run.
Two batches cannot write one output file at once.
"""

CONFIG_FILE = r"""
\fBcodey prompt\fR, \fBsave\fR, \fBchat\fR, \fBbatch\fR, \fBmodels\fR,
\fBproviders\fR, \fBtools\fR and \fBcompletion\fR read a TOML file,
\fB$CODEY_CONFIG\fR, else \fB$XDG_CONFIG_HOME/codey/config.toml\fR, else
\fB~/.config/codey/config.toml\fR.
It is optional; \fBcodey config\fR shows where it is and the settings in force.
.PP
.RS 4
.nf
model = "sonnet"           # the default model
status_delay = 3           # seconds without text before the status line

[aliases]
sonnet = "claude\-sonnet\-4\-6"
fast = "groq:llama\-3.3\-70b\-versatile"

[defaults]                 # for every model
chunk_timeout = 30

[models."claude\-sonnet\-4\-6"]
max_tokens = 8000
temperature = 0.2
system = "Answer briefly."

[providers.together]       # a service that speaks an API codey knows
kind = "openai"            # or "anthropic"
base_url = "https://api.together.xyz/v1"
api_key_env = "TOGETHER_API_KEY"
models = ["meta\-llama/Llama\-3.3\-70B\-Instruct\-Turbo"]

[mcp_servers.git]          # an MCP server: \-\-mcp git
command = "uvx"
args = ["mcp\-server\-git"]
.fi
.RE
.TP
.B model
the model when neither \fB\-\-model\fR, the chat log nor \fBCODEY_MODEL\fR
names one; an alias is fine.
.TP
.B status_delay
seconds without text before the status line appears (0: at once).
.TP
.B [aliases]
short names for models, usable wherever a model is (\fB\-m fast\fR).
.TP
.B [defaults]\fR and \fB[models."NAME"]
request settings for every model, and for one (by its name or its alias's
target; the model's own table wins): \fBsystem\fR (used when the chat log has
no system message), \fBmax_tokens\fR, \fBtemperature\fR,
\fBchunk_timeout\fR, \fBconnect_timeout\fR, \fBdeadline\fR,
\fBeffort\fR (\fBreasoning_effort\fR, its old name), \fBthinking_budget\fR.
A command\-line option always wins; a setting the model does not take (a
\fBtemperature\fR for claude\-sonnet\-5, say) is an error when that model is used.
.TP
.B [providers.NAME]
another service: \fBkind\fR (\fB"openai"\fR for Chat Completions,
\fB"anthropic"\fR for Messages), \fBbase_url\fR, \fBapi_key_env\fR (the
variable holding its key; without it, no key is needed), and \fBmodels\fR
(names that then work alone or as NAME:MODEL) or \fBprefix\fR (a string or a
list: model names starting with it go to this service).
NAME:MODEL works for any model.
Optional: \fBbase_url_env\fR (default NAME_BASE_URL), \fBkey_required\fR,
\fBmax_tokens_field\fR, \fBinclude_usage\fR.
A table named after a built\-in provider changes it (for example
\fB[providers.ollama]\fR with another \fBbase_url\fR).
.TP
.B [mcp_servers.NAME]
an MCP server that \fB\-\-mcp NAME\fR names (and \fBcodey tools\fR lists):
the keys of an \fBmcpServers\fR entry, \fBcommand\fR, \fBargs\fR, \fBenv\fR
and \fBcwd\fR for a local server, or \fBurl\fR and \fBheaders\fR (with
\fBtype = "http"\fR) for a remote one; \fB${VAR}\fR and \fB${VAR:\-default}\fR
come from the environment.
\fBcodey config\fR shows the names of \fBenv\fR and \fBheaders\fR, never
their values.
.PP
Precedence, highest first: a command\-line flag, the chat log's front matter,
the environment (\fBCODEY_MODEL\fR, \fB*_API_KEY\fR, \fB*_BASE_URL\fR), the
config file, the built\-in default.
Anything wrong in the file (invalid TOML, an unknown key, a value of the wrong
type) is one error naming the file and the line, exit status 3.
"""

JSON_LINES = r"""
\fBcodey prompt \-\-chunk\fR writes \fB{"chunk":"..."}\fR per piece of text,
exactly as the original tool did (with several models,
\fB{"model":"...","chunk":"..."}\fR).
\fBcodey prompt \-\-events\fR writes one compact JSON object per line for
every event, in arrival order, so that a program can tell a whole answer from
a cut one:
.PP
.RS 4
.nf
{"type":"reasoning","text":"..."}
{"type":"text","text":"..."}
{"type":"tool_call","index":0,"id":"...","name":"...","arguments":"..."}
{"type":"tool_result","id":"...","name":"...","output":"...","error":null}
{"type":"usage","input_tokens":10,"output_tokens":5}
{"type":"finish","reason":"stop","api":"responses"}
.fi
.RE
.PP
The last line is exactly one final record: \fBfinish\fR with the provider's
stop reason and the API that answered (\fBchat\fR, \fBresponses\fR or
\fBmessages\fR), or
.PP
.RS 4
.nf
{"type":"error","kind":"timeout","error":"ChunkTimeoutError",
 "message":"...","exit_code":5,"partial_text_length":42}
.fi
.RE
.PP
where \fBkind\fR is \fBconfiguration\fR, \fBbusy\fR, \fBtimeout\fR,
\fBbroken\fR, \fBinterrupted\fR or \fBother\fR (the exit statuses 3, 4, 5,
6, 130 and 1) and \fBpartial_text_length\fR counts the characters of text
that arrived before the error.
With several models every record starts with \fB"model"\fR, and each model
ends with its own final record.
"""

STATUS_LINE = r"""
When standard error is a terminal and no text has arrived for 3 seconds
(\fBCODEY_STATUS_DELAY\fR, \fBstatus_delay\fR), \fBprompt\fR, \fBsave\fR
and \fBchat\fR show one line there, such as
.PP
.RS 4
.nf
codey: no text from o3 for 12 s; the server last sent something 0.4 s ago
.fi
.RE
.PP
A server that keeps sending something (reasoning, keep\-alives) is slow; one
whose silence keeps growing has stalled (and \fB\-\-chunk\-timeout\fR will end
it).
The line is erased as soon as text arrives, and never drawn when standard
error is not a terminal.
With several models, a progress line shows each model's state instead.
"""

COMPLETION = r"""
\fBcodey completion bash|zsh|fish\fR prints a script that completes commands,
options, option values and model names:
.PP
.RS 4
.nf
eval "$(codey completion bash)"                     # in ~/.bashrc
codey completion zsh > "${fpath[1]}/_codey"         # zsh
codey completion fish > ~/.config/fish/completions/codey.fish
.fi
.RE
.PP
The model names are those known when the script is made (with the config
file's aliases and models): make it again after changing them.
"""

EXAMPLES = r"""
.nf
codey prompt "What is a monad?" \-\-model claude\-sonnet\-4\-6
git diff | codey prompt \-\-system "Review this diff" | codey format
codey prompt "Write a haiku" | codey buffer | codey format | codey color
codey prompt "Count to 5" \-\-chunk
codey save "What is the capital of France?" \-\-file chat.md
codey save "And of the UK?" \-\-file chat.md
codey prompt < chat.md
codey prompt \-m gpt\-5.5 \-m claude\-sonnet\-4\-6 "Name a prime"
codey prompt "Why is the sky blue?" \-\-model o3 \-\-reasoning \-\-usage \-\-stats
codey prompt "Summarise this" \-\-events < notes.md
codey prompt "What is in this picture?" \-a photo.png \-m gpt\-4.1
codey prompt "Is it warm in Oslo?" \-\-functions tools.py
codey chat \-\-file chat.md
codey batch reviews.csv \-\-column review \-\-system "Positive or negative?"
codey config
.fi
"""

SEE_ALSO = r"""
The library: \fBpython3 \-c "import codey; help(codey)"\fR.
.PP
No API key yet: \fBpython \-m codey.testing serve\fR runs a fake provider on
this machine that answers every model with your own words, streamed, and
prints the \fBexport\fR lines (base URLs and keys) that point codey at it;
Ctrl\-C stops it.
"""

#: (heading, roff) sections added after the options and commands, in order.
SECTIONS = (
    ("chat logs", CHAT_LOGS),
    ("attachments", ATTACHMENTS),
    ("tools", TOOLS),
    ("config file", CONFIG_FILE),
    ("json lines", JSON_LINES),
    ("status line", STATUS_LINE),
    ("batch files", BATCH),
    ("shell completion", COMPLETION),
    ("environment", ENVIRONMENT),
    ("exit status", EXIT_STATUS),
    ("examples", EXAMPLES),
    ("see also", SEE_ALSO),
)

_TH_RE = re.compile(r'^(\.TH \S+ "[^"]*" )"[^"]*"', re.MULTILINE)
# argparse-manpage writes a top-level group's heading as ".SH" and, on the next
# line, the title: a heading that reads as empty (man, lexgrog, mandoc -T lint).
_SPLIT_SH_RE = re.compile(r"^\.SH\n(?=[^.\n])", re.MULTILINE)
# A command's usage, as argparse lays it out: kept as lines, not refilled.
_USAGE_RE = re.compile(r"^(usage: .*(?:\n +\S.*)*)$", re.MULTILINE)


def _formatter(page: Any) -> Any:
    """argparse-manpage's formatter, with each command's option groups as
    bold lines inside the command's subsection.

    Its "pretty" format gives every command's every group its own top-level
    heading, such as "SHOWN ON STANDARD ERROR 'codey prompt'"; its
    "single-commands-section" format puts each command in a ".SS codey prompt"
    subsection of COMMANDS but leaves the groups' titles as bare text run into
    the paragraph before. The formatter is argparse-manpage's own (``page.mf``);
    only a group's first line, its title, changes.
    """
    from argparse_manpage.manpage import bold  # type: ignore[import-untyped]

    class Formatter(type(page.mf)):  # type: ignore[misc]
        def _format_action_group(self, action_group: Any, subcommand: Any = None) -> Any:
            lines = super()._format_action_group(action_group, subcommand)
            if subcommand and lines and not lines[0].startswith("."):
                title = lines[0].rstrip(":")
                lines = [".PP", bold(title[:1].upper() + title[1:]), ".br", *lines[1:]]
            return lines

    return Formatter(page.prog, page.formatter, format=page.format)


def _roff(text: str) -> str:
    """reStructuredText inline literals (``x``) as bold, dashes as roff's minus."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"``(.+?)``", r"\\fB\1\\fR", text)


def _statuses(statuses: Any) -> str:
    """The exit status list, one ``.TP`` per row of ``codey.cli._exit.STATUSES``."""
    return "\n".join(f".TP\n.B {row.code}\n{_roff(row.text)}." for row in statuses.values())


def render(date: Optional[str] = None) -> str:
    """The man page for the parser as it is now, dated ``date`` (default: today)."""
    sys.path.insert(0, str(ROOT))
    try:
        from argparse_manpage.compat import get_reproducible_date  # type: ignore[import-untyped]
        from argparse_manpage.manpage import Manpage

        from codey import __version__
        from codey.cli import build_parser
        from codey.cli._exit import STATUSES
    finally:
        sys.path.remove(str(ROOT))
    parser = build_parser()
    # The epilog of --help is a summary of the sections below: not twice.
    parser.epilog = None
    page = Manpage(parser, format="single-commands-section")
    page.mf = _formatter(page)
    page.date = date or get_reproducible_date()  # honours SOURCE_DATE_EPOCH
    page.source = f"codey {__version__}"
    page.manual = "User Commands"
    page.description = SHORT_DESCRIPTION
    for heading, roff in SECTIONS:
        roff = roff.replace("@STATUSES@", _statuses(STATUSES))
        page.add_section(heading, ">", roff.strip("\n"))
    text = _SPLIT_SH_RE.sub(".SH ", str(page))
    return _USAGE_RE.sub(lambda match: f".nf\n{match.group(1)}\n.fi", text)


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
