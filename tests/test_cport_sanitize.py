"""The C engine's own suite runs again against a build of the binding compiled with
-fsanitize=address,undefined -fno-sanitize-recover=all (tests/cport_builds.py: loaded through
ERBP_CPORT_VARIANT, with libasan preloaded into the Python process). Any report aborts that run, so
a clean exit means zero reports. A canary first proves the instrumentation is live. (The
conformance suite's c-asan adapter runs the golden vectors and random networks on the same build;
cport/Makefile `sanitize`, run by test_cport_build.py, replays the golden vectors through the
standalone C driver as well.)"""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def sanitized_env(cport_builds) -> dict[str, str]:
    return cport_builds("asan")


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
            "tests/test_cport_engine.py")
    text = p.stdout + p.stderr
    assert p.returncode == 0, text[-4000:]
    assert "runtime error" not in text and "Sanitizer" not in text, text[-4000:]
    assert " passed" in p.stdout and " failed" not in p.stdout
