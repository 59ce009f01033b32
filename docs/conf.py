"""Sphinx configuration of codey's documentation site (``pip install '.[docs]'``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codey import __version__  # noqa: E402

project = "codey"
author = "codey's authors"
copyright = "2026, codey's authors"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
exclude_patterns = ["_build"]
# Type hints go in the description, where they read as prose, not in the signature.
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = False
html_theme = "alabaster"
html_title = f"codey {release}"

# The examples run against the fake provider (no network, no keys): every
# provider's base URL points at it, and each example's files are in a fresh
# temporary folder.
doctest_global_setup = """
import os, sys, tempfile
import codey
from codey.testing import FakeProvider, answer, demo_reply
_fake = FakeProvider().__enter__()
_fake.responder = lambda request: demo_reply(request, 0)
os.environ.update(_fake.env())
_home = os.getcwd()
os.chdir(tempfile.mkdtemp(prefix="codey-docs-"))
# The examples print what a reader would see; here only their failures matter.
print = lambda *args, **kwargs: None
"""
doctest_global_cleanup = """
os.chdir(_home)
_fake.__exit__(None, None, None)
"""
