"""An asyncio event loop in a thread of its own, called from synchronous code, with
or without gevent (what ``codey.MCP`` runs the ``mcp`` SDK on).

In a gevent-patched process, ``threading``'s primitives are greenlets' and the
standard library's blocking calls wait on the hub of the thread that makes
them. The loop's thread is then a real OS thread (gevent's saved original),
the loop runs over the original selector, and the caller waits on a gevent
event, which another OS thread may set: the hub keeps serving the other
greenlets meanwhile. gevent is imported only if the process already has it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    import asyncio

__all__ = ["Signal", "gevent_patched", "gevent_stdio", "new_loop", "start_thread"]


def gevent_patched() -> bool:
    """Whether gevent has patched ``threading`` (its primitives are greenlets' then)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


#: Under gevent, the longest a caller's wait goes without a timer on its hub.
_KEEP_ALIVE = 1.0


class Signal:
    """A one-shot event set from the loop's thread and waited on by the caller.

    Under gevent, a gevent event (it may be set from another OS thread, and its
    wait lets the hub run); else a plain ``threading.Event``.
    """

    def __init__(self) -> None:
        self._event: Any
        self._gevent = gevent_patched()
        if self._gevent:
            import gevent.event

            self._event = gevent.event.Event()
        else:
            self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return bool(self._event.is_set())

    def wait(self, timeout: Optional[float] = None) -> bool:
        if not self._gevent:
            return bool(self._event.wait(timeout))
        # A hub with nothing else to wait for raises LoopExit, though another OS
        # thread will set the event: a timer keeps it waiting (a set from there
        # still wakes the caller at once).
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _KEEP_ALIVE if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return self.is_set()
            if self._event.wait(min(left, _KEEP_ALIVE)):
                return True


def start_thread(target: Callable[[], None], name: str) -> Optional[threading.Thread]:
    """Run ``target`` in a new OS thread: the Thread, or None under gevent (a real
    thread from gevent's saved original, which ``threading`` does not list)."""
    if gevent_patched():
        from gevent import monkey

        start_new_thread = monkey.get_original("_thread", "start_new_thread")
        start_new_thread(target, ())
        return None
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def new_loop() -> asyncio.AbstractEventLoop:
    """An event loop for the MCP thread. Under gevent: over the original selector
    (gevent's would wait on a hub, and this thread runs none), and running what
    it hands to its executor (a host name's lookup) in its own thread: the default
    executor's threads would be greenlets of a hub that never runs."""
    import asyncio

    if not gevent_patched():
        return asyncio.new_event_loop()
    from gevent import monkey

    loop = asyncio.SelectorEventLoop(monkey.get_original("selectors", "DefaultSelector")())
    loop.set_default_executor(_InPlace())
    return loop


class _InPlace(concurrent.futures.ThreadPoolExecutor):
    """Runs each function at once, in the submitting thread (a ThreadPoolExecutor
    only because asyncio takes no other: it starts no thread)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine
            future.set_exception(exc)
        return future


#: How long a server has to exit once its stdin is closed, then once sent SIGTERM
#: (the SDK's stdio_client waits as long).
_EXIT_WAIT = 2.0
#: The longest line (one JSON-RPC message) read from a server: an image is base64.
_MAX_LINE = 64 * 1024 * 1024


@contextlib.asynccontextmanager
async def gevent_stdio(
    command: Sequence[str], env: Mapping[str, str], cwd: Optional[str], stderr_fd: int
) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's ``stdio_client``, for a gevent-patched process.

    The SDK spawns through asyncio's subprocess support, which under gevent is
    gevent's ``Popen``: it needs the main thread's hub, and this loop runs in a
    thread of its own (and gevent disables the original ``Popen``). Here the
    server is spawned with ``os.posix_spawn`` and its pipes read and written
    with the loop's own pipe transports. The same newline-delimited JSON-RPC,
    the same environment (the SDK's safe variables and ``env``), the same
    shutdown: stdin closed, then SIGTERM to its process group, then SIGKILL.
    """
    import asyncio
    import shutil
    import signal

    import anyio
    from gevent import monkey
    from mcp import types
    from mcp.client.stdio import get_default_environment
    from mcp.shared.message import SessionMessage

    full_env = {**get_default_environment(), **env}
    program = shutil.which(command[0], path=full_env.get("PATH")) or command[0]
    argv = [program, *command[1:]]
    if cwd is not None:  # posix_spawn cannot change directory: a shell does, then execs
        argv = ["/bin/sh", "-c", 'cd -- "$0" && exec "$@"', cwd, *argv]
    # gevent's own posix_spawn and waitpid watch children from the main thread's hub.
    posix_spawn = monkey.get_original("os", "posix_spawn")
    waitpid = monkey.get_original("os", "waitpid")
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    try:
        pid = posix_spawn(
            argv[0],
            argv,
            full_env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
            ],
            setsid=True,
        )
    except BaseException:
        os.close(stdin_write)
        os.close(stdout_read)
        raise
    finally:
        os.close(stdin_read)
        os.close(stdout_write)
    status: list[int] = []

    def poll() -> bool:
        """Whether the server has exited (reaped here, or by gevent's child watcher)."""
        if not status:
            try:
                done, code = waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, code = pid, 0
            if done:
                status.append(code)
        return bool(status)

    async def exited(seconds: float) -> bool:
        with anyio.move_on_after(seconds):
            while not poll():
                await anyio.sleep(0.01)
        return poll()

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_MAX_LINE)
    stdout = os.fdopen(stdout_read, "rb", buffering=0)
    stdin = os.fdopen(stdin_write, "wb", buffering=0)
    try:
        read_pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), stdout
        )
        write_pipe, _ = await loop.connect_write_pipe(asyncio.Protocol, stdin)
    except BaseException:  # no server left behind
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        stdout.close()
        stdin.close()
        await exited(_EXIT_WAIT)
        raise
    incoming, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, outgoing = anyio.create_memory_object_stream[Any](0)

    async def read() -> None:
        async with incoming:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, OSError) as exc:  # a line over the limit, a broken pipe
                    await incoming.send(exc)
                    return
                if not line:
                    return
                try:
                    message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except ValueError as exc:
                    await incoming.send(exc)
                    continue
                await incoming.send(SessionMessage(message))

    async def write() -> None:
        async with outgoing:
            async for item in outgoing:
                data = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                if not write_pipe.is_closing():
                    write_pipe.write(data.encode() + b"\n")

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        group.start_soon(write)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                write_pipe.close()
                for next_signal in (signal.SIGTERM, signal.SIGKILL):
                    if await exited(_EXIT_WAIT):
                        break
                    with contextlib.suppress(OSError):
                        os.killpg(pid, next_signal)
                await exited(_EXIT_WAIT)
                read_pipe.close()
                for stream in (read_stream, write_stream):
                    await stream.aclose()
            group.cancel_scope.cancel()
