"""The package's surface: exports, import cost, typing marker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import codey


def test_all_is_sorted_and_importable():
    assert codey.__all__ == sorted(codey.__all__)
    for name in codey.__all__:
        assert getattr(codey, name) is not None, name


def test_errors_show_as_codey():
    assert repr(codey.RateLimitError("x")) == "RateLimitError('x')"
    assert codey.RateLimitError.__module__ == "codey"
    assert issubclass(codey.ConnectTimeoutError, TimeoutError)
    assert issubclass(codey.ChunkTimeoutError, TimeoutError)
    assert issubclass(codey.UnknownModelError, ValueError)
    assert issubclass(codey.IncompleteStreamError, codey.StreamError)
    for name in ("AuthenticationError", "BadRequestError", "RateLimitError", "ServerError"):
        assert issubclass(getattr(codey, name), codey.APIStatusError)


def test_import_is_light():
    """import codey loads neither requests, sseclient nor attrs."""
    code = (
        "import sys, codey; "
        "names = ('requests', 'sseclient', 'urllib3', 'attrs', 'attr'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_py_typed():
    assert (Path(codey.__file__).parent / "py.typed").exists()


def test_preload_imports_what_the_first_stream_needs():
    code = (
        "import sys, codey; codey.preload(); "
        "print(all(m in sys.modules for m in ('requests', 'sseclient', 'attr')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
