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
