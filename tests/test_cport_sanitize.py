"""The C engine's Python-level suites run again against a build of the binding compiled with
-fsanitize=address,undefined -fno-sanitize-recover=all (loaded through ERBP_CPORT_VARIANT, with
libasan preloaded into the Python process). Any report aborts that run, so a clean exit means zero
reports. A canary first proves the instrumentation is live. (cport/Makefile `sanitize`, run by
test_cport_build.py, replays the golden vectors through the standalone C driver as well.)"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

SAN = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
       "-fno-sanitize-recover=all"]
MODULE = "_cport_asan"


@pytest.fixture(scope="module")
def sanitized_env(tmp_path_factory) -> dict[str, str]:
    if shutil.which("gcc") is None:
        pytest.fail("gcc not found: run `make setup` in the project root")
    from erbp.engines.c import _build as _cport_build
    out = tmp_path_factory.mktemp("asan")
    _cport_build.build(out, MODULE, SAN, ["-fsanitize=address,undefined"])
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert os.path.exists(libasan), f"libasan not found ({libasan}): run `make setup`"
    env = dict(os.environ)
    env.update({"ERBP_CPORT_VARIANT": f"{out}:{MODULE}", "LD_PRELOAD": libasan,
                # the Python interpreter itself keeps memory until exit: no leak check
                "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1",
                "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"})
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1200)


def test_the_instrumentation_catches_an_overflow(sanitized_env):
    p = run(sanitized_env, "-c",
            "from erbp.engines.c import engine as cengine; ffi, lib = cengine._load(); "
            "buf = ffi.new('uint8_t[]', 8); lib.erbp_crc32(0, buf, 64)")
    assert p.returncode != 0 and "AddressSanitizer" in p.stderr, p.stderr[-2000:]


def test_engine_suites_are_clean_under_asan_and_ubsan(sanitized_env):
    p = run(sanitized_env, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/test_cport_engine.py", "tests/test_engines_golden.py")
    text = p.stdout + p.stderr
    assert p.returncode == 0, text[-4000:]
    assert "runtime error" not in text and "Sanitizer" not in text, text[-4000:]
    assert " passed" in p.stdout and " failed" not in p.stdout
