"""The setuptools shim. The man page is generated from the argparse parser."""

from setuptools import setup

setup(data_files=[("share/man/man1", ["man/codey.1"])])
