"""A real MCP server for the tests, written with the official SDK (``MCPServer``,
the SDK's FastMCP).

``python server.py`` serves it over stdio; ``python server.py http`` over
streamable HTTP on 127.0.0.1, on a port of the system's choosing, printed as
the first line of standard output once it listens. Over HTTP every request
must carry ``Authorization: Bearer $MCP_TEST_TOKEN`` when that is set.
"""

from __future__ import annotations

import base64
import os
import socket
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

#: A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

server = MCPServer("codey-test", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Says the text back."""
    return f"echo: {text}"


@server.tool()
def picture() -> CallToolResult:
    """A picture, with a caption."""
    data = base64.b64encode(PNG).decode("ascii")
    return CallToolResult(
        content=[
            TextContent(type="text", text="a red dot"),
            ImageContent(type="image", data=data, mime_type="image/png"),
        ]
    )


@server.tool()
def measure() -> CallToolResult:
    """Structured content only."""
    return CallToolResult(content=[], structured_content={"width": 3, "unit": "cm"})


@server.tool()
def assorted() -> CallToolResult:
    """An embedded text resource, a resource link, audio and an image of no known type."""
    return CallToolResult(
        content=[
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(uri="file:///notes.txt", text="the notes"),
            ),
            ResourceLink(type="resource_link", uri="file:///big.csv", name="big.csv"),
            AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
            ImageContent(type="image", data="AAAA", mime_type="image/x-unknown"),
        ],
        structured_content={"ignored": "there is text"},
    )


@server.tool()
def broken() -> CallToolResult:
    """A tool that reports a failure (isError)."""
    return CallToolResult(
        content=[TextContent(type="text", text="the disk is full")], is_error=True
    )


@server.tool()
async def hang(marker: str = "") -> str:
    """Never answers; writes the server's pid into ``marker`` (a path), if given, first."""
    print("hang: started", file=sys.stderr, flush=True)
    if marker:
        with open(marker + ".part", "w") as file:
            file.write(str(os.getpid()))
        os.replace(marker + ".part", marker)
    await anyio.sleep(3600)
    return "woke up"


@server.tool()
def crash() -> str:
    """Writes to stderr, then the process dies."""
    print("crash: the server fell over", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool(name="notes.read")
def read_notes() -> str:
    """A name with a dot, as MCP allows and the providers do not."""
    return "the notes"


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable of the server (for the env= test)."""
    return os.environ.get(name, "(unset)")


def _serve_http() -> None:
    import uvicorn

    token = os.environ.get("MCP_TEST_TOKEN")
    app = server.streamable_http_app()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and token:
            headers = dict(scope["headers"])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"no entry"})
                return
        await app(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(guarded, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        _serve_http()
    else:
        print("codey-test server: starting", file=sys.stderr, flush=True)
        server.run()
