"""The one parser: ``codey --help``, the man page and shell completion all come from it.

Cheap to import (the man page generator calls :func:`build_parser`, and
``codey --help`` should be instant): only argparse loads here. Each
subcommand names its command (``command="prompt"``); ``_main.COMMANDS``
says which module runs it, loaded only when it runs.
"""

from __future__ import annotations

import argparse

from codey._options import CONFIG, FLAG, OPTIONS, SERVER_TOOLS, named
from codey._version import __version__
from codey.cli._argtypes import _positive_int, _schema, of_option
from codey.cli._batch_args import BATCH_DESCRIPTION, BATCH_HELP, batch_arguments, check_batch
from codey.cli._completion import SHELLS
from codey.cli._config import PRECEDENCE
from codey.cli._exit import STATUSES
from codey.cli._tool_args import TOOLS_DESCRIPTION, TOOLS_HELP, mcp_arguments, tools_arguments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["DEFAULT_FILE", "build_parser"]

DEFAULT_FILE = "codey.md"

DESCRIPTION = """\
codey puts large language models (OpenAI, xAI, Anthropic, and any service
that speaks their APIs) on the command line. It streams an answer to standard
output as it arrives, asks several models at once, chats, reads and writes
Markdown chat logs so a conversation can be continued, and formats and colours
Markdown for the terminal.
"""

EXAMPLES = """\
examples:
  codey prompt "What is a monad?" --model claude-sonnet-4-6
  git diff | codey prompt --system "Review this diff" | codey format | codey color
  codey prompt "..." | codey buffer | codey format | codey color
  codey save "What about the UK?" --file chat.md && codey prompt < chat.md
  codey prompt -m gpt-5.5 -m claude-sonnet-4-6 "Name a prime"   # side by side
  codey prompt "Why?" --model o3 --reasoning --usage --stats
  codey prompt "What is in this picture?" -a photo.png -m gpt-4.1
  codey prompt "Is it warm in Oslo?" --functions tools.py   # asks before each call
  codey prompt "What changed today?" --mcp servers.json --allow-tool git_log
  codey chat --file chat.md
  codey batch prompts.jsonl --parallel 16 -m gpt-4.1     # writes prompts.out.jsonl
  eval "$(codey completion bash)"
"""

ENVIRONMENT = """\
environment:
  OPENAI_API_KEY, XAI_API_KEY, ANTHROPIC_API_KEY    the providers' API keys
  OPENAI_BASE_URL, XAI_BASE_URL, ANTHROPIC_BASE_URL  other API endpoints
  AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY  Azure OpenAI (models azure:DEPLOYMENT)
  AZURE_OPENAI_API_VERSION  its API version (default 2024-10-21)
  CODEY_MODEL    the default model (else the config file's, else grok-4.3)
  CODEY_CONFIG   the config file (default: $XDG_CONFIG_HOME/codey/config.toml,
                 else ~/.config/codey/config.toml; see codey config)
  CODEY_STATUS_DELAY  seconds without text before the status line (default 3)
  XDG_STATE_HOME where codey chat keeps its history (default ~/.local/state)
  CODEY_MAX_INPUT  the most input read from INPUT, standard input or a chat-log
                 file, in bytes or with k, M or G (default 64M)
  NO_COLOR       codey color prints plain text; no styles on standard error
  CODEY_DEBUG=1  print a traceback with an error

precedence: flag > chat-log front matter > environment > config file > built-in default
"""


def _exit_status() -> str:
    """The ``--help`` summary of :data:`_exit.STATUSES` (without its markup)."""
    import textwrap

    listed = "; ".join(f"{row.code} {row.text}" for row in STATUSES.values())
    text = listed.replace("``", "") + (
        ". With several models, the status of the first one that failed, in the "
        "order given. codey batch: 0 when every prompt succeeded; when some failed, "
        "the status of their kind if they all share one (3, 4, 5 or 6), else 1; "
        "130 or 143 when interrupted."
    )
    return "exit status:\n" + textwrap.fill(text, 78, initial_indent="  ", subsequent_indent="  ")


CHAT_INPUT_HELP = (
    "the prompt; standard input is read too when it is not a terminal, and comes "
    "first. It is read as a chat log (unless --raw): optional TOML (+++) or YAML (---) "
    'front matter, then messages separated by delimiters such as "# === ASSISTANT ===" '
    '(see "chat logs" in codey(1)); INPUT after a piped chat log is its next user message'
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, from which ``--help`` and the man page are made."""
    parser = argparse.ArgumentParser(
        prog="codey",
        description=DESCRIPTION,
        epilog="\n".join((EXAMPLES, ENVIRONMENT, _exit_status())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=description)

    model_help = (
        "the model, such as gpt-5.5, grok-4.3 or claude-sonnet-4-6, PROVIDER:MODEL, or an "
        "alias from the config file (default: the chat log's front matter, else "
        "$CODEY_MODEL, else the config file's model, else grok-4.3)"
    )

    def model_option(
        sub: argparse.ArgumentParser, several: bool = False, batch: bool = False
    ) -> None:
        if batch:  # no chat log: a line's own "model" wins over the flag
            text = model_help.replace(
                "the model,", "the model of the lines that name none,"
            ).replace("the chat log's front matter, else ", "")
            sub.add_argument("-m", "--model", metavar="MODEL", help=text)
        elif several:
            sub.add_argument(
                "-m",
                "--model",
                action="append",
                metavar="MODEL",
                help=model_help + "; repeat it to ask several models at once",
            )
        else:
            sub.add_argument("-m", "--model", metavar="MODEL", help=model_help)

    def request_options(sub: argparse.ArgumentParser, shown: bool = True) -> None:
        group = sub.add_argument_group(
            "request options",
            "Each one, when not given, comes from the config file's [models.NAME] or "
            "[defaults] table, else the built-in default.",
        )
        for option in OPTIONS:
            if FLAG not in option.where:
                continue
            if option.type == "bool":
                group.add_argument(option.flag, action="store_true", default=None, help=option.help)
            elif option.choices:
                group.add_argument(
                    option.flag, choices=option.choices, metavar=option.metavar, help=option.help
                )
            else:
                group.add_argument(
                    option.flag, type=of_option(option), metavar=option.metavar, help=option.help
                )
        if not shown:
            return
        shown_group = sub.add_argument_group("shown on standard error")
        shown_group.add_argument(
            "--reasoning",
            action="store_true",
            help="show the model's reasoning (thinking), dimmed, on standard error; "
            "standard output carries only the answer",
        )
        shown_group.add_argument(
            "--usage", action="store_true", help="print the token usage at the end"
        )
        shown_group.add_argument(
            "--stats",
            action="store_true",
            help="print the timings at the end: to headers, to first text, longest gap, "
            "total, retries",
        )
        shown_group.add_argument(
            "--cite",
            action="store_true",
            help="print the sources the answer cites at the end, numbered (title, URL, the "
            "passage quoted, shortened); standard output keeps only the answer",
        )

    def attach_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "-a",
            "--attach",
            action="append",
            metavar="PATH|URL|-",
            help="attach an image (PNG, JPEG, GIF, WEBP) or a PDF to the prompt: a file, an "
            "http(s) URL, or - for the bytes on standard input (the prompt is then INPUT); "
            "the type comes from the content, else the suffix; repeat it for more (see "
            '"attachments" in codey(1))',
        )

    def attach_from_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--attach-from",
            action="append",
            default=[],
            metavar="DIR",
            help="let the chat log attach files from this folder too (by default only "
            "from the log's own folder, the current one for standard input); repeatable",
        )

    def function_options(group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--functions",
            action="append",
            metavar="FILE.py",
            help="every public function defined in this Python file is a tool (its type "
            "hints and docstring describe it to the model); repeatable",
        )
        group.add_argument(
            "-T",
            "--tool",
            action="append",
            metavar="MODULE:FUNCTION",
            help="this function is a tool, imported from MODULE (the current directory "
            "included); repeatable",
        )

    def tool_options(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group(
            "tools",
            "Functions and MCP servers' tools the model may call: codey runs each call and "
            "sends the result back until the model answers. On a terminal codey asks before "
            "each call (except for --allow-tool's); elsewhere it refuses unless --yes is "
            "given or every tool is allowed (exit status 3).",
        )
        function_options(group)
        mcp_arguments(group)
        group.add_argument(
            "--yes", action="store_true", help="run the model's tool calls without asking"
        )
        group.add_argument(
            "--server-tool",
            action="append",
            choices=SERVER_TOOLS,
            metavar="NAME",
            help="let the model use the provider's own tool NAME, which the provider runs "
            "(no question asked): web_search, web_fetch, code_execution or x_search (xAI); "
            "one the provider lacks is an error; repeatable",
        )
        group.add_argument(
            "--allow-tool",
            action="append",
            metavar="NAME",
            help="run this tool's calls (a function's or an MCP server's) without asking; "
            "off a terminal every tool offered must be allowed, else --yes; repeatable",
        )
        group.add_argument(
            "--max-tool-rounds",
            type=_positive_int,
            metavar="N",
            help="the most rounds of tool calls before codey gives up (default: 5)",
        )

    def input_options(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group(
            "input",
            "INPUT and standard input are read as UTF-8, at most 64 MiB "
            "($CODEY_MAX_INPUT, such as 512k or 1G, changes it); an invalid byte is an "
            "error naming its offset.",
        )
        group.add_argument(
            "--encoding",
            metavar="ENC",
            help="the encoding of INPUT and standard input, such as latin-1 (default: utf-8)",
        )
        group.add_argument(
            "--errors",
            choices=("strict", "replace", "ignore"),
            help="what to do with bytes the encoding cannot read: strict (an error, the "
            "default), replace (with U+FFFD) or ignore (drop them)",
        )

    prompt = command(
        "prompt",
        "stream an answer to a prompt or a chat log",
        "Send a prompt, or a whole chat log, to a model and write the answer to "
        "standard output as it arrives, then a newline. A chat log is sent up to its "
        "last user message (one that ends with the empty user section codey save "
        "leaves asks its last prompt again; one that ends with an answer is an error). "
        "With several --model options, "
        "ask them all at once: each answer is printed as a section headed "
        '"=== MODEL ===" as soon as that model finishes, with a progress line on '
        "standard error when it is a terminal. When no text has arrived for a few "
        "seconds, a status line on a terminal's standard error tells how long codey "
        "has waited: a reasoning model that has sent nothing yet is thinking; else it "
        "says when the server last sent anything (slow, or stalled?).",
    )
    prompt.add_argument("input", nargs="?", metavar="INPUT", help=CHAT_INPUT_HELP)
    model_option(prompt, several=True)
    output = prompt.add_mutually_exclusive_group()
    output.add_argument(
        "--chunk",
        action="store_true",
        help='write one JSON object per line, {"chunk":"..."}, flushed as each piece '
        'arrives (no final newline); with several models, {"model":"...","chunk":"..."}',
    )
    output.add_argument(
        "--events",
        action="store_true",
        help="write one JSON object per line for every event, in arrival order: text, "
        "reasoning, tool_call and usage records, then exactly one final record, finish "
        "(with the reason) or error (with its kind, exit status and the length of the "
        'partial text); with several models, each record carries "model" (see "json '
        'lines" in codey(1))',
    )
    prompt.add_argument(
        "--add-delimiters",
        action="store_true",
        help="write the assistant delimiter before the answer and the user delimiter "
        "after it, so the output can be appended to a chat log",
    )
    prompt.add_argument(
        "--schema",
        type=_schema,
        metavar="SCHEMA",
        help="the answer must be JSON matching SCHEMA: a JSON Schema file (FILE.json) or "
        "fields such as 'name str, age int?, tags list[str]' (types str, int, float, bool "
        "and list[TYPE]; ? lets a value be null). The model is held to it where the "
        "provider can (OpenAI and xAI structured outputs, an Anthropic tool); the answer "
        "is checked, then written (exit status 6 if it does not match). With --chunk or "
        "--events the pieces stream as usual and the check comes at the end",
    )
    prompt.add_argument(
        "--no-stream",
        action="store_true",
        help="write the whole answer at once when it is complete (what arrived is still "
        "written if the answer breaks)",
    )
    attach_option(prompt)
    attach_from_option(prompt)
    prompt.add_argument(
        "--raw",
        action="store_true",
        help="send the input as one plain user message: no front matter, no delimiters, "
        "no attachment lines",
    )
    request_options(prompt)
    tool_options(prompt)
    input_options(prompt)
    prompt.set_defaults(command="prompt", check=_check_prompt, subparser=prompt, config_needed=True)

    save = command(
        "save",
        "stream an answer and append the exchange to a chat-log file",
        "Append the prompt to a chat-log file, send the whole conversation to a model, "
        "and append the answer to the file as it arrives (also echoing it to standard "
        "output), followed by the user delimiter, so the file stays a valid chat log "
        "that codey prompt can continue. If the answer stops early, what arrived is "
        'kept with a note, "<!-- codey: interrupted: REASON -->", and the exit status '
        "says why (Ctrl-C 130; SIGTERM 143 and SIGHUP 129 close the file the same way). "
        "The file is locked while codey writes to it; a save that has waited a second "
        "for another one's lock says so on standard error when it is a terminal.",
    )
    save.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="the prompt; standard input is read too when it is not a terminal, and "
        "comes first. The prompt is one user message: a line in it that looks like a "
        'delimiter is written escaped, "\\# === USER ===", and read back as text',
    )
    save.add_argument(
        "--file",
        default=DEFAULT_FILE,
        metavar="FILE",
        help=f"the chat-log file, created if needed (default: {DEFAULT_FILE})",
    )
    model_option(save)
    attach_option(save)
    attach_from_option(save)
    request_options(save)
    tool_options(save)
    input_options(save)
    save.set_defaults(command="save", check=_check_save, subparser=save, config_needed=True)

    chat = command(
        "chat",
        "talk with a model, interactively",
        "An interactive conversation: type a prompt, read the answer as it streams, "
        "and go on; the whole conversation is sent each time. Ctrl-C stops the answer "
        'being written (it is sent next time ending in "[interrupted by the user]") and '
        "returns to the prompt; Ctrl-C twice at an empty prompt, or "
        "Ctrl-D, leaves. Line editing and history come from readline where Python has "
        "it; the last 1000 prompts are kept in $XDG_STATE_HOME/codey/history (default "
        "~/.local/state/codey/history, mode 0600). A line ending with a backslash "
        "continues on the next line. When standard "
        "input is not a terminal, each line read is one prompt.",
    )
    chat.add_argument(
        "--file",
        metavar="FILE",
        help="load the conversation from this chat log (created if needed) and append "
        "each prompt and answer to it as the answer streams, as codey save does: an "
        "interrupted answer is kept with a note, and the file stays a valid chat log",
    )
    model_option(chat)
    attach_from_option(chat)
    request_options(chat)
    tool_options(chat)
    chat.set_defaults(command="chat", config_needed=True)

    batch = command("batch", BATCH_HELP, BATCH_DESCRIPTION)
    batch_arguments(batch)
    model_option(batch, batch=True)
    request_options(batch, shown=False)
    batch.set_defaults(command="batch", check=check_batch, subparser=batch, config_needed=True)

    tools = command("tools", TOOLS_HELP, TOOLS_DESCRIPTION)
    tools_group = tools.add_argument_group("tools")
    function_options(tools_group)
    mcp_arguments(tools_group)
    tools_arguments(tools)

    models = command(
        "models",
        "list the known models",
        "Print every current model, one per line, grouped by provider (the model table "
        "shipped with codey, with what --refresh cached of the providers' own lists).",
    )
    models.add_argument(
        "--all", action="store_true", help="include legacy and retired models (marked)"
    )
    models.add_argument(
        "--json", action="store_true", help="print the table's rows, one JSON object a line"
    )
    models.add_argument(
        "--refresh",
        action="store_true",
        help="first ask each provider whose key is set for its model list, and cache it in "
        "$XDG_CACHE_HOME/codey/models.json (default ~/.cache)",
    )
    models.add_argument(
        "--check",
        nargs="?",
        const="",
        metavar="FILE",
        dest="check_names",
        help="report each retired or unknown model named in the config file, $CODEY_MODEL "
        "and FILE's front matter (a chat log), with its replacement; exit status 1 if any",
    )
    models.set_defaults(command="models", config_needed=True)
    providers = command("providers", "list the providers", "Print every provider, one per line.")
    providers.set_defaults(command="providers", config_needed=True)

    config = command(
        "config",
        "show the config file and the settings in force",
        "Print where the config file is and the settings in force, with where each "
        "comes from; API keys are masked. The file, TOML, may set the default model "
        "(model), aliases ([aliases]), request settings for every model ([defaults]) or "
        'for one ([models."NAME"]: ' + ", ".join(named(CONFIG)) + "), the "
        "status line's delay (status_delay), and more providers ([providers.NAME]: kind = "
        '"openai", "anthropic" or "openai-responses", base_url, api_key_env, models or '
        "prefix, and optionally api_key_header for a key sent as it is, such as api-key). "
        "Precedence: " + PRECEDENCE + ".",
    )
    config.add_argument("--path", action="store_true", help="print only the config file's path")
    config.set_defaults(command="config", config_needed=True)

    completion = command(
        "completion",
        "print a shell completion script",
        "Print a completion script for bash, zsh or fish, generated from this command "
        "line: it completes commands, options, their values and model names (the known "
        "models and the config file's aliases and models, as they are now). For bash, "
        'put eval "$(codey completion bash)" in ~/.bashrc; for zsh and fish, see "shell '
        'completion" in codey(1).',
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    completion.set_defaults(command="completion", config_needed=True)

    text_help = (
        "the text itself, not a file name (codey format < FILE reads a file); standard "
        "input is read too when it is not a terminal, and comes first"
    )
    buffer = command(
        "buffer",
        "read all the input, then write it out",
        "Read all of the input (with a spinner on standard error when it is a "
        "terminal), then write it out, stripped, with a final newline. Put it before "
        "codey format or codey color, which need the whole text.",
    )
    buffer.add_argument("input", nargs="?", metavar="INPUT", help=text_help)
    input_options(buffer)
    buffer.set_defaults(command="buffer")

    fmt = command(
        "format",
        "rewrap Markdown to 80 columns",
        "Rewrap Markdown prose to 80 columns without breaking code blocks, lists or "
        "tables; ordered lists keep their numbers as written (needs the markdown "
        "extra: pip install 'codey[markdown]').",
    )
    fmt.add_argument("input", nargs="?", metavar="INPUT", help=text_help)
    input_options(fmt)
    fmt.set_defaults(command="format")

    color = command(
        "color",
        "render Markdown with terminal colours",
        "Render Markdown with terminal colours and highlighted code blocks; plain text "
        "when NO_COLOR is set. Line breaks are kept: only lines wider than the terminal "
        "are wrapped, and no line ends in spaces (needs the markdown extra: "
        "pip install 'codey[markdown]').",
    )
    color.add_argument("input", nargs="?", metavar="INPUT", help=text_help)
    input_options(color)
    color.set_defaults(command="color")
    return parser


def _check_prompt(args: argparse.Namespace) -> Optional[str]:
    """What argparse cannot check on its own: a usage error, or None."""
    models: list[str] = args.model or []
    if args.add_delimiters and args.events:
        return "argument --add-delimiters: not allowed with argument --events"
    if len(models) > 1 and args.add_delimiters:
        return "argument --add-delimiters: not allowed with several models"
    if len(set(models)) != len(models):
        return "argument -m/--model: each model may be given only once"
    if len(models) > 1 and (args.functions or args.tool or args.mcp):
        return "argument --functions/-T/--tool/--mcp: not allowed with several models"
    if len(models) > 1 and args.server_tool:
        return "argument --server-tool: not allowed with several models"
    return _check_save(args)


def _check_save(args: argparse.Namespace) -> Optional[str]:
    if "-" in (args.attach or ()) and args.input is None:
        return (
            "argument -a/--attach: with -, standard input is the attachment: "
            "give the prompt as INPUT"
        )
    if (args.attach or []).count("-") > 1:
        return "argument -a/--attach: - may be given only once"
    return None
