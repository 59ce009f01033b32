"""The setuptools shim: metadata lives in setup.cfg.

A build regenerates man/codey.1 from codey.cli.build_parser() (argparse-manpage)
and installs it to share/man/man1.
"""

import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class build_py_with_man(build_py):
    """Regenerate man/codey.1 before building, when argparse-manpage is available."""

    def run(self):
        try:
            import argparse_manpage  # noqa: F401
        except ImportError:
            self.announce("argparse-manpage missing: using the committed man/codey.1", level=2)
        else:
            subprocess.run([sys.executable, str(ROOT / "man" / "generate.py")], check=True)
        super().run()


setup(
    cmdclass={"build_py": build_py_with_man},
    data_files=[("share/man/man1", ["man/codey.1"])],
)
