"""The errors codey raises.

::

    CodeyError(Exception)
    ├── MissingAPIKeyError         the message names the environment variable to set
    ├── MissingBaseURLError        also a ValueError: a provider with no default endpoint (Azure)
    ├── InvalidAPIKeyError         also a ValueError: a key that cannot go in a header
    ├── UnknownModelError          also a ValueError
    ├── ChatLogError               also a ValueError: invalid front matter (names the line)
    ├── UnsupportedOptionError     also a ValueError: an option the provider cannot honour
    │   └── AttachmentError        an attachment codey cannot send: its type, its size
    ├── APIStatusError             .status_code .provider .message
    │   ├── RedirectError          3xx: API calls never follow a redirect; .location
    │   ├── AuthenticationError    401, 403
    │   ├── BadRequestError        400, 404, 413, 422 (and other 4xx)
    │   ├── RateLimitError         429
    │   └── ServerError            408, 409, 5xx, 529
    ├── NetworkError               could not connect, or the connection broke before the response
    ├── StreamError                an error event or malformed data mid-stream; .partial_text
    │   ├── IncompleteStreamError  the body ended before the provider's end marker
    │   └── StructuredOutputError  also a ValueError: the answer is not JSON matching the schema
    ├── ConnectTimeoutError        also a TimeoutError: no response within connect_timeout
    ├── ChunkTimeoutError          also a TimeoutError: silence longer than chunk_timeout
    ├── CancelledError             complete() of a stream closed or cancelled before its end
    ├── DeadlineExceededError      also a TimeoutError: the whole call took longer than deadline
    ├── ToolCallError              also a ValueError: the model called an unknown tool or sent
    │                              arguments that are not a JSON object, or an MCP server's
    │                              tool failed, hung or crashed (sent back, kept)
    ├── TooManyToolRoundsError     run_tools=True: the model still asked for tools after
    │                              max_tool_rounds rounds of them
    ├── MCPError                   an MCP server that could not be started, initialized or
    │                              listed (codey.MCP.open()); .server
    ├── BatchInputError            also a ValueError: a malformed batch line, or an id twice
    └── BatchOutputError           a batch's output file is not one, or is in use

    UserWarning
    └── ModelWarning               a retired model asked for, that the provider answers
                                   with another (issued through ``warnings``)

Every error carries ``.partial_text``: the text the caller had been given
before it was raised (empty when none). Errors pickle with their attributes,
so Celery and multiprocessing can carry them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

__all__ = [
    "APIStatusError",
    "AttachmentError",
    "CancelledError",
    "AuthenticationError",
    "BadRequestError",
    "BatchInputError",
    "BatchOutputError",
    "ChatLogError",
    "ChunkTimeoutError",
    "CodeyError",
    "ConnectTimeoutError",
    "DeadlineExceededError",
    "IncompleteStreamError",
    "InvalidAPIKeyError",
    "MCPError",
    "MissingAPIKeyError",
    "MissingBaseURLError",
    "ModelWarning",
    "NetworkError",
    "RateLimitError",
    "RedirectError",
    "ServerError",
    "StreamError",
    "StructuredOutputError",
    "ToolCallError",
    "TooManyToolRoundsError",
    "UnknownModelError",
    "UnsupportedOptionError",
]


def _restore(cls: type[CodeyError], args: tuple[Any, ...], state: dict[str, Any]) -> CodeyError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class CodeyError(Exception):
    """The root of every error codey raises on purpose."""

    #: The text yielded to the caller before the error (set when raised from a stream).
    partial_text: str = ""

    def __init__(self, message: str, **attributes: Any) -> None:
        super().__init__(message)
        self.__dict__.update(attributes)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class MissingAPIKeyError(CodeyError):
    """No API key for the provider: the message names the variable to set."""

    provider: Optional[str] = None
    env_var: Optional[str] = None


class MissingBaseURLError(CodeyError, ValueError):
    """A provider with no default endpoint (Azure): the message names the variable to set."""

    provider: Optional[str] = None
    env_var: Optional[str] = None


class InvalidAPIKeyError(CodeyError, ValueError):
    """A key that cannot be sent in an HTTP header (control or non-ASCII characters).

    The message names where the key came from, never the key.
    """

    provider: Optional[str] = None
    env_var: Optional[str] = None


class UnknownModelError(CodeyError, ValueError):
    """The model name matches no known provider."""

    model: Optional[str] = None


class UnsupportedOptionError(CodeyError, ValueError):
    """An option the model's provider cannot honour (a thinking budget for OpenAI...)."""


class ModelWarning(UserWarning):
    """A retired model was asked for: the provider still answers its name, with
    another model (the message names its replacement and the retirement date).

    Issued through :mod:`warnings` by :func:`codey.stream` as the request starts;
    ``warnings.simplefilter("error", codey.ModelWarning)`` makes it an error.
    """


class AttachmentError(UnsupportedOptionError):
    """An attachment codey cannot send: a type it cannot tell or send, or too big.

    A missing or unreadable file is the ``OSError`` that says so.
    """


class ChatLogError(CodeyError, ValueError):
    """A chat log that cannot be read: invalid front matter or settings."""

    #: 1-based line number in the chat-log text, when known.
    line: Optional[int] = None


class APIStatusError(CodeyError):
    """The provider answered with an HTTP error status."""

    status_code: int = 0
    provider: Optional[str] = None
    #: Seconds the server asked us to wait (``Retry-After``), if it said.
    retry_after: Optional[float] = None
    #: The provider's error type (``overloaded_error``, ``rate_limit_exceeded``...), if given.
    error_type: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.provider} returned HTTP {self.status_code}: {self.message}"


class AuthenticationError(APIStatusError):
    """401 or 403: the key is wrong, revoked or lacks access."""


class BadRequestError(APIStatusError):
    """400, 404, 413, 422 and other client errors: the request itself is wrong."""


class RedirectError(APIStatusError):
    """A 3xx: codey never follows a redirect with a key in the headers.

    ``location`` is the ``Location`` header; the message names its host.
    """

    location: Optional[str] = None


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; retried with backoff."""


class ServerError(APIStatusError):
    """408, 409, 5xx, 529: the provider is busy or failing; retried with backoff."""


class NetworkError(CodeyError, ConnectionError):
    """Could not connect, or the connection broke before the response began."""


class StreamError(CodeyError):
    """An error event or malformed data in the stream."""

    provider: Optional[str] = None
    #: The provider's error type, such as ``overloaded_error``.
    error_type: Optional[str] = None


class IncompleteStreamError(StreamError):
    """The connection closed before the provider's end-of-stream marker."""


class StructuredOutputError(StreamError, ValueError):
    """With ``schema=``: the answer is not valid JSON, or not JSON that matches the schema.

    ``partial_text`` is the whole answer as the model sent it;
    ``validation_message`` says where and how it fails the schema (None when
    it is not JSON at all).
    """

    validation_message: Optional[str] = None


class ConnectTimeoutError(CodeyError, TimeoutError):
    """No response (connect and headers) within ``connect_timeout``."""


class ChunkTimeoutError(CodeyError, TimeoutError):
    """The server said nothing for ``chunk_timeout`` seconds (``first_chunk_timeout``
    before the first content)."""


class CancelledError(CodeyError):
    """``complete()`` of a stream that was closed or cancelled before its end."""


class DeadlineExceededError(CodeyError, TimeoutError):
    """The whole call took longer than ``deadline`` seconds."""


class ToolCallError(CodeyError, ValueError):
    """A tool call that could not be run: an unknown tool, arguments that are not a
    JSON object, or a ``codey.MCP`` tool that failed (``isError``), did not answer
    within its ``timeout``, or whose server crashed (the message quotes the end of
    the server's stderr). The tool loop sends it back to the model as an error
    result and keeps it in ``Stream.tool_errors``; only calling an MCP tool's
    ``function`` yourself raises it."""

    #: The :class:`codey.ToolCall` the model made.
    call: Any = None


class TooManyToolRoundsError(CodeyError):
    """With ``run_tools=True``, the model still asked for tools after ``max_tool_rounds``."""

    rounds: int = 0


class MCPError(CodeyError):
    """An MCP server that could not be started, initialized or listed (``codey.MCP``),
    or ``codey.MCP`` without what it needs (the ``mcp`` SDK, Python 3.10).

    The message names the server and quotes the end of its standard error.
    """

    #: The server's name (``MCP.name``), if one was involved.
    server: Optional[str] = None


class BatchInputError(CodeyError, ValueError):
    """A batch's input that cannot be run: a malformed line, or an id given twice.

    Raised before any request when the input can be read twice (a file, a list).
    """

    #: The input file, if the input is one.
    path: Optional[str] = None
    #: 1-based line (JSONL) or row (CSV) number, or position in the iterable.
    line: Optional[int] = None


class BatchOutputError(CodeyError):
    """A batch's output file that cannot be used: a line in it is not a batch record,
    it is not a regular file, or another batch is writing to it."""

    path: Optional[str] = None
    line: Optional[int] = None


class ProviderBatchError(CodeyError):
    """A provider batch (OpenAI's Batch API, Anthropic's Message Batches) that did not
    answer a line: it expired or was cancelled before the line ran, the batch failed
    validation, or its results leave the line out. A line's error record names it.
    """

    provider: Optional[str] = None
    #: The provider's id of the batch (``batch_...``, ``msgbatch_...``).
    batch_id: Optional[str] = None
    #: What became of the line: ``expired``, ``canceled``, ``failed`` or ``missing``.
    status: Optional[str] = None


def chunk_timeout_message(provider: str, seconds: Optional[float], first: bool = False) -> str:
    """The one wording of a chunk timeout (raised by the worker or by the caller);
    ``first``: before the first content, where a model may still be thinking."""
    if first:
        return (
            f"{provider} sent no content for {seconds} s after the response began "
            "(first_chunk_timeout; a reasoning model may think longer: raise it with "
            "first_chunk_timeout= or --first-chunk-timeout)"
        )
    return f"{provider} sent nothing for {seconds} s (chunk_timeout)"


def status_error_class(status: int) -> type[APIStatusError]:
    """Map an HTTP status to its error class."""
    if status in (401, 403):
        return AuthenticationError
    if 300 <= status < 400:
        return RedirectError
    if status in (408, 409, 429) or status >= 500:
        return RateLimitError if status == 429 else ServerError
    return BadRequestError


for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, CodeyError):
        _cls.__module__ = "codey"
del _cls
