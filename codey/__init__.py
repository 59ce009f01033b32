"""codey: LLMs on the command line and inside ordinary synchronous Python.

``import codey`` stays light: only the errors load here; everything else
(attrs, requests, sseclient-py) loads on first use, through ``__getattr__``.
"""

from codey._errors import (
    APIStatusError,
    AttachmentError,
    AuthenticationError,
    BadRequestError,
    BatchInputError,
    BatchOutputError,
    CancelledError,
    ChatLogError,
    ChunkTimeoutError,
    CodeyError,
    ConnectTimeoutError,
    DeadlineExceededError,
    IncompleteStreamError,
    InvalidAPIKeyError,
    MCPError,
    MissingAPIKeyError,
    MissingBaseURLError,
    ModelWarning,
    NetworkError,
    ProviderBatchError,
    RateLimitError,
    RedirectError,
    ServerError,
    StreamError,
    StructuredOutputError,
    ToolCallError,
    TooManyToolRoundsError,
    UnknownModelError,
    UnsupportedOptionError,
)
from codey._version import __version__ as __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._api import complete as complete
    from codey._api import complete_json as complete_json
    from codey._api import model_info as model_info
    from codey._api import models as models
    from codey._api import preload as preload
    from codey._api import providers as providers
    from codey._api import stream as stream
    from codey._attachments import Attachment as Attachment
    from codey._batch import BatchSummary as BatchSummary
    from codey._batch import batch as batch
    from codey._batch._files import BatchLine as BatchLine
    from codey._batch._files import read_batch_input as read_batch_input
    from codey._batch._files import read_batch_output as read_batch_output
    from codey._chatlog import Chat as Chat
    from codey._chatlog import ChatSettings as ChatSettings
    from codey._chatlog import parse_chat as parse_chat
    from codey._many import StreamMany as StreamMany
    from codey._many import stream_many as stream_many
    from codey._mcp import MCP as MCP
    from codey._models import ModelInfo as ModelInfo
    from codey._stream import Stream as Stream
    from codey._stream import Timings as Timings
    from codey._tools import ServerTool as ServerTool
    from codey._tools import Tool as Tool
    from codey._types import Citation as Citation
    from codey._types import Finish as Finish
    from codey._types import Message as Message
    from codey._types import ReasoningDelta as ReasoningDelta
    from codey._types import ServerToolCall as ServerToolCall
    from codey._types import TextDelta as TextDelta
    from codey._types import ToolCall as ToolCall
    from codey._types import ToolCallDelta as ToolCallDelta
    from codey._types import ToolResult as ToolResult
    from codey._types import Usage as Usage

__all__ = [
    "APIStatusError",
    "Attachment",
    "AttachmentError",
    "AuthenticationError",
    "BadRequestError",
    "BatchInputError",
    "BatchLine",
    "BatchOutputError",
    "BatchSummary",
    "CancelledError",
    "Chat",
    "ChatLogError",
    "ChatSettings",
    "ChunkTimeoutError",
    "Citation",
    "CodeyError",
    "ConnectTimeoutError",
    "DeadlineExceededError",
    "Finish",
    "IncompleteStreamError",
    "InvalidAPIKeyError",
    "MCP",
    "MCPError",
    "Message",
    "MissingAPIKeyError",
    "MissingBaseURLError",
    "ModelInfo",
    "ModelWarning",
    "NetworkError",
    "ProviderBatchError",
    "RateLimitError",
    "ReasoningDelta",
    "RedirectError",
    "ServerError",
    "ServerTool",
    "ServerToolCall",
    "Stream",
    "StreamError",
    "StreamMany",
    "StructuredOutputError",
    "TextDelta",
    "Timings",
    "TooManyToolRoundsError",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallError",
    "ToolResult",
    "UnknownModelError",
    "UnsupportedOptionError",
    "Usage",
    "__version__",
    "batch",
    "complete",
    "complete_json",
    "model_info",
    "models",
    "parse_chat",
    "preload",
    "providers",
    "read_batch_input",
    "read_batch_output",
    "stream",
    "stream_many",
]

# Public name -> the private module that defines it, imported on first access.
_LAZY = {
    "complete": "codey._api",
    "complete_json": "codey._api",
    "model_info": "codey._api",
    "models": "codey._api",
    "preload": "codey._api",
    "providers": "codey._api",
    "stream": "codey._api",
    "Attachment": "codey._attachments",
    "batch": "codey._batch",
    "BatchSummary": "codey._batch",
    "BatchLine": "codey._batch._files",
    "read_batch_input": "codey._batch._files",
    "read_batch_output": "codey._batch._files",
    "Chat": "codey._chatlog",
    "ChatSettings": "codey._chatlog",
    "parse_chat": "codey._chatlog",
    "MCP": "codey._mcp",
    "Stream": "codey._stream",
    "Timings": "codey._stream",
    "StreamMany": "codey._many",
    "stream_many": "codey._many",
    "ModelInfo": "codey._models",
    "ServerTool": "codey._tools",
    "Tool": "codey._tools",
    "Citation": "codey._types",
    "Finish": "codey._types",
    "Message": "codey._types",
    "ReasoningDelta": "codey._types",
    "ServerToolCall": "codey._types",
    "TextDelta": "codey._types",
    "ToolCall": "codey._types",
    "ToolCallDelta": "codey._types",
    "ToolResult": "codey._types",
    "Usage": "codey._types",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'codey' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
