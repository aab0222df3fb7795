"""Builds of the C engine's binding that differ in speed or instrumentation only, each compiled
once per session (the `cport_builds` fixture of conftest.py) and loaded by a Python process through
ERBP_CPORT_VARIANT: used by test_cport_variants.py, test_cport_sanitize.py and the conformance
suite (tests/conformance: the `c-<build>` adapters).

* portable: the portable kernels only (no x86-64 clones);
* scalar: the loops of cores without SIMD (ERBP_PAD_LOOPS=0: what Cortex-M and RISC-V compile);
* asan: -fsanitize=address,undefined -fno-sanitize-recover=all, libasan preloaded (any report
  aborts the process).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SAN = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
       "-fno-sanitize-recover=all"]
#: name -> (extra compiler flags, extra linker flags)
BUILDS: dict[str, tuple[list[str], list[str]]] = {
    "portable": ([], []),
    "scalar": (["-DERBP_PAD_LOOPS=0"], []),
    "asan": (SAN, ["-fsanitize=address,undefined"]),
}


class CportBuilds:
    """``builds("scalar")`` -> the environment of a Python process that loads that build."""

    def __init__(self, root: Path):
        self.root, self.envs = root, {}

    def __call__(self, name: str) -> dict[str, str]:
        if name not in self.envs:
            from erbp.engines.c import _build

            if shutil.which("gcc") is None:
                pytest.fail("gcc not found: run `make setup` in the project root")
            module = f"_cport_{name}"
            out = self.root / name
            out.mkdir(parents=True, exist_ok=True)
            cflags, ldflags = BUILDS[name]
            _build.build(out, module, cflags, ldflags)
            env = dict(os.environ, ERBP_CPORT_VARIANT=f"{out}:{module}")
            if name == "asan":
                libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                                         capture_output=True, text=True,
                                         check=True).stdout.strip()
                assert os.path.exists(libasan), f"libasan not found ({libasan}): `make setup`"
                # the Python interpreter itself keeps memory until exit: no leak check
                env.update(LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1",
                           UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
            self.envs[name] = env
        return self.envs[name]
