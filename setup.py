"""Build of the C engine's Python binding (erbp._cport) and what the wheel leaves out; everything
else is in pyproject.toml.

* The binding is built with the stable ABI (cffi compiles with Py_LIMITED_API, hence
  ``_cport.abi3.so``), so the wheel is tagged ``cp310-abi3``: one wheel for CPython 3.10 and later.
* The wheel leaves out the binding's build script and the MicroPython test helper (build and test
  tools, not the product); a source tree still has them.
"""
from setuptools import setup
from setuptools.command.build_py import build_py

#: (package, module) pairs that the wheel does not ship.
NOT_SHIPPED = {("erbp.engines.c", "_build"), ("erbp.mp_src", "qemu_microbit_check")}


class BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir)
                if (m[0], m[1]) not in NOT_SHIPPED]


setup(cffi_modules=["host/engines/c/_build.py:ffibuilder"],
      cmdclass={"build_py": BuildPy},
      options={"bdist_wheel": {"py_limited_api": "cp310"}})
