"""Builds of the C engine (cport/Makefile): warning-free on gcc and clang, the standalone test
driver (unit checks + golden replay) plain and under AddressSanitizer/UndefinedBehaviorSanitizer,
freestanding cross builds for Cortex-M0, Cortex-M4 and rv32imac that link without any libc, and
the generated header. A missing compiler fails (naming `make setup`); nothing is skipped."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from erbp.reference import gen_c_header

from conftest import ROOT

CPORT = ROOT / "cport"


def make(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.fail("`make` not found: run `make setup` in the project root")
    p = subprocess.run(["make", "--no-print-directory", "-C", str(CPORT), *args],
                       capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        pytest.fail(f"make {' '.join(args)} failed ({p.returncode}):\n{p.stdout[-4000:]}\n"
                    f"{p.stderr[-4000:]}")
    return p


def test_generated_header_is_up_to_date():
    path = CPORT / "include" / "erbp_params.h"
    assert path.read_text() == gen_c_header.render(), (
        "cport/include/erbp_params.h is stale: run `python -m erbp.reference.gen_c_header`")


def test_generated_header_holds_every_field_and_constant():
    from erbp.reference.params import FIELDS, word_count

    text = gen_c_header.render()
    assert f"#define ERBP_CONFIG_WORDS {word_count()} " in text
    for f in FIELDS:
        assert re.search(rf"int32_t {f.name}(\[ERBP_MAX_(LAYERS|HIDDEN)\])?;", text), f.name
        assert f"#define ERBP_{f.name.upper()}_MAX {f.hi}" in text


def _cport_build():
    """The binding's build script (it generates the cdef)."""
    from erbp.engines.c import _build as _cport_build

    return _cport_build


def test_the_binding_declares_everything_the_public_headers_declare():
    """The cffi cdef is generated from erbp.h and erbp_params.h (and erbp_intmath.h's inline
    functions): every function, enum constant and integer macro they declare is in the binding,
    with the headers' value."""
    from erbp.engines.c import engine as cengine

    ffi, lib = cengine._load()
    b = _cport_build()
    for header in (*b.HEADERS, b.INTMATH):
        text = re.sub(r"/\*.*?\*/", " ", header.read_text(), flags=re.S)
        functions = re.findall(r"^[A-Za-z][\w \t*]*?\b(erbp_\w+)\s*\(", text, re.M)
        assert functions or header == b.HEADERS[1], header
        for name in functions:
            assert hasattr(lib, name), f"{header.name}: {name} missing from the binding"
        for name, value in re.findall(r"^#define (ERBP_\w+) (-?\d+)u?\b", text, re.M):
            assert getattr(lib, name) == int(value), name
        for name, value in re.findall(r"^\s+(ERBP_\w+) = (-?\d+),?", text, re.M):
            assert getattr(lib, name) == int(value), name
    assert ffi.sizeof("erbp_net_t") == lib.erbp_net_struct_bytes()


def test_the_cdef_reduction_refuses_what_it_does_not_understand(tmp_path):
    b = _cport_build()
    h = tmp_path / "h.h"
    h.write_text("#ifndef H\n#define H\n#include <stdint.h>\n#define ERBP_A 3u /* x */\n"
                 "#define ERBP_S \"s\"\n#define ERBP_F(x) \\\n  (x)\n#ifdef __cplusplus\n"
                 "extern \"C\" {\n#endif\nint erbp_f(int a); // f\n#endif\n")
    assert b.declarations(h).split() == "#define ERBP_A 3u int erbp_f(int a);".split()
    h.write_text("#if ERBP_A > 2\nint erbp_g(void);\n#endif\n")
    with pytest.raises(RuntimeError, match="#if is not understood"):
        b.declarations(h)


def test_warning_free_with_gcc_and_clang():
    out = make("warnings").stdout
    assert "gcc: no warnings" in out and "clang: no warnings" in out


def test_driver_passes_unit_checks_and_replays_every_golden_vector():
    out = make("test").stdout
    cases = sorted(p.stem for p in (ROOT / "tests" / "golden").glob("*.erbp"))
    assert cases
    for c in cases:
        assert f"golden/{c}: " in out and "full state equal" in out, c
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out[-2000:]
    assert "FAIL" not in out


def test_sanitizer_build_is_clean():
    p = make("sanitize")
    text = p.stdout + p.stderr
    assert "runtime error" not in text and "AddressSanitizer" not in text, text[-4000:]
    assert len(re.findall(r"^\d+ passed, 0 failed$", p.stdout, re.M)) == 3


def test_cross_builds_link_without_libc_and_report_sizes():
    out = make("cross").stdout
    for target in ("m0", "m4", "rv32"):
        assert f"{target}: freestanding link without libc OK" in out
        sizes = out.split(f"== {target}\n", 1)[1]
        total = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\(TOTALS\)", sizes, re.M)
        assert total, sizes[:500]
        text, data, bss = map(int, total.groups())
        assert 0 < text < 32768  # code fits small microcontrollers
        assert data == 0 and bss == 0  # no global mutable state


def test_a_missing_compiler_fails_and_names_make_setup():
    p = make("cross-m0", "ARM_CC=erbp-no-such-gcc", check=False)
    assert p.returncode != 0
    assert "make setup" in p.stdout + p.stderr
