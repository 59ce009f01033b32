"""The smallest MCP server over stdio, in plain Python (no SDK: it starts in a few
milliseconds, for the test that opens and closes a hundred sessions).

It answers ``initialize``, ``tools/list`` (two tools, ``ping`` and ``fail``) and
``tools/call`` as the 2025-11-25 revision of the protocol says (a call of ``fail``
with a JSON-RPC error: a protocol error, not a tool's ``isError``), and exits when
its stdin closes.
"""

import json
import sys

for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:  # a notification
        continue
    method = message.get("method")
    if method == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "tiny", "version": "1"},
        }
    elif method == "tools/list":
        schema = {"type": "object", "properties": {}}
        result = {
            "tools": [
                {"name": "ping", "description": "pong", "inputSchema": schema},
                {"name": "fail", "description": "a JSON-RPC error", "inputSchema": schema},
            ]
        }
    elif method == "tools/call" and message["params"]["name"] == "fail":
        error = {"code": -32603, "message": "the tool table is corrupt"}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}), flush=True)
        continue
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "pong"}], "isError": False}
    else:
        error = {"code": -32601, "message": f"no method {method}"}
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
