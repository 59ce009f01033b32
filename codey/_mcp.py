"""``codey.MCP``: the tools of an MCP server, called from plain synchronous code.

The official ``mcp`` SDK is asyncio (anyio) at heart. Each :class:`MCP` runs
it on an event loop of its own, in a thread of its own (``codey-mcp-NAME``):
never the caller's loop, so a call works from plain code, from a function
called inside a running event loop, and in a gevent-patched process (see
``codey._loopthread``). The caller hands each call over with ``call_soon_threadsafe`` and waits at
most ``timeout`` seconds for its answer; a call that takes longer is cancelled
on the loop. A local server's standard error goes into a pipe the loop reads,
of which the last few KB are kept to explain a crash or a hang.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import attrs

from codey._errors import MCPError, ToolCallError
from codey._loopthread import Signal, gevent_patched, gevent_stdio, new_loop, start_thread
from codey._secrets import redact, remember

if TYPE_CHECKING:
    import asyncio

    from codey._attachments import Attachment
    from codey._tools import Tool

__all__ = ["MCP", "OPEN_TIMEOUT", "STDERR_TAIL"]

#: The most bytes of a local server's standard error quoted in an error.
STDERR_TAIL = 4096
#: The least time opening may take, whatever the (calls') timeout.
OPEN_TIMEOUT = 60.0
#: How long past ``timeout`` the caller waits for the loop to report a cancelled call.
_GRACE = 5.0
_INSTALL = "pip install 'codey[mcp]'"


def _require_sdk() -> None:
    if sys.version_info < (3, 10):
        raise MCPError(
            "codey.MCP needs Python 3.10 or later (the mcp SDK does), "
            f"and this is {sys.version.split()[0]}"
        )
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise MCPError(f"codey.MCP needs the mcp SDK: {_INSTALL}") from None


class MCP:
    """An MCP server whose tools the model may call: a local one over stdio, or a remote
    one over streamable HTTP.

    ``MCP(["prog", "arg"], env=..., cwd=...)`` starts ``prog`` as a subprocess;
    ``MCP(url="https://...", headers=...)`` connects to a remote server. Header
    and ``env`` values are treated as secrets: never shown in a message or repr.
    ``timeout`` is the most seconds one tool call may take (opening may take
    that, or a minute if that is more: a server may be downloaded first).
    ``name`` is what messages call the server (by default the program's base
    name, or the URL's host).

    Use it as a context manager, or call :meth:`open` and :meth:`close`.
    :attr:`tools` are ordinary :class:`codey.Tool` values (reading them opens
    the server if it is not open yet); ``tools=[server, my_function]`` mixes
    them with functions.
    """

    def __init__(
        self,
        command: Optional[Sequence[str]] = None,
        *,
        url: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[Union[str, os.PathLike[str]]] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 60.0,
        name: Optional[str] = None,
    ) -> None:
        if (command is None) == (url is None):
            raise TypeError("codey.MCP takes a command or a url= (exactly one)")
        if command is not None:
            if isinstance(command, (str, bytes)):
                raise TypeError('command is a list: ["program", "argument", ...], not a string')
            command = [os.fspath(part) for part in command]
            if not command or not all(isinstance(part, str) for part in command):
                raise ValueError("command must name a program (a non-empty list of strings)")
            if headers is not None:
                raise TypeError("headers= go with url=; a local server takes env=")
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError(f"an MCP server's url must be http(s), not {url!r}")
            if env is not None or cwd is not None:
                raise TypeError("env= and cwd= go with a command; a remote server takes headers=")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        _require_sdk()
        self.command: Optional[tuple[str, ...]] = None if command is None else tuple(command)
        self.url = url
        self.cwd = None if cwd is None else os.fspath(cwd)
        self.timeout = float(timeout)
        self._env = dict(env or {})
        self._headers = dict(headers or {})
        # Keep their values out of every message and repr, as the providers' keys are;
        # env also carries settings ("true", "/usr/bin"), which no token looks like.
        remember([*filter(_may_be_secret, self._env.values()), *self._headers.values()])
        remember(value.split(None, 1)[1] for value in self._headers.values() if " " in value)
        self.name = name or _default_name(self.command, url)
        self._lock = threading.Lock()
        self._connection: Optional[_Connection] = None
        self._finalizer: Optional[weakref.finalize[Any, Any]] = None

    def __repr__(self) -> str:
        where = " ".join(self.command) if self.command else redact(self.url or "")
        state = "open" if self._connection is not None else "closed"
        return f"<codey.MCP {self.name!r} {redact(where)} {state}>"

    def __enter__(self) -> MCP:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open(self) -> MCP:
        """Start the server (or connect), initialize the session and list its tools.

        Does nothing if already open. :raises MCPError: it failed (the message
        names the server and quotes the end of its standard error).
        """
        with self._lock:
            if self._connection is None:
                connection = _Connection(self)
                # Never closed: its server still stops when this is collected (no
                # variable and no tool of it left), or at exit.
                self._finalizer = weakref.finalize(self, connection.close)
                self._connection = connection
        return self

    def close(self) -> None:
        """Cancel the calls in flight, end the session, stop the server and its thread.

        Does nothing if already closed; the server may be opened again.
        """
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            connection.close()

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The server's tools as :class:`codey.Tool` values (opens the server if needed).

        Each one's ``function`` calls the server; it keeps this ``MCP`` alive.
        """
        connection = self.open()._connection
        if connection is None:  # closed meanwhile
            return ()
        return tuple(
            attrs.evolve(tool, function=_ToolFunction(self, connection.names[tool.name]))
            for tool in connection.tools
        )


def _may_be_secret(value: str) -> bool:
    """An env value worth hiding: long enough for a token, and not a path."""
    return len(value) >= 8 and not value.startswith(("/", "~", "."))


def _default_name(command: Optional[Sequence[str]], url: Optional[str]) -> str:
    if command:
        return os.path.basename(command[0]) or command[0]
    from urllib.parse import urlsplit

    return urlsplit(url or "").hostname or "mcp"


class _Connection:
    """One session with a server: its loop, its thread, its tools.

    It holds no reference to its :class:`MCP` (whose collection stops it).
    """

    def __init__(self, spec: MCP) -> None:
        self.name = spec.name
        # Starting a server may mean downloading it first (npx, uvx): more than a call.
        self.open_timeout = max(spec.timeout, OPEN_TIMEOUT)
        self._command = spec.command
        self._url = spec.url
        self._cwd = spec.cwd
        self._env = spec._env
        self._headers = spec._headers
        self.tools: tuple[Tool, ...] = ()
        #: The server's own name of each tool, by the tool's name (see _list).
        self.names: dict[str, str] = {}
        self._loop = new_loop()
        self._ready = Signal()
        self._done = Signal()
        self._error: Optional[BaseException] = None
        self._stop: Optional[asyncio.Event] = None
        self._session: Any = None
        self._calls: set[asyncio.Task[Any]] = set()
        self._stderr = bytearray()
        self._stderr_fd: Optional[int] = None
        #: The status of the remote server's last HTTP error response.
        self._http_status: Optional[int] = None
        self._closed = False
        self._thread = start_thread(self._run, f"codey-mcp-{spec.name}")
        if not self._ready.wait(self.open_timeout + _GRACE) or self._error is not None:
            detail = _describe(self._error, self.open_timeout)
            self.close()
            raise MCPError(
                redact(f"the MCP server {self.name!r} {detail}{self._tail()}"), server=self.name
            ) from None

    # -- the loop's thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
        except BaseException as exc:  # kept for the caller, not lost in this thread
            self._error = self._error or exc
        finally:
            self._read_stderr()
            if self._stderr_fd is not None:
                os.close(self._stderr_fd)
                self._stderr_fd = None
            self._loop.close()
            self._ready.set()
            self._done.set()

    async def _main(self) -> None:
        import asyncio
        from contextlib import AsyncExitStack

        from mcp import ClientSession

        self._stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                if self._command is not None:
                    transport = self._stdio(stack)
                else:
                    transport = await self._http(stack)
                read, write = await stack.enter_async_context(transport)
                if self._stderr_fd is not None:
                    self._loop.add_reader(self._stderr_fd, self._read_stderr)
                self._session = await stack.enter_async_context(ClientSession(read, write))
                self.tools = await asyncio.wait_for(self._list(self._session), self.open_timeout)
                self._ready.set()
                await self._stop.wait()
                for task in list(self._calls):
                    task.cancel()
        except BaseException as exc:
            if not self._ready.is_set():
                self._error = exc
            elif not isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            if self._stderr_fd is not None:
                self._loop.remove_reader(self._stderr_fd)

    def _stdio(self, stack: Any) -> Any:
        from mcp import StdioServerParameters, stdio_client

        assert self._command is not None
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self._stderr_fd = read_fd
        # The child gets a copy of the write end; ours closes when the transport ends.
        errlog = stack.enter_context(os.fdopen(write_fd, "w"))
        if gevent_patched():
            return gevent_stdio(self._command, self._env, self._cwd, write_fd)
        # The SDK's few safe variables (PATH, HOME...) and env=: not the caller's keys.
        params = StdioServerParameters(
            command=self._command[0],
            args=list(self._command[1:]),
            env=self._env,
            cwd=self._cwd,
        )
        return stdio_client(params, errlog=errlog)

    async def _http(self, stack: Any) -> Any:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        assert self._url is not None
        client = await stack.enter_async_context(create_mcp_http_client(headers=self._headers))

        async def note(response: Any) -> None:  # the SDK's errors leave the status out
            if response.status_code >= 400:
                self._http_status = response.status_code

        client.event_hooks["response"].append(note)
        return streamable_http_client(self._url, http_client=client)

    async def _list(self, session: Any) -> tuple[Tool, ...]:
        """Initialize, and list the tools (every page): without functions (``MCP.tools``
        adds them, so that the connection holds no reference to its MCP)."""
        from mcp.types import PaginatedRequestParams

        from codey._tools import Tool

        await session.initialize()
        listed: list[Any] = []
        cursor = None
        while True:
            params = None if cursor is None else PaginatedRequestParams(cursor=cursor)
            page = await session.list_tools(params=params)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        tools = []
        for tool in listed:
            # MCP names may hold dots and run to 128 characters; the providers' may not.
            name = re.sub(r"[^a-zA-Z0-9_-]", "_", tool.name)[:64]
            self.names[name] = tool.name
            description = tool.description or tool.title or ""
            tools.append(Tool(name=name, description=description, parameters=tool.input_schema))
        return tuple(tools)

    def _read_stderr(self) -> None:
        """What the server wrote to stderr so far: the last STDERR_TAIL bytes are kept.

        Runs in the loop's thread only (which alone closes the pipe).
        """
        fd = self._stderr_fd
        while fd is not None:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                if not self._loop.is_closed():
                    self._loop.remove_reader(fd)
                return
            self._stderr += data
            del self._stderr[:-STDERR_TAIL]

    async def _call(self, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
        import asyncio

        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            return await asyncio.wait_for(self._session.call_tool(tool, arguments), timeout)
        finally:
            self._calls.discard(task)
            self._read_stderr()  # a crash's last words, before the caller reads them

    # -- the caller's thread ------------------------------------------------------

    def call(self, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
        """The server's ``CallToolResult``; a ToolCallError if none came in ``timeout``."""
        import asyncio

        done = Signal()
        box: dict[str, Any] = {}

        def finished(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                box["error"] = asyncio.CancelledError()
            elif task.exception() is not None:
                box["error"] = task.exception()
            else:
                box["result"] = task.result()
            done.set()

        def start() -> None:
            task = self._loop.create_task(self._call(tool, arguments, timeout))
            task.add_done_callback(finished)

        what = f"tool {tool!r} of the MCP server {self.name!r}"
        try:
            self._loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop has ended: closed, or the session ended
            raise ToolCallError(f"{what} cannot be called: the server is closed") from None
        if not done.wait(timeout + _GRACE):
            raise ToolCallError(f"{what} did not answer within {timeout:g} seconds")
        if "error" not in box:
            return box["result"]
        detail = _describe(box["error"], timeout)
        raise ToolCallError(redact(f"{what} {detail}{self._tail()}"))

    def _tail(self) -> str:
        """What explains a failure: the end of the server's stderr, or its HTTP status."""
        text = bytes(self._stderr).decode("utf-8", "replace").strip()
        if text:
            return f"; the end of its stderr:\n{text}"
        return f" (HTTP status {self._http_status})" if self._http_status else ""

    def stop(self) -> None:
        """Ask the loop to end the session (it cancels the calls in flight); no wait."""

        def stop() -> None:
            if self._stop is not None:
                self._stop.set()

        try:
            self._loop.call_soon_threadsafe(stop)
        except RuntimeError:  # already ended
            pass

    def close(self) -> None:
        """Stop, and wait for the server and the thread to end (only stop, if called
        in the loop's thread: a garbage collection there, of an MCP left open)."""
        import asyncio

        if self._closed:
            return
        self.stop()
        if asyncio._get_running_loop() is self._loop:
            return
        self._closed = True
        self._done.wait()
        if self._thread is not None:
            self._thread.join()


class _ToolFunction:
    """A server's tool as a Python function: what ``Tool.function`` calls."""

    def __init__(self, spec: MCP, tool: str) -> None:
        self._spec = spec
        self._tool = tool

    def __repr__(self) -> str:
        return f"<MCP tool {self._tool!r}>"

    def __call__(self, **arguments: Any) -> Union[str, list[Union[str, Attachment]]]:
        spec = self._spec
        connection = spec._connection
        if connection is None:
            raise ToolCallError(f"tool {self._tool!r} of the MCP server {spec.name!r} is closed")
        result = connection.call(self._tool, arguments, spec.timeout)
        return _content(spec.name, self._tool, result)


def _content(server: str, tool: str, result: Any) -> Union[str, list[Union[str, Attachment]]]:
    """What a CallToolResult says, as text and attachments (images)."""
    from mcp import types

    from codey._attachments import Attachment
    from codey._errors import AttachmentError

    parts: list[Union[str, Attachment]] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
            continue
        mime, data, label = None, None, ""
        if isinstance(block, (types.ImageContent, types.AudioContent)):
            mime, data = block.mime_type, block.data
            label = "audio" if isinstance(block, types.AudioContent) else "an image"
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                parts.append(resource.text)
                continue
            mime, data, label = resource.mime_type, resource.blob, f"the resource {resource.uri}"
        elif isinstance(block, types.ResourceLink):
            about = f": {block.description}" if block.description else ""
            parts.append(f"[resource {block.name} at {block.uri}{about}]")
            continue
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} that codey cannot read]")
            continue
        try:
            parts.append(Attachment.from_bytes(base64.b64decode(data or ""), mime))
        except (AttachmentError, binascii.Error, ValueError):
            parts.append(f"[{label} ({mime or 'of no type'}) that codey cannot send to a model]")
    texts = [part for part in parts if isinstance(part, str)]
    if result.structured_content is not None and not texts:
        texts = [json.dumps(result.structured_content, ensure_ascii=False)]
        parts.insert(0, texts[0])
    if result.is_error:
        said = "\n".join(texts) or "(no message)"
        raise ToolCallError(f"tool {tool!r} of the MCP server {server!r} failed: {said}")
    return "\n".join(texts) if len(texts) == len(parts) else parts


def _describe(error: Optional[BaseException], seconds: float) -> str:
    """What went wrong, to end a sentence about the server or the call (None: no
    answer in time); of a task group's error, its first real cause."""
    import asyncio

    while getattr(error, "exceptions", None):  # an ExceptionGroup: its first
        error = error.exceptions[0]  # type: ignore[union-attr]
    if error is None or isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return f"did not answer within {seconds:g} seconds"  # one class since 3.11
    if isinstance(error, asyncio.CancelledError):
        return "was cancelled: the server was closed during the call"
    if type(error).__module__.startswith("mcp"):  # its messages say what it is
        return f"failed: {error or type(error).__name__}"
    return f"failed: {type(error).__name__}" + (f": {error}" if str(error) else "")
