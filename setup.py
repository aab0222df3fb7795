"""Build of the C engine's Python binding (erbp._cport); everything else is in pyproject.toml."""
from setuptools import setup

setup(cffi_modules=["host/engines/c/_build.py:ffibuilder"])
