"""cffi builder (out-of-line API mode) of ``erbp._cport``, the binding of the C engine in cport/.

setup.py names it in ``cffi_modules``, so ``pip install .`` and ``pip install -e .`` compile the
same ``cport/src/*.c`` files the firmware uses. ``build(tmpdir, extra_cflags)`` builds a variant
elsewhere (the sanitizer tests use it). The cdef is generated from the public headers at build
time (:func:`cdef_source`), and in API mode the compiler checks each of its declarations, enum
values, constants and struct layouts against those headers: nothing here is copied by hand.
"""
from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[3]
CPORT = ROOT / "cport"
HEADERS = [CPORT / "include" / "erbp.h", CPORT / "include" / "erbp_params.h"]
INTMATH = CPORT / "include" / "erbp_intmath.h"
SOURCES = sorted((CPORT / "src").glob("*.c"))
#: Flags of the Python binding: -O2, portable (no -march), no flag changes a result.
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra"]
#: Added on x86-64 Linux when the compiler can: the hot kernels get an AVX2 clone beside the
#: baseline one and the loader picks one for the CPU (cport/src/erbp_kernels.c, ERBP_CLONES). The
#: numbers are the same (integer arithmetic); only the speed differs. ERBP_X86_CLONES=0 in the
#: environment turns it off.
CLONES_FLAG = "-DERBP_X86_CLONES"

_PROBE = """
__attribute__((target_clones("avx2", "default"))) static int twice(int x) { return 2 * x; }
int erbp_probe(int x) { return twice(x); }
"""


def x86_clones_supported() -> bool:
    """Whether this machine's extension compiler builds and links function multi-versioning
    (``target_clones``; it needs ifunc support: x86-64 Linux with glibc)."""
    if os.environ.get("ERBP_X86_CLONES", "1") == "0":
        return False
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "probe.c"
        src.write_text(_PROBE)
        try:
            r = subprocess.run([*cc, "-shared", "-fPIC", "-O2", str(src), "-o",
                                str(Path(d) / "probe.so")], capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return False
        return r.returncode == 0


_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DIRECTIVE = re.compile(r"^\s*#\s*(\w+)\s*(.*?)\s*$")
_INT_DEFINE = re.compile(r"(ERBP_\w+)\s+(-?(?:0x[0-9A-Fa-f]+|\d+)[uUlL]*)")


def declarations(path: Path) -> str:
    """The C declarations of a public cport header, reduced to what cffi's ``cdef`` parses:
    comments, line continuations, the include guard, ``#include`` lines, the ``extern "C"`` block
    (``#ifdef __cplusplus``) and every macro that is not an integer constant are dropped; integer
    ``#define ERBP_...`` lines, typedefs (enums with their values, structs with their members) and
    prototypes are kept as written. Conditionals are evaluated on the header's own ``#define``s
    (nothing else is defined, so ``__cplusplus`` is not); any other directive is an error, so a
    header this reduction does not understand fails the build instead of binding something else.
    """
    text = _COMMENT.sub(" ", path.read_text()).replace("\\\n", " ")
    defined: set[str] = set()
    live = [True]  # one entry per open conditional (and the file)
    out = []
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if not m:
            if all(live):
                out.append(line.rstrip())
            continue
        word, rest = m.groups()
        if word in ("ifdef", "ifndef"):
            live.append((rest in defined) == (word == "ifdef"))
        elif word == "else":
            live[-1] = not live[-1]
        elif word == "endif":
            live.pop()
        elif not all(live) or word == "include":
            continue
        elif word == "define":
            name = rest.split("(")[0].split()[0]
            defined.add(name)
            c = _INT_DEFINE.fullmatch(rest)
            if c:
                out.append(f"#define {c[1]} {c[2]}")
        else:
            raise RuntimeError(f"{path.name}: #{word} is not understood by the cdef reduction")
    if len(live) != 1:
        raise RuntimeError(f"{path.name}: unbalanced conditionals")
    return "\n".join(line for line in out if line.strip()) + "\n"


def inline_prototypes(path: Path) -> str:
    """Prototypes of the ``static inline`` functions of a header (erbp_intmath.h), so the binding
    exposes them to the tests (the compiler checks each against its definition)."""
    sigs = re.findall(r"^static inline ([^{;]*\))\s*\{", _COMMENT.sub(" ", path.read_text()),
                      re.M)
    return "".join(" ".join(s.split()) + ";\n" for s in sigs)


def cdef_source() -> str:
    """The binding's cdef, generated from the public headers (nothing here is copied by hand):
    erbp_params.h and erbp.h as :func:`declarations` reduces them (the compiler then checks every
    enum value, integer constant, struct layout and prototype against the real headers), and the
    prototypes of erbp_intmath.h's inline functions."""
    return "".join([declarations(HEADERS[1]), declarations(HEADERS[0]),
                    inline_prototypes(INTMATH)])


def make_ffi(module: str = "erbp._cport", extra_cflags: list[str] | None = None,
             extra_ldflags: list[str] | None = None, relative: bool = False,
             clones: bool = False) -> FFI:
    """The FFI of the binding. ``relative``: source paths relative to the project root (what
    setuptools wants when it builds from setup.py's directory); ``FFI.compile`` needs them
    absolute because it compiles from inside its tmpdir. ``clones``: compile the hot kernels for
    AVX2 too (CLONES_FLAG); the module's constant ``erbp_binding_x86_clones`` says which."""
    def _rel(p: Path) -> str:
        return os.path.relpath(p, ROOT) if relative else str(p)

    ffi = FFI()
    ffi.cdef(cdef_source())
    ffi.cdef("static const int erbp_binding_x86_clones;")
    ffi.set_source(module, '#include "erbp.h"\n#include "erbp_intmath.h"\n'
                   f"static const int erbp_binding_x86_clones = {int(clones)};\n",
                   sources=[_rel(s) for s in SOURCES], include_dirs=[_rel(CPORT / "include")],
                   extra_compile_args=CFLAGS + ([CLONES_FLAG] if clones else [])
                   + list(extra_cflags or []),
                   extra_link_args=list(extra_ldflags or []),
                   depends=[_rel(h) for h in
                            HEADERS + [INTMATH, CPORT / "src" / "erbp_internal.h"]])
    return ffi


def build(tmpdir: str | os.PathLike, module: str = "_cport_variant",
          extra_cflags: list[str] | None = None, extra_ldflags: list[str] | None = None,
          clones: bool = False) -> str:
    """Compile a variant of the extension into tmpdir (by default with the baseline kernels
    only); returns the path of the shared object."""
    ffi = make_ffi(module, extra_cflags, extra_ldflags, clones=clones)
    return ffi.compile(tmpdir=str(tmpdir), verbose=False)


#: What setup.py's cffi_modules builds; None in an installed package (it has no cport/ sources:
#: the binding is already built there).
ffibuilder = (make_ffi(relative=Path.cwd().resolve() == ROOT, clones=x86_clones_supported())
              if CPORT.is_dir() else None)

if __name__ == "__main__":
    make_ffi(clones=x86_clones_supported()).compile(tmpdir=str(ROOT / "host"), verbose=True)
