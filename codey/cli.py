"""The ``codey`` command line: ``build_parser()`` and ``main(argv) -> int``.

Kept cheap to import (the man page generator calls ``build_parser()``, and
``codey --help`` should be instant): only argparse, os and sys load here, plus
the light ``codey`` package. json, the streaming engine and the Markdown
libraries load inside the commands that use them.

Every failure ends in :func:`main`, which prints one line on standard error
and returns the code :func:`exit_code` picks.
"""

from __future__ import annotations

import argparse
import os
import sys

import codey
from codey._cli_completion import SHELLS
from codey._config import PRECEDENCE, REASONING_EFFORTS, ConfigError
from codey._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ChatLogError,
    ChunkTimeoutError,
    CodeyError,
    ConnectTimeoutError,
    DeadlineExceededError,
    IncompleteStreamError,
    InvalidAPIKeyError,
    MissingAPIKeyError,
    NetworkError,
    RateLimitError,
    ServerError,
    StreamError,
    UnknownModelError,
    UnsupportedOptionError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence
    from typing import IO, Any, Callable, Optional, TextIO

    from codey._chatlog import Chat, ChatSettings
    from codey._cli_answer import Show
    from codey._cli_status import Terminal
    from codey._config import Config

__all__ = ["build_parser", "describe", "exit_code", "main"]

NO_PROMPT = "No prompt supplied (argument or stdin required)."
NO_INPUT = "No input supplied for {} (argument or stdin required)."
DEFAULT_FILE = "codey.md"

#: Stream error events that mean "busy or failing" when no text had arrived yet.
_BUSY_EVENTS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})

# -- the parser ---------------------------------------------------------------

DESCRIPTION = """\
codey puts large language models (OpenAI, xAI, Anthropic, and any service
that speaks their APIs) on the command line. It streams an answer to standard
output as it arrives, asks several models at once, chats, reads and writes
Markdown chat logs so a conversation can be continued, and formats and colours
Markdown for the terminal.
"""

EXAMPLES = """\
examples:
  codey prompt "What is a monad?" --model claude-sonnet-4-0
  git diff | codey prompt --system "Review this diff" | codey format | codey color
  codey prompt "..." | codey buffer | codey format | codey color
  codey save "What about the UK?" --file chat.md && codey prompt < chat.md
  codey prompt -m gpt-4.1 -m claude-sonnet-4-0 "Name a prime"   # side by side
  codey prompt "Why?" --model o3 --reasoning --usage --stats
  codey chat --file chat.md
  eval "$(codey completion bash)"
"""

ENVIRONMENT = """\
environment:
  OPENAI_API_KEY, XAI_API_KEY, ANTHROPIC_API_KEY    the providers' API keys
  OPENAI_BASE_URL, XAI_BASE_URL, ANTHROPIC_BASE_URL  other API endpoints
  CODEY_MODEL    the default model (else the config file's, else grok-3)
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

EXIT_STATUS = """\
exit status:
  0 success; 1 other error; 2 usage error; 3 configuration or authentication
  (missing key, unknown model, invalid front matter or config file, 401, 403,
  400, 404, 413, 422);
  4 provider busy or failing, after retries (408, 409, 429, 5xx, 529,
  overloaded);
  5 timeout; 6 stream broken midway; 130 interrupted (Ctrl-C); 129 and 143
  SIGHUP and SIGTERM during save or chat;
  141 standard output closed (| head). With several models, the status of the
  first one that failed, in the order given.
"""

CHAT_INPUT_HELP = (
    "the prompt; without it, standard input is read when it is not a terminal. "
    "Either is read as a chat log: optional TOML (+++) or YAML (---) front matter, "
    'then messages separated by delimiters such as "# === ASSISTANT ===" '
    '(see "chat logs" in codey(1))'
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, from which ``--help`` and the man page are made."""
    parser = argparse.ArgumentParser(
        prog="codey",
        description=DESCRIPTION,
        epilog="\n".join((EXAMPLES, ENVIRONMENT, EXIT_STATUS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {codey.__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=description)

    model_help = (
        "the model, such as gpt-4.1, grok-3 or claude-sonnet-4-0, PROVIDER:MODEL, or an "
        "alias from the config file (default: the chat log's front matter, else "
        "$CODEY_MODEL, else the config file's model, else grok-3)"
    )

    def model_option(sub: argparse.ArgumentParser, several: bool = False) -> None:
        if several:
            sub.add_argument(
                "-m",
                "--model",
                action="append",
                metavar="MODEL",
                help=model_help + "; repeat it to ask several models at once",
            )
        else:
            sub.add_argument("-m", "--model", metavar="MODEL", help=model_help)

    def request_options(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group(
            "request options",
            "Each one, when not given, comes from the config file's [models.NAME] or "
            "[defaults] table, else the built-in default.",
        )
        group.add_argument("--system", metavar="TEXT", help="a system message")
        group.add_argument(
            "--max-tokens",
            type=_positive_int,
            metavar="N",
            help="the most tokens the answer may use (Anthropic's default: 4096)",
        )
        group.add_argument(
            "--temperature", type=_non_negative, metavar="T", help="the sampling temperature"
        )
        group.add_argument(
            "--chunk-timeout",
            type=_positive,
            metavar="SECONDS",
            help="give up when the server sends nothing for this long once the answer "
            "has begun (default: 15)",
        )
        group.add_argument(
            "--connect-timeout",
            type=_positive,
            metavar="SECONDS",
            help="give up when the answer has not begun after this long (default: 30)",
        )
        group.add_argument(
            "--deadline",
            type=_positive,
            metavar="SECONDS",
            help="give up when the whole answer, retries included, takes longer than this "
            "(exit status 5)",
        )
        group.add_argument(
            "--reasoning-effort",
            choices=REASONING_EFFORTS,
            metavar="EFFORT",
            help="how hard an OpenAI-style reasoning model thinks: " + ", ".join(REASONING_EFFORTS),
        )
        group.add_argument(
            "--thinking-budget",
            type=_positive_int,
            metavar="TOKENS",
            help="turn on Anthropic extended thinking with this many tokens (at least 1024)",
        )
        shown = sub.add_argument_group("shown on standard error")
        shown.add_argument(
            "--reasoning",
            action="store_true",
            help="show the model's reasoning (thinking), dimmed, on standard error; "
            "standard output carries only the answer",
        )
        shown.add_argument("--usage", action="store_true", help="print the token usage at the end")
        shown.add_argument(
            "--stats",
            action="store_true",
            help="print the timings at the end: to headers, to first text, longest gap, "
            "total, retries",
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
        "has waited and when the server last sent anything (slow, or stalled?).",
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
        "--no-stream",
        action="store_true",
        help="write the whole answer at once when it is complete (what arrived is still "
        "written if the answer breaks)",
    )
    request_options(prompt)
    input_options(prompt)
    prompt.set_defaults(run=_cmd_prompt, check=_check_prompt, subparser=prompt, config_needed=True)

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
        help="the prompt; without it, standard input is read when it is not a terminal. "
        "It is one user message: a line in it that looks like a delimiter is written "
        'escaped, "\\# === USER ===", and read back as text',
    )
    save.add_argument(
        "--file",
        default=DEFAULT_FILE,
        metavar="FILE",
        help=f"the chat-log file, created if needed (default: {DEFAULT_FILE})",
    )
    model_option(save)
    request_options(save)
    input_options(save)
    save.set_defaults(run=_cmd_save, config_needed=True)

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
    request_options(chat)
    chat.set_defaults(run=_cmd_chat, config_needed=True)

    models = command(
        "models",
        "list the known models",
        "Print every known model, one per line, grouped by provider.",
    )
    models.set_defaults(run=_cmd_models, config_needed=True)
    providers = command("providers", "list the providers", "Print every provider, one per line.")
    providers.set_defaults(run=_cmd_providers, config_needed=True)

    config = command(
        "config",
        "show the config file and the settings in force",
        "Print where the config file is and the settings in force, with where each "
        "comes from; API keys are masked. The file, TOML, may set the default model "
        "(model), aliases ([aliases]), request settings for every model ([defaults]) or "
        'for one ([models."NAME"]: system, max_tokens, temperature, chunk_timeout, '
        "connect_timeout, deadline, reasoning_effort, thinking_budget), the status "
        "line's delay (status_delay), and more providers ([providers.NAME]: kind = "
        '"openai" or "anthropic", base_url, api_key_env, models or prefix). '
        "Precedence: " + PRECEDENCE + ".",
    )
    config.add_argument("--path", action="store_true", help="print only the config file's path")
    config.set_defaults(run=_cmd_config, config_needed=True)

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
    completion.set_defaults(run=_cmd_completion, config_needed=True)

    text_help = "the text; without it, standard input is read when it is not a terminal"
    buffer = command(
        "buffer",
        "read all the input, then write it out",
        "Read all of the input (with a spinner on standard error when it is a "
        "terminal), then write it out, stripped, with a final newline. Put it before "
        "codey format or codey color, which need the whole text.",
    )
    buffer.add_argument("input", nargs="?", metavar="INPUT", help=text_help)
    input_options(buffer)
    buffer.set_defaults(run=_cmd_buffer)

    fmt = command(
        "format",
        "rewrap Markdown to 80 columns",
        "Rewrap Markdown prose to 80 columns without breaking code blocks, lists or "
        "tables; ordered lists keep their numbers as written (needs the markdown "
        "extra: pip install 'codey[markdown]').",
    )
    fmt.add_argument("input", nargs="?", metavar="INPUT", help=text_help)
    input_options(fmt)
    fmt.set_defaults(run=_cmd_format)

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
    color.set_defaults(run=_cmd_color)
    return parser


# -- main and errors ----------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check: Optional[Callable[[argparse.Namespace], Optional[str]]] = getattr(
            args, "check", None
        )
        problem = check(args) if check is not None else None
        if problem:
            args.subparser.error(problem)  # usage and message on stderr, exit status 2
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    run: Callable[[argparse.Namespace], int] = args.run
    restore: Optional[Callable[[], None]] = None
    try:
        if getattr(args, "config_needed", False):
            from codey._config import load

            args.config = load()
            restore = args.config.apply()  # the config file's providers, registered
        return run(args)
    except BrokenPipeError:
        # The reader went away (| head -1): the stream is closed by now; exit
        # quietly, with no complaint from the interpreter's final flush.
        _discard_stdout()
        return 141
    except KeyboardInterrupt:
        return 130
    except Terminated as exc:
        return 128 + exc.signum
    except Exception as exc:
        _report(exc)
        return exit_code(exc)
    finally:
        if restore is not None:
            restore()


def exit_code(exc: BaseException) -> int:
    """The exit status for an error: what kind of failure it was (see ``codey(1)``)."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, Terminated):
        return 128 + exc.signum
    if isinstance(exc, BrokenPipeError):
        return 141
    if isinstance(
        exc,
        (
            MissingAPIKeyError,
            InvalidAPIKeyError,
            UnknownModelError,
            ChatLogError,
            ConfigError,
            UnsupportedOptionError,
            AuthenticationError,
            BadRequestError,
        ),
    ):
        return 3
    if isinstance(exc, (RateLimitError, ServerError)):
        return 4
    if isinstance(exc, APIStatusError):
        status = exc.status_code
        return 4 if status in (408, 409, 429) or status >= 500 else 3
    if isinstance(exc, (ConnectTimeoutError, ChunkTimeoutError, DeadlineExceededError)):
        return 5
    if (
        isinstance(exc, StreamError)
        and not isinstance(exc, IncompleteStreamError)
        and not exc.partial_text
        and _busy_event(exc)
    ):
        return 4
    if isinstance(exc, (StreamError, NetworkError)):
        return 6
    return 1


def _busy_event(exc: StreamError) -> bool:
    """An error event that says the provider is busy or failing (retried, in vain)."""
    if exc.error_type in _BUSY_EVENTS:
        return True
    try:  # the engine's own rule, which also knows Chat Completions' names
        from codey._retry import is_retryable_error_type
    except ImportError:  # pragma: no cover
        return False
    return is_retryable_error_type(exc.error_type, getattr(exc, "code", None))


def _report(exc: BaseException) -> None:
    """One line on standard error (and the traceback first, with CODEY_DEBUG=1)."""
    try:
        from codey._secrets import redact

        if os.environ.get("CODEY_DEBUG", "") not in ("", "0"):
            import traceback

            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write(redact(text))
        sys.stderr.write(f"codey: error: {redact(describe(exc))}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # standard error itself is gone
        pass


def describe(exc: BaseException) -> str:
    """An error as one line of text, as ``main`` prints it after ``codey: error:``."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, Terminated):
        return f"terminated ({exc.name})"
    if isinstance(exc, MissingAPIKeyError):
        return _missing_key(exc)
    if isinstance(exc, OSError) and not isinstance(exc, CodeyError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    elif isinstance(exc, (CodeyError, OSError, ValueError, TypeError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (set CODEY_DEBUG=1 for a traceback)"
    return " ".join(text.split()) or type(exc).__name__


#: What a newcomer without a key can do at once (see "codey.testing" in the README).
TRY_WITHOUT_KEY = "python -m codey.testing serve"


def _missing_key(exc: MissingAPIKeyError) -> str:
    """Which variable to set, and how to try codey with no key at all."""
    if exc.provider and exc.env_var:
        text = f"no API key for {exc.provider}: set {exc.env_var}"
    else:  # the library's own message ("... (or pass api_key=)") is for Python callers
        text = " ".join(str(exc).split()) or "no API key"
    return f"{text} (or try codey with no key: {TRY_WITHOUT_KEY})"


def _fail(message: str) -> int:
    """A failure with the original tool's exact message (no "codey: error:" prefix)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return 1


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture it): nothing will flush at exit


# -- input and output ---------------------------------------------------------


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop as Ctrl-C does, and exit with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


class _terminate_on_signals:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    So ``save`` and ``chat --file`` close a partial answer in the file (a note
    and the user delimiter) as they do on Ctrl-C, instead of dying mid-write.
    """

    def __enter__(self) -> None:
        import signal
        import threading

        self.previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, frame: object) -> None:
            raise Terminated(signum)

        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                self.previous[number] = signal.signal(number, handler)

    def __exit__(self, *exc_info: object) -> None:
        import signal

        for number, previous in self.previous.items():
            signal.signal(number, previous)


class InputError(ValueError):
    """Input codey will not use: empty, too big, not text, or not a regular file."""


#: The most bytes read from standard input, INPUT or a chat-log file (CODEY_MAX_INPUT).
MAX_INPUT = 64 * 1024 * 1024
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def max_input(environ: Optional[dict[str, str]] = None) -> int:
    """The input size limit in bytes: $CODEY_MAX_INPUT (such as 1000, 512k, 64M), else 64 MiB."""
    value = (os.environ if environ is None else environ).get("CODEY_MAX_INPUT", "").strip()
    if not value:
        return MAX_INPUT
    number, unit = value.rstrip("kKmMgGiIbB"), value[len(value.rstrip("kKmMgGiIbB")) :]
    unit = unit.lower().rstrip("b").rstrip("i")
    try:
        limit = int(number) * _UNITS[unit]
    except (ValueError, KeyError):
        limit = 0
    if limit <= 0:
        raise InputError(f"CODEY_MAX_INPUT must be a positive size such as 64M, not {value!r}")
    return limit


def _size(limit: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def _too_big(what: str, limit: int) -> InputError:
    return InputError(
        f"{what} is bigger than the {_size(limit)} input limit (CODEY_MAX_INPUT changes it)"
    )


def _decode(data: bytes, what: str, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Bytes as text; invalid bytes are an error naming where, unless ``errors`` says otherwise."""
    try:
        return data.decode(encoding, errors)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{what} is not valid {encoding}: byte 0x{byte} at offset {exc.start} "
            f"({exc.reason}); use --encoding or --errors replace"
        ) from None


def _read_limited(read: Callable[[int], Any], limit: int, what: str) -> Any:
    """Read to the end, but never more than ``limit`` (one more says it is too big)."""
    data = read(limit + 1)
    if len(data) > limit:
        raise _too_big(what, limit)
    return data


def _is_devnull(stream: object) -> bool:
    """Standard input is /dev/null (``< /dev/null``, cron, a closed stdin): no input at all."""
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
        null = os.stat(os.devnull)
    except (AttributeError, OSError, ValueError):
        return False
    return (info.st_dev, info.st_ino, info.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)


def _read_input(
    argument: Optional[str], args: Optional[argparse.Namespace] = None, what: str = "prompt"
) -> Optional[str]:
    """INPUT, else standard input when it is not a terminal; None when there is none.

    Both are bytes decoded with ``--encoding`` (default UTF-8) and ``--errors``
    (default strict: invalid bytes are an error naming the offset), at most
    :func:`max_input` bytes. Standard input is stripped. Standard input that
    is a terminal or /dev/null is no input (None); input that is empty or only
    whitespace is an :class:`InputError` (``no prompt: ... empty``).
    """
    from codey._cli_status import isatty

    encoding = getattr(args, "encoding", None) or "utf-8"
    errors = getattr(args, "errors", None) or "strict"
    limit = max_input()
    if argument is not None:
        source = "INPUT"
        # The argument's bytes as the shell passed them (Python kept bad ones as surrogates).
        data = os.fsencode(argument)
        if len(data) > limit:
            raise _too_big(source, limit)
        text = _decode(data, source, encoding, errors)
    else:
        stdin = sys.stdin
        if stdin is None or isatty(stdin) or _is_devnull(stdin):
            return None
        source = "standard input"
        raw = getattr(stdin, "buffer", None)
        if raw is not None:
            text = _decode(_read_limited(raw.read, limit, source), source, encoding, errors)
        else:
            text = _read_limited(stdin.read, limit, source)
        text = text.lstrip("\ufeff").strip()
    if not text.strip():
        empty = "INPUT is empty" if argument is not None else "standard input was empty"
        raise InputError(f"no {what}: {empty}")
    return text


def _stdout() -> TextIO:
    """Standard output, writing UTF-8 whatever the locale says."""
    out = sys.stdout
    import io

    if isinstance(out, io.TextIOWrapper) and out.encoding.lower().replace("-", "") != "utf8":
        out.reconfigure(encoding="utf-8")
    return out


def _terminal() -> Terminal:
    from codey._cli_status import Terminal

    return Terminal(_stdout(), sys.stderr)


def _has_prompt(chat: Chat) -> bool:
    return any(message.role != "system" for message in chat.messages)


def _choose_model(flag: Optional[str], chat: Chat, config: Config) -> Optional[str]:
    """flag > the chat log's front matter > $CODEY_MODEL > the config file; aliases resolved."""
    model = flag or chat.settings.model or os.environ.get("CODEY_MODEL") or config.model
    return config.resolve(model) if model else None


def _request(
    args: argparse.Namespace, config: Config, model: Optional[str], chat: Chat
) -> dict[str, Any]:
    """The keywords for codey.stream(): only what was given, so the library's defaults hold.

    Each setting is the flag, else the config file's (the model's own table,
    then [defaults]). A chat log with its own system message keeps it: the
    config file's system message is for conversations without one.
    """
    from codey._api import DEFAULT_MODEL
    from codey._config import MODEL_SETTINGS

    settings = config.settings_for(model or DEFAULT_MODEL)
    if any(message.role == "system" for message in chat.messages):
        settings.pop("system", None)
    options: dict[str, Any] = {}
    if model:
        options["model"] = model
    for name in MODEL_SETTINGS:
        value = getattr(args, name, None)
        if value is None:
            value = settings.get(name)
        if value is not None:
            options[name] = value
    return options


def _show(args: argparse.Namespace, config: Config, settings: Optional[ChatSettings]) -> Show:
    from codey._cli_answer import Show
    from codey._cli_status import status_delay

    mode = "chunk" if getattr(args, "chunk", False) else "text"
    if getattr(args, "events", False):
        mode = "events"
    return Show(
        mode=mode,
        add_delimiters=getattr(args, "add_delimiters", False),
        settings=settings,
        no_stream=getattr(args, "no_stream", False),
        reasoning=args.reasoning,
        usage=args.usage,
        stats=args.stats,
        delay=status_delay(config.status_delay),
    )


# -- commands -----------------------------------------------------------------


def _cmd_prompt(args: argparse.Namespace) -> int:
    text = _read_input(args.input, args)
    if text is None:
        return _fail(NO_PROMPT)
    config: Config = args.config
    terminal = _terminal()
    models: list[str] = args.model or []
    try:
        chat = _ending_on_a_prompt(codey.parse_chat(text), text)
        if not _has_prompt(chat):
            return _fail(NO_PROMPT)
        show = _show(args, config, chat.settings)
        if len(models) > 1:
            requests = [
                (model, _request(args, config, config.resolve(model), chat)) for model in models
            ]
        else:
            model = _choose_model(models[0] if models else None, chat, config)
            options = _request(args, config, model, chat)
    except Exception as exc:
        if args.events:  # the consumer still gets its one final record
            from codey._cli_answer import error_record, json_line

            out = _stdout()
            out.write(json_line(error_record(exc, 0)))
            out.flush()
        raise
    from codey._cli_answer import stream_one, stream_several

    if len(models) > 1:
        return stream_several(chat.messages, requests, show, terminal)
    stream_one(chat.messages, options, show, terminal)
    return 0


def _ending_on_a_prompt(chat: Chat, text: str) -> Chat:
    """The conversation to send: it must end on a user message.

    A log that ends with the user delimiter and nothing after it (as ``codey
    save`` leaves it) has no new prompt: the conversation up to the last user
    message is sent, so the model answers that, as if asked again. A log whose
    last section is an assistant message is an error: it asks nothing.
    """
    from codey._chatlog import last_role

    messages = list(chat.messages)
    if not messages or messages[-1].role != "assistant":
        return chat
    if last_role(text) != "user":
        raise InputError(
            "the chat log ends with an answer, not a prompt: write a prompt after "
            "the user delimiter, or use codey save to add one"
        )
    while messages and messages[-1].role == "assistant":
        messages.pop()
    import attrs

    return attrs.evolve(chat, messages=messages)


def _check_prompt(args: argparse.Namespace) -> Optional[str]:
    """What argparse cannot check on its own: a usage error, or None."""
    models: list[str] = args.model or []
    if args.add_delimiters and args.events:
        return "argument --add-delimiters: not allowed with argument --events"
    if len(models) > 1 and args.add_delimiters:
        return "argument --add-delimiters: not allowed with several models"
    if len(set(models)) != len(models):
        return "argument -m/--model: each model may be given only once"
    return None


def _cmd_save(args: argparse.Namespace) -> int:
    text = _read_input(args.input, args)
    if text is None:
        return _fail(NO_PROMPT)
    config: Config = args.config
    terminal = _terminal()
    with _terminate_on_signals(), _locked(args.file) as (log, existing):
        if not stream_turn(args, config, log, existing, text, terminal):
            return _fail(NO_PROMPT)
    return 0


def stream_turn(
    args: argparse.Namespace,
    config: Config,
    log: IO[str],
    existing: str,
    text: str,
    terminal: Terminal,
    cancel: Optional[threading.Event] = None,
) -> bool:
    """Append ``text`` and its streamed answer to a chat log; False if there is no prompt.

    The answer reaches ``log`` as it streams; if the stream fails or is
    interrupted, what arrived stays, with a note, and the user delimiter.
    """
    from codey._cli_answer import stream_one

    chat, joint, prompt = _continue(existing, text)
    if not _has_prompt(chat):
        return False
    settings = chat.settings
    options = _request(args, config, _choose_model(args.model, chat, config), chat)
    writer = _SaveWriter(log, joint + prompt + settings.delimiter("assistant"), settings)
    from codey._chatlog import mark_interrupted

    # An answer stopped with Ctrl-C is sent marked as such, so the model knows it was cut.
    messages = mark_interrupted(existing + joint + prompt).messages
    try:
        stream_one(
            messages,
            options,
            _show(args, config, None),
            terminal,
            on_text=writer.write,
            on_done=writer.finish,
            cancel=cancel,
        )
    except BaseException as exc:
        writer.interrupted(exc)
        raise
    return True


def _continue(existing: str, prompt: str) -> tuple[Chat, str, str]:
    """The conversation once ``prompt`` is appended to a chat log, what goes
    between, and the prompt as written (delimiter lines in it escaped).

    A log that ends with the user delimiter (as ``save`` leaves it) gets the
    prompt right after it, byte for byte as the original tool wrote it. A log
    that ends otherwise gets what it needs for the prompt to start a new user
    message: a newline, the rest of the delimiter, or the whole user delimiter.
    """
    from codey._chatlog import escape_delimiters, parse_chat, starts_body
    from codey._types import Message

    if not existing.strip():
        written = escape_delimiters(prompt, at_start=starts_body(existing))
        return parse_chat(existing + written), "", written
    before = parse_chat(existing)  # an invalid front matter fails here, before any write
    settings = before.settings
    probe = "codey-probe"
    wanted = [*before.messages, Message("user", probe)]
    tail = existing[len(existing.rstrip()) :]
    suffix = settings.delimiter_suffix
    candidates = ["", "\n"]
    if suffix.startswith(tail):
        candidates.append(suffix[len(tail) :])
    candidates.append(settings.delimiter("user"))
    joint = candidates[-1]
    for candidate in candidates:
        try:
            if parse_chat(existing + candidate + probe).messages == wanted:
                joint = candidate
                break
        except ChatLogError:
            continue
    written = escape_delimiters(prompt, settings, at_start=starts_body(existing + joint))
    return parse_chat(existing + joint + written), joint, written


class _SaveWriter:
    """Appends one exchange to the chat-log file as the answer streams.

    Nothing is written until the first piece of the answer arrives (or the
    answer ends empty), so a request that fails outright leaves the file as it
    was and can simply be run again.
    """

    def __init__(self, log: IO[str], head: str, settings: ChatSettings) -> None:
        from codey._chatlog import Escaper

        self.log = log
        self.head: Optional[str] = head
        self.settings = settings
        self.done = False
        # The model's text is escaped too: a line like "# === USER ===" in it stays text.
        self.escaper = Escaper(settings)

    def _put(self, text: str) -> None:
        if self.head is not None:
            text, self.head = self.head + text, None
        self.log.write(text)
        self.log.flush()

    def write(self, piece: str) -> None:
        self._put(self.escaper.feed(piece))

    def finish(self) -> None:
        self._put(self.escaper.flush() + self.settings.delimiter("user"))
        self.done = True

    def interrupted(self, exc: BaseException) -> None:
        """Close a partial answer: a note for the reader, then the user delimiter."""
        if self.head is not None or self.done:
            return  # nothing arrived (the file is untouched), or the answer is whole
        from codey._chatlog import interrupted_note

        if isinstance(exc, KeyboardInterrupt):
            reason = "Ctrl-C"
        elif isinstance(exc, Terminated):
            reason = exc.name
        elif isinstance(exc, BrokenPipeError):
            reason = "standard output was closed"
        else:
            reason = f"{type(exc).__name__}: {describe(exc)}"
        separator = "" if self.settings.delimiter_prefix.startswith("\n") else "\n"
        try:
            self._put(
                self.escaper.flush()
                + "\n\n"
                + interrupted_note(reason)
                + separator
                + self.settings.delimiter("user")
            )
        except OSError:
            pass  # the original error matters more


def check_log_file(path: str) -> None:
    """Refuse a chat-log path that is not a regular file (a device, a FIFO, /proc).

    Reading ``/dev/zero`` would never end; a file in ``/proc`` says its size
    is 0 yet has content, so it is caught by reading one byte.
    """
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError:
        return  # created when opened
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file; a chat log must be one")
    if info.st_size == 0:
        try:
            with open(path, "rb") as probe:
                data = probe.read(1)
        except OSError:
            return  # opening it for writing will say why
        if data:
            raise InputError(f"{path}: not a regular file (its size is 0, yet it has content)")


class _locked:
    """Open ``path`` for appending (created if needed), holding an exclusive lock.

    Two ``codey save`` runs on one file take turns instead of interleaving. Where
    ``fcntl`` is missing (Windows) or the file system has no locks, codey goes on
    without one. What the file holds is read (at most :func:`max_input` bytes,
    as UTF-8) once the lock is held.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> tuple[IO[str], str]:
        """The file to append to, and the text it holds."""
        check_log_file(self.path)
        self.log = log = open(self.path, "a+", encoding="utf-8", newline="")
        try:
            self._lock(log)
            return log, self._read(log)
        except BaseException:  # Ctrl-C while waiting for the lock, or a bad file
            log.close()
            raise

    #: Seconds of waiting for the lock before saying so (on a terminal's stderr).
    NOTICE_DELAY = 1.0

    def _lock(self, log: IO[str]) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        from codey._cli_status import isatty

        fd = log.fileno()
        try:
            if isatty(sys.stderr) and not self._try_lock(fd, self.NOTICE_DELAY):
                sys.stderr.write(f"codey: waiting for {self.path} (locked by another codey)...\n")
                sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - a file system without locks
            pass

    @staticmethod
    def _try_lock(fd: int, seconds: float) -> bool:
        """Try for the lock for ``seconds`` without blocking; True once it is held."""
        import fcntl
        import time

        # flock has no timeout: poll, which costs nothing next to the wait itself.
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    def _read(self, log: IO[str]) -> str:
        import stat

        fd = log.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since it was checked
            raise InputError(f"{self.path}: not a regular file; a chat log must be one")
        limit = max_input()
        os.lseek(fd, 0, os.SEEK_SET)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        os.lseek(fd, 0, os.SEEK_END)
        if size > limit:
            raise _too_big(self.path, limit)
        return _decode(b"".join(chunks), self.path)

    def __exit__(self, *exc_info: object) -> None:
        self.log.close()  # closing releases the lock


def _cmd_models(args: argparse.Namespace) -> int:
    out = _stdout()
    # codey.models() lists them grouped by provider, in codey.providers() order.
    out.write("".join(f"{name}\n" for name in codey.models()))
    out.flush()
    return 0


def _cmd_providers(args: argparse.Namespace) -> int:
    out = _stdout()
    out.write("".join(f"{name}\n" for name in codey.providers()))
    out.flush()
    return 0


def _cmd_buffer(args: argparse.Namespace) -> int:
    from codey._cli_status import isatty

    if args.input is None and not isatty(sys.stdin):
        from codey._render import Spinner

        with Spinner(sys.stderr):
            text = _read_input(None, args, "input")
    else:
        text = _read_input(args.input, args, "input")
    if text is None:
        return _fail(NO_INPUT.format("buffering"))
    out = _stdout()
    out.write(text.strip() + "\n")
    out.flush()
    return 0


def _cmd_format(args: argparse.Namespace) -> int:
    text = _read_input(args.input, args, "input")
    if text is None:
        return _fail(NO_INPUT.format("formatting"))
    from codey._render import format_markdown

    out = _stdout()
    out.write(format_markdown(text))
    out.flush()
    return 0


def _cmd_color(args: argparse.Namespace) -> int:
    text = _read_input(args.input, args, "input")
    if text is None:
        return _fail(NO_INPUT.format("colorizing"))
    from codey._render import color_markdown

    color_markdown(text, _stdout(), no_color=bool(os.environ.get("NO_COLOR")))
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    config: Config = args.config
    out = _stdout()
    if args.path:
        out.write(config.path + "\n")
    else:
        from codey._config import report

        out.write(report(config))
    out.flush()
    return 0


def _cmd_completion(args: argparse.Namespace) -> int:
    from codey._cli_completion import completion_script

    config: Config = args.config
    names = [*config.aliases, *codey.models(), *config.names()]
    out = _stdout()
    out.write(completion_script(args.shell, build_parser(), names))
    out.flush()
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from codey._cli_chat import run_chat

    return run_chat(args)
