"""codey.testing's surface: one module to its users, though a package inside."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import typing

import pytest

import codey.testing
from codey.testing import Reply, Text, answer
from tests.helpers import ROOT, TIMEOUT

#: codey.testing's modules in the order of their imports (see its __init__).
LAYERS = [
    "_common",
    "_steps",
    "_cites",
    "_replies",
    "_sse",
    "_chat",
    "_messages",
    "_responses",
    "_render",
    "_requests",
    "_refusals",
    "_servertools",
    "_whole",
    "_batchwire",
    "_batches",
    "_connection",
    "_server",
    "_demo",
]


def test_all_is_sorted_and_importable() -> None:
    """Sorted as isort sorts: constants, then classes, then functions."""
    names = codey.testing.__all__
    assert names == sorted(names, key=lambda name: (not name.isupper(), name.islower(), name))
    for name in codey.testing.__all__:
        assert getattr(codey.testing, name) is not None, name
    assert callable(codey.testing.main)
    assert codey.testing.Body is not None


@pytest.mark.parametrize(
    "name", [name for name in codey.testing.__all__ if name not in ("FAKE_API_KEY", "Step")]
)
def test_public_names_are_codey_testing(name: str) -> None:
    """Classes and functions show, pickle and resolve their annotations as codey.testing's."""
    public = getattr(codey.testing, name)
    assert public.__module__ == "codey.testing"
    if isinstance(public, type):
        assert repr(public) == f"<class 'codey.testing.{name}'>"
        typing.get_type_hints(public)


def test_values_pickle() -> None:
    for value in (Text("a"), answer("a", "b", split=2)):
        assert pickle.loads(pickle.dumps(value)) == value
    assert typing.get_type_hints(Reply)["split"] == typing.Optional[int]


def test_import_is_light() -> None:
    """import codey.testing loads neither requests nor sseclient."""
    code = (
        "import sys, codey.testing; "
        "names = ('requests', 'sseclient', 'urllib3', 'argparse'); "
        "print([m for m in names if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=TIMEOUT
    )
    assert out.stdout.strip() == "[]"


def test_python_m_codey_testing_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "codey.testing", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    )
    assert out.stdout.startswith("usage: python -m codey.testing serve [-h]")


def test_modules_import_only_those_before_them() -> None:
    """No import circle: each module imports (at run time) only earlier ones."""
    package = ROOT / "codey" / "testing"
    assert sorted(LAYERS) == sorted(p.stem for p in package.glob("_*.py") if p.stem[1] != "_")
    for index, name in enumerate(LAYERS):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in tree.body  # top level only: not under "if TYPE_CHECKING:"
            if isinstance(node, ast.ImportFrom)
            and node.module is not None
            and node.module.startswith("codey")
        }
        assert imported <= set(LAYERS[:index]), name
