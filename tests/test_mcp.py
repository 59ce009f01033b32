"""codey.MCP: a real MCP server (tests/mcp_servers/server.py, written with the official
SDK) over stdio and over streamable HTTP on 127.0.0.1, called from plain code, from
inside a running event loop and in a gevent-patched process."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import codey
from codey.testing import FakeProvider, RecordedRequest, Reply, ToolCall, answer
from tests.helpers import MODELS, ROOT, kwargs_for, wait_until

pytest.importorskip("mcp", reason="codey.MCP needs the mcp SDK (Python 3.10+)")

SERVERS = Path(__file__).parent / "mcp_servers"
SERVER = [sys.executable, str(SERVERS / "server.py")]
TINY = [sys.executable, str(SERVERS / "tiny.py")]
TOKEN = "mcp-token-SECRET-0123456789"
#: Opening starts a Python process that imports the SDK: generous, for a busy machine.
OPEN = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[codey.MCP]:
    """One stdio server for the tests that only call its well-behaved tools."""
    with codey.MCP(SERVER, timeout=OPEN, name="test") as opened:
        yield opened


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The same server over streamable HTTP on 127.0.0.1 (it wants the bearer TOKEN)."""
    env = {**os.environ, "MCP_TEST_TOKEN": TOKEN}
    proc = subprocess.Popen([*SERVER, "http"], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())  # printed once it listens
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def by_name(mcp: codey.MCP) -> dict[str, codey.Tool]:
    return {tool.name: tool for tool in mcp.tools}


def call(mcp: codey.MCP, tool: str, /, **arguments: object) -> object:
    function = by_name(mcp)[tool].function
    assert function is not None
    return function(**arguments)


# -- the tools and what they return --------------------------------------------------


def test_tools_come_from_the_server(server: codey.MCP) -> None:
    tools = by_name(server)
    assert set(tools) == {
        "echo",
        "picture",
        "measure",
        "assorted",
        "broken",
        "hang",
        "crash",
        "environment",
        "notes_read",
    }
    echo = tools["echo"]
    assert echo.description == "Says the text back."
    assert echo.parameters["properties"]["text"]["type"] == "string"
    assert echo.parameters["required"] == ["text"]


def test_a_name_the_providers_do_not_take(server: codey.MCP) -> None:
    """``notes.read`` is offered as ``notes_read``, and called by its own name."""
    assert call(server, "notes_read") == "the notes"


def test_text(server: codey.MCP) -> None:
    assert call(server, "echo", text="hello") == "echo: hello"


def test_an_image_is_an_attachment(server: codey.MCP) -> None:
    caption, image = call(server, "picture")  # type: ignore[misc]
    assert caption == "a red dot"
    assert isinstance(image, codey.Attachment)
    assert image.mime == "image/png"
    assert image.data is not None
    assert image.data.startswith(b"\x89PNG")


def test_structured_content_only_is_its_json(server: codey.MCP) -> None:
    assert json.loads(call(server, "measure")) == {"width": 3, "unit": "cm"}  # type: ignore[arg-type]


def test_other_content_is_text_saying_what_it_is(server: codey.MCP) -> None:
    assert call(server, "assorted") == "\n".join(
        [
            "the notes",
            "[resource big.csv at file:///big.csv]",
            "[audio (audio/wav) that codey cannot send to a model]",
            "[an image (image/x-unknown) that codey cannot send to a model]",
        ]
    )


def test_arguments_the_server_refuses(server: codey.MCP) -> None:
    with pytest.raises(
        codey.ToolCallError, match=r"^tool 'echo' of the MCP server 'test' failed: "
    ):
        call(server, "echo", words="hi")


def test_is_error_is_a_tool_call_error(server: codey.MCP) -> None:
    with pytest.raises(codey.ToolCallError) as caught:
        call(server, "broken")
    assert str(caught.value) == "tool 'broken' of the MCP server 'test' failed: the disk is full"


def test_calls_from_several_threads_at_once(server: codey.MCP) -> None:
    answers: dict[int, object] = {}

    def caller(number: int) -> None:
        answers[number] = call(server, "echo", text=str(number))

    threads = [threading.Thread(target=caller, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=OPEN)
    assert answers == {number: f"echo: {number}" for number in range(8)}


def test_mixed_with_functions(server: codey.MCP) -> None:
    from codey._tools import to_tools

    def shout(text: str) -> str:
        """Upper case."""
        return text.upper()

    tools = to_tools([server, shout])
    assert [tool.name for tool in tools][-1] == "shout"
    assert {tool.name for tool in tools} >= {"echo", "picture", "shout"}


def test_names_and_repr() -> None:
    local = codey.MCP(["/usr/local/bin/some-server", "--flag"], env={"SOME_TOKEN": TOKEN})
    assert local.name == "some-server"
    assert repr(local) == "<codey.MCP 'some-server' /usr/local/bin/some-server --flag closed>"
    remote = codey.MCP(url="https://mcp.example.com/v1", headers={"X-Key": TOKEN}, name="ex")
    assert remote.name == "ex"
    assert codey.MCP(url="https://mcp.example.com/v1").name == "mcp.example.com"
    assert TOKEN not in repr(remote)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((["prog"],), {"url": "http://127.0.0.1/mcp"}),
        (("prog --flag",), {}),
        ((["prog"],), {"headers": {"A": "b"}}),
        ((), {"url": "http://127.0.0.1/mcp", "env": {"A": "b"}}),
    ],
)
def test_a_command_or_a_url(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        codey.MCP(*args, **kwargs)  # type: ignore[arg-type]


def test_bad_values() -> None:
    with pytest.raises(ValueError, match="http"):
        codey.MCP(url="ftp://example.com")
    with pytest.raises(ValueError, match="program"):
        codey.MCP([])
    with pytest.raises(ValueError, match="timeout"):
        codey.MCP(["prog"], timeout=0)


# -- failures -------------------------------------------------------------------------


def test_a_hung_call_times_out_with_the_stderr_tail() -> None:
    """timeout bounds a call; opening may take longer (a minute, at least)."""
    with codey.MCP(SERVER, timeout=0.5, name="slow") as mcp:
        started = time.monotonic()
        with pytest.raises(codey.ToolCallError) as caught:
            call(mcp, "hang")
        assert time.monotonic() - started < 5.0  # 0.5 s, and a generous bound
        message = str(caught.value)
        assert message.startswith("tool 'hang' of the MCP server 'slow' did not answer within 0.5")
        assert "hang: started" in message
        mcp.timeout = OPEN
        assert call(mcp, "echo", text="still there") == "echo: still there"


def test_a_crash_is_a_tool_call_error_with_the_stderr_tail() -> None:
    with codey.MCP(SERVER, timeout=OPEN, name="fragile") as mcp:
        with pytest.raises(codey.ToolCallError) as caught:
            call(mcp, "crash")
        message = str(caught.value)
        assert message.startswith("tool 'crash' of the MCP server 'fragile' failed: ")
        assert message.endswith("crash: the server fell over")
        with pytest.raises(codey.ToolCallError):  # and so is every later call
            call(mcp, "echo", text="anyone?")


def test_a_protocol_error_is_a_tool_call_error() -> None:
    with codey.MCP(TINY, timeout=OPEN, name="tiny") as mcp:
        with pytest.raises(codey.ToolCallError) as caught:
            call(mcp, "fail")
        assert str(caught.value) == (
            "tool 'fail' of the MCP server 'tiny' failed: the tool table is corrupt"
        )
        assert call(mcp, "ping") == "pong"  # the session goes on


def test_a_server_that_never_answers_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("codey._mcp.OPEN_TIMEOUT", 1.0)
    command = [
        sys.executable,
        "-c",
        "import sys, time; print('loading', file=sys.stderr); time.sleep(60)",
    ]
    started = time.monotonic()
    with pytest.raises(codey.MCPError) as caught:
        codey.MCP(command, timeout=0.5, name="mute").open()
    assert time.monotonic() - started < 20.0  # 1 s, stopping it, and a generous bound
    assert str(caught.value) == (
        "the MCP server 'mute' did not answer within 1 seconds; the end of its stderr:\nloading"
    )


def test_a_server_that_exits_at_once_cannot_open() -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('no config file at ~/.srv')"]
    mcp = codey.MCP(command, timeout=OPEN, name="broken-server")
    with pytest.raises(codey.MCPError) as caught:
        mcp.open()
    message = str(caught.value)
    assert message.startswith("the MCP server 'broken-server' failed: ")
    assert message.endswith("no config file at ~/.srv")
    assert caught.value.server == "broken-server"
    assert repr(mcp).endswith(" closed>")


def test_a_program_that_is_not_there_cannot_open() -> None:
    mcp = codey.MCP(["/nonexistent/mcp-server"], timeout=OPEN)
    with pytest.raises(codey.MCPError, match=r"the MCP server 'mcp-server' failed: .*nonexistent"):
        mcp.open()


def test_env_values_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    """env= reaches the server; its values are kept out of messages and reprs."""
    monkeypatch.setenv("CODEY_MCP_TEST", "the caller's")
    with codey.MCP(SERVER, env={"SOME_TOKEN": TOKEN}, timeout=OPEN) as mcp:
        assert call(mcp, "environment", name="SOME_TOKEN") == TOKEN
        # Nor does the server get the caller's own environment: the SDK's safe few only.
        assert call(mcp, "environment", name="CODEY_MCP_TEST") == "(unset)"
        assert TOKEN not in repr(mcp)
    tell = f"import sys; sys.exit('the token is {TOKEN}... no, ' + {TOKEN!r})"
    with pytest.raises(codey.MCPError) as caught:
        codey.MCP([sys.executable, "-c", tell], env={"SOME_TOKEN": TOKEN}).open()
    assert TOKEN not in str(caught.value)
    assert "[REDACTED]" in str(caught.value)


def test_env_settings_are_not_taken_for_secrets() -> None:
    """A short setting or a path in env= stays readable in messages; a token-like value does not."""
    tell = "import sys; sys.exit('mode=verbose dir=/opt/tools/bin token=' + sys.argv[1])"
    server = codey.MCP(
        [sys.executable, "-c", tell, "zq8-token-71c4e2"],
        env={"MODE": "verbose", "TOOLS": "/opt/tools/bin", "API": "zq8-token-71c4e2"},
        timeout=OPEN,
    )
    with pytest.raises(codey.MCPError) as caught:
        server.open()
    assert "mode=verbose dir=/opt/tools/bin token=[REDACTED]" in str(caught.value)


# -- closing ----------------------------------------------------------------------------


def test_close_cancels_a_call_in_flight(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    mcp = codey.MCP(SERVER, timeout=OPEN, name="busy").open()
    echo = by_name(mcp)["echo"].function
    assert echo is not None
    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            call(mcp, "hang", marker=str(marker))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert wait_until(marker.exists, timeout=OPEN)  # the server is in the call
    pid = int(marker.read_text())
    mcp.close()
    thread.join(timeout=10.0)
    assert not thread.is_alive()
    assert isinstance(outcome[0], codey.ToolCallError)
    assert "was cancelled: the server was closed during the call" in str(outcome[0])
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    mcp.close()  # again: nothing happens
    with pytest.raises(codey.ToolCallError, match="tool 'echo' of the MCP server 'busy' is closed"):
        echo(text="hello?")


def _children() -> set[int]:
    """This process's child processes (Linux)."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.add(int(entry))
    return found


def test_a_hundred_sessions_leave_nothing_behind() -> None:
    """No thread, child process or file descriptor is left after 100 sessions."""
    with codey.MCP(TINY, timeout=OPEN) as warm:  # imports done, first fds taken
        call(warm, "ping")
    threads = set(threading.enumerate())
    children = _children()
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(100):
        with codey.MCP(TINY, timeout=OPEN) as mcp:
            assert call(mcp, "ping") == "pong"
    assert wait_until(lambda: set(threading.enumerate()) <= threads, timeout=10.0)
    assert wait_until(lambda: _children() <= children, timeout=10.0)
    assert len(os.listdir("/proc/self/fd")) <= fds + 2


def test_an_mcp_lives_as_long_as_its_tools() -> None:
    """``tools=[codey.MCP(...)]`` with no variable: the tools keep the server open;
    once they are gone too, it is stopped (no thread, no child process left)."""
    children = _children()
    tools = codey.MCP(TINY, timeout=OPEN, name="inline").tools
    gc.collect()
    function = tools[0].function
    assert function is not None
    assert function() == "pong"
    assert len(_children() - children) == 1
    del tools, function
    gc.collect()
    assert wait_until(lambda: _children() <= children, timeout=10.0)
    assert wait_until(lambda: not any(t.name == "codey-mcp-inline" for t in threading.enumerate()))


# -- where it runs -----------------------------------------------------------------------


def test_from_inside_a_running_event_loop(server: codey.MCP) -> None:
    """A plain function that uses MCP, called from a coroutine: no clash of loops."""

    async def main() -> object:
        return call(server, "echo", text="from async")

    assert asyncio.run(main()) == "echo: from async"


def test_open_inside_a_running_event_loop() -> None:
    async def main() -> object:
        with codey.MCP(TINY, timeout=OPEN) as mcp:
            return call(mcp, "ping")

    assert asyncio.run(main()) == "pong"


def test_a_tool_loop_inside_a_running_event_loop(server: codey.MCP, fake: FakeProvider) -> None:
    """Issue 25's done-when, from a coroutine: the model calls the server's tool and answers."""
    fake.push(
        answer(tool_calls=[ToolCall(0, "c1", "echo", '{"text": "from the loop"}')]),
        answer("It echoed."),
    )

    async def main() -> str:
        return codey.complete(
            "Echo something", tools=[server], run_tools=True, **kwargs_for(fake, "anthropic")
        )

    assert asyncio.run(main()) == "It echoed."
    assert "echo: from the loop" in json.dumps(fake.requests[-1].json)


GEVENT_LOOP_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, sys, codey

with codey.MCP(SERVER, timeout=30, name="g") as mcp:
    print(codey.complete("Echo something", tools=[mcp], run_tools=True, **json.loads(sys.argv[1])))
"""


def test_a_tool_loop_under_gevent(fake: FakeProvider) -> None:
    """Issue 25's done-when, in a process gevent patched first (the fake serves from here)."""
    pytest.importorskip("gevent")
    fake.push(
        answer(tool_calls=[ToolCall(0, "c1", "echo", '{"text": "from gevent"}')]),
        answer("It echoed."),
    )
    options = kwargs_for(fake, "openai")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            GEVENT_LOOP_SCRIPT.replace("SERVER", repr(SERVER)),
            json.dumps(options),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "It echoed.\n"
    assert "echo: from gevent" in json.dumps(fake.requests[-1].json)


GEVENT_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import sys, gevent, codey

ticks = []
def ticker():
    while True:
        ticks.append(1)
        gevent.sleep(0.01)

background = gevent.spawn(ticker)
with codey.MCP(ARGUMENTS, timeout=30, name="g") as mcp:
    tools = {tool.name: tool for tool in mcp.tools}
    print(tools["echo"].function(text="under gevent"))
    print(tools["picture"].function())
    before = len(ticks)
    mcp.timeout = 0.5
    try:
        tools["hang"].function()
    except codey.ToolCallError as exc:
        print(str(exc).splitlines()[0])
    print("the hub ran meanwhile:", len(ticks) > before)
    if CRASH:
        try:
            tools["crash"].function()
        except codey.ToolCallError as exc:
            print(str(exc).splitlines()[-1])
background.kill()
from tests.test_mcp import _children
print("child processes left:", len(_children()))
"""


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_under_gevent(transport: str, http_url: str) -> None:
    """In a process that gevent patched first: the MCP thread is a real one, and the
    caller's waits let other greenlets run."""
    pytest.importorskip("gevent")
    if transport == "stdio":
        arguments = repr(SERVER)
    else:
        url = http_url.replace("127.0.0.1", "localhost")  # a name to look up, too
        arguments = f"url={url!r}, headers={{'Authorization': 'Bearer {TOKEN}'}}"
    crash = transport == "stdio"  # the HTTP server serves the other tests too
    script = GEVENT_SCRIPT.replace("ARGUMENTS", arguments).replace("CRASH", str(crash))
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "echo: under gevent",
        "['a red dot', <codey.Attachment image/png 70 bytes>]",
        "tool 'hang' of the MCP server 'g' did not answer within 0.5 seconds"
        + ("; the end of its stderr:" if transport == "stdio" else ""),
        "the hub ran meanwhile: True",
        *(["crash: the server fell over"] if crash else []),
        "child processes left: 0",
    ]


# -- over streamable HTTP -------------------------------------------------------------------


def test_over_http(http_url: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    threads = set(threading.enumerate())
    url = http_url.replace("127.0.0.1", "localhost")  # looked up in a thread of asyncio's
    with codey.MCP(url=url, headers=headers, timeout=OPEN) as mcp:
        assert mcp.name == "localhost"
        assert call(mcp, "echo", text="over HTTP") == "echo: over HTTP"
        _, image = call(mcp, "picture")  # type: ignore[misc]
        assert isinstance(image, codey.Attachment)
        mcp.timeout = 0.5
        with pytest.raises(codey.ToolCallError, match=r"did not answer within 0\.5 seconds"):
            call(mcp, "hang")
        assert TOKEN not in repr(mcp)
    assert set(threading.enumerate()) <= threads  # that one too is gone


def test_http_header_values_never_show(http_url: str) -> None:
    wrong = "Bearer wrong-SECRET-9876543210"
    with pytest.raises(codey.MCPError) as caught:
        codey.MCP(url=http_url, headers={"Authorization": wrong}, timeout=OPEN).open()
    assert str(caught.value) == (
        "the MCP server '127.0.0.1' failed: Server returned an error response (HTTP status 401)"
    )


def test_import_codey_does_not_import_the_sdk() -> None:
    code = (
        "import sys, codey; codey.MCP; "
        "print([m for m in ('mcp', 'asyncio', 'anyio') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the tool loop: what the server returned, in each provider's form --------------------


def _png_b64(server: codey.MCP) -> str:
    """The picture tool's image, base64 (as the server sent it)."""
    _, image = call(server, "picture")  # type: ignore[misc]
    return image.base64()  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_an_image_goes_back_in_each_providers_form(
    server: codey.MCP, fake: FakeProvider, provider: str
) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request.json)
        if len(seen) == 1:
            return answer(tool_calls=[ToolCall(0, "c1", "picture", ["{}"])])
        return answer("A red dot.")

    fake.responder = responder
    text = codey.complete("Draw", tools=[server], run_tools=True, **kwargs_for(fake, provider))
    assert text == "A red dot."
    data = _png_b64(server)
    second = seen[1]
    if provider == "anthropic":
        assert second["messages"][-1] == {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "c1",
                    "content": [
                        {"type": "text", "text": "a red dot"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": data},
                        },
                    ],
                }
            ],
        }
    elif provider == "openai-responses":
        assert second["input"][-1] == {
            "type": "function_call_output",
            "call_id": "c1",
            "output": [
                {"type": "input_text", "text": "a red dot"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{data}"},
            ],
        }
    else:  # Chat Completions: the text in the tool message, the image in a user message
        assert second["messages"][-2:] == [
            {"role": "tool", "tool_call_id": "c1", "content": "a red dot"},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "[codey: what the tool call c1 returned besides text]",
                    },
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
                ],
            },
        ]


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_text_structured_and_errors_go_back(
    server: codey.MCP, fake: FakeProvider, provider: str
) -> None:
    """Three calls in one round, to the server and to a Python function: text,
    structured content, and a failure (isError), each answered in order."""

    def shout(text: str) -> str:
        """Upper case."""
        return text.upper()

    seen: list[dict[str, Any]] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request.json)
        if len(seen) > 1:
            return answer("Done.")
        return answer(
            tool_calls=[
                ToolCall(0, "c1", "echo", ['{"text": "hi"}']),
                ToolCall(1, "c2", "measure", ["{}"]),
                ToolCall(2, "c3", "broken", ["{}"]),
                ToolCall(3, "c4", "shout", ['{"text": "hi"}']),
            ]
        )

    fake.responder = responder
    with codey.stream(
        "Go", tools=[server, shout], run_tools=True, **kwargs_for(fake, provider)
    ) as stream:
        assert "".join(stream) == "Done."
    outputs = [result.output for result in stream.tool_results]
    broken = "error: ToolCallError: tool 'broken' of the MCP server 'test' failed: the disk is full"
    assert outputs == ["echo: hi", '{"width": 3, "unit": "cm"}', broken, "HI"]
    assert [type(error) for error in stream.tool_errors] == [codey.ToolCallError]
    assert stream.tool_errors[0].call.id == "c3"  # type: ignore[attr-defined]
    if provider == "anthropic":
        results = seen[1]["messages"][-1]["content"]
        assert [(r["tool_use_id"], r["content"], r.get("is_error")) for r in results] == [
            ("c1", outputs[0], None),
            ("c2", outputs[1], None),
            ("c3", outputs[2], True),
            ("c4", outputs[3], None),
        ]
    elif provider == "openai-responses":
        results = [item for item in seen[1]["input"] if item["type"] == "function_call_output"]
        assert [(r["call_id"], r["output"]) for r in results] == list(
            zip(["c1", "c2", "c3", "c4"], outputs)
        )
    else:
        results = seen[1]["messages"][-4:]
        assert [(r["role"], r["tool_call_id"], r["content"]) for r in results] == [
            ("tool", f"c{number}", output) for number, output in enumerate(outputs, 1)
        ]


def test_a_hung_tool_goes_back_as_an_error(fake: FakeProvider) -> None:
    """A call that times out is an error result for the model, and the loop goes on."""
    seen: list[dict[str, Any]] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request.json)
        if len(seen) == 1:
            return answer(tool_calls=[ToolCall(0, "c1", "hang", ["{}"])])
        return answer("It hung.")

    fake.responder = responder
    with codey.MCP(SERVER, timeout=OPEN, name="slow") as mcp:
        mcp.timeout = 0.5
        stream = codey.stream("Go", tools=[mcp], run_tools=True, **kwargs_for(fake, "openai"))
        assert "".join(stream) == "It hung."
    sent = seen[1]["messages"][-1]
    assert sent["role"] == "tool"
    assert sent["content"].startswith(
        "error: ToolCallError: tool 'hang' of the MCP server 'slow' did not answer within 0.5"
    )
    assert "hang: started" in sent["content"]
