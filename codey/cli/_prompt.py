"""``codey prompt`` and ``codey save``: one prompt, its answer streamed to stdout or a chat log."""

from __future__ import annotations

import attrs

import codey
from codey.cli._exit import fail
from codey.cli._io import InputError, read_input, read_inputs, stdout, terminal
from codey.cli._options import choose_model, has_prompt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Optional

    from codey._chatlog import Chat
    from codey.cli._context import Run

__all__ = ["NO_PROMPT", "ending_on_a_prompt", "run_prompt", "run_save"]

NO_PROMPT = "No prompt supplied (argument or stdin required)."


def run_prompt(run: Run) -> int:
    """``codey prompt``: the answer (or several models' answers) on standard output."""
    from codey.cli import _tools

    stdin = _tools.read_stdin_bytes() if "-" in run.attach else None
    piped, given = read_inputs(run.input, run)
    if piped is None and given is None:
        return fail(NO_PROMPT)
    config = run.config
    models = run.models
    tools: dict[str, Any] = {}
    try:
        chat, lead = conversation(piped, given, raw=run.raw, attach_from=run.attach_from)
        if run.add_delimiters and lead is None:
            raise InputError(
                "the chat log ends with an empty user section, as codey save leaves it: "
                "write the next prompt after it (with --add-delimiters, the answer would "
                "follow the last answer)"
            )
        if not has_prompt(chat):
            return fail(NO_PROMPT)
        chat = _tools.attach_to_prompt(chat, _tools.attachments(run, stdin))
        tools = _tools.tool_options(run, _tools.on_terminal())
        show = attrs.evolve(run.show(chat.settings), lead=lead or "")
        if len(models) > 1:
            requests = [
                (model, run.request_options(config.resolve(model), chat)) for model in models
            ]
        else:
            model = choose_model(run.model, chat, config)
            options = {**run.request_options(model, chat), **tools}
    except Exception as exc:
        if run.events:  # the consumer still gets its one final record
            from codey.cli._records import error_record, json_line

            out = stdout()
            out.write(json_line(error_record(exc, 0)))
            out.flush()
        raise
    from codey.cli._answer import stream_one, stream_several

    if len(models) > 1:
        return stream_several(chat.messages, requests, show, terminal())
    ask = _tools.asker(run, tools)
    stream_one(chat.messages, options, show, terminal(), ask=ask, allowed=run.allow_tools)
    return 0


def conversation(
    piped: Optional[str], given: Optional[str], *, raw: bool, attach_from: Sequence[str] = ()
) -> tuple[Chat, Optional[str]]:
    """What ``codey prompt`` sends: the piped text, then INPUT; and what
    ``--add-delimiters`` writes before the answer (None: the log asks its last
    prompt again, and the answer cannot simply be appended).

    Each is read as a chat log (its attachments only from the current folder
    and ``attach_from``), unless ``raw``: then the two, joined by a blank line,
    are one plain user message. INPUT after a piped chat log is its next user
    message, or the end of its last one when that is the user's.
    """
    from codey._chatlog import Chat, escape_delimiters
    from codey._types import Message

    if raw:
        joined = "\n\n".join(part for part in (piped, given) if part is not None)
        return Chat([Message("user", joined)]), ""
    if piped is None or given is None:
        text = given if piped is None else piped
        assert text is not None
        parsed = codey.parse_chat(text, attach_from=attach_from)
        chat = ending_on_a_prompt(parsed, text)
        return chat, "" if chat.messages == parsed.messages else None
    chat = codey.parse_chat(piped, attach_from=attach_from)
    messages = list(chat.messages)
    if messages and messages[-1].role == "user":
        last = messages.pop()
        messages.append(attrs.evolve(last, content=f"{last.content}\n\n{given}"))
        lead = "\n\n" + escape_delimiters(given, chat.settings)
    else:
        from codey.cli._logfile import continue_log

        messages.append(Message("user", given))
        _, joint, written = continue_log(piped, given, attach_from=attach_from)
        lead = joint + written
    return attrs.evolve(chat, messages=messages), lead


def ending_on_a_prompt(chat: Chat, text: str) -> Chat:
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
    return attrs.evolve(chat, messages=messages)


def run_save(run: Run) -> int:
    """``codey save``: the prompt and its answer appended to a chat log as it streams."""
    import os

    from codey.cli import _tools
    from codey.cli._logfile import locked, stream_turn
    from codey.cli._signals import terminate_on_signals

    stdin = _tools.read_stdin_bytes() if "-" in run.attach else None
    text = read_input(run.input, run)
    if text is None:
        return fail(NO_PROMPT)
    assert run.file is not None  # codey save has a default file
    found = _tools.attachments(run, stdin)
    base_dir = os.path.dirname(os.path.abspath(run.file))
    if found:  # a name the log cannot hold is refused before the file is created
        from codey._chatlog import attachment_lines

        attachment_lines(found, True, base_dir)
    with terminate_on_signals(), locked(run.file) as (log, existing):
        if not stream_turn(
            run, log, existing, text, terminal(), attachments=found, base_dir=base_dir
        ):
            return fail(NO_PROMPT)
    return 0
