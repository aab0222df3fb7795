"""cffi builder (out-of-line API mode) of ``erbp._cport``, the binding of the C engine in cport/.

setup.py names it in ``cffi_modules``, so ``pip install .`` and ``pip install -e .`` compile the
same ``cport/src/*.c`` files the firmware uses. ``build(tmpdir, extra_cflags)`` builds a variant
elsewhere (the sanitizer tests use it). The compiler checks every declaration below against the
real headers (API mode), and the enum constants are read from erbp.h, so nothing here can drift.
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

ROOT = Path(__file__).resolve().parents[1]
CPORT = ROOT / "cport"
HEADERS = [CPORT / "include" / "erbp.h", CPORT / "include" / "erbp_params.h"]
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


def _enum_names(text: str, typedef: str) -> list[str]:
    m = re.search(r"typedef enum \w+ \{(.*?)\} " + typedef + ";", text, re.S)
    if not m:
        raise RuntimeError(f"enum {typedef} not found in erbp.h")
    return re.findall(r"(ERBP_\w+)\s*=", m.group(1))


def cdef_source() -> str:
    text = HEADERS[0].read_text()
    enums = ("erbp_status_t", "erbp_mode_t", "erbp_var_t")
    consts = [n for t in enums for n in _enum_names(text, t)]
    defines = re.findall(r"^#define (ERBP_\w+) \d+u?\b", text + HEADERS[1].read_text(), re.M)
    return "\n".join(
        [f"typedef int... {t};" for t in enums]
        + ["typedef struct { ...; } erbp_config_t;", "typedef struct { ...; } erbp_net_t;",
           "typedef struct { ...; } erbp_loader_t;"]
        + [f"static const int {n};" for n in consts]
        + [f"#define {n} ..." for n in sorted(set(defines))]
        + [_CDEF_FUNCTIONS])


_CDEF_FUNCTIONS = """
typedef struct {
    int32_t prediction;
    uint32_t input_spikes;
    uint32_t hidden_spikes;
    uint64_t events;
} erbp_result_t;

const char *erbp_status_str(erbp_status_t s);
erbp_status_t erbp_config_check(const erbp_config_t *cfg, int32_t *where);
erbp_status_t erbp_config_from_words(erbp_config_t *cfg, const int32_t *words, size_t n);
erbp_status_t erbp_config_to_words(const erbp_config_t *cfg, int32_t *words, size_t n);
size_t erbp_net_required_bytes(const erbp_config_t *cfg);
size_t erbp_net_struct_bytes(void);
erbp_status_t erbp_net_init(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const erbp_config_t *cfg, uint32_t seed);
erbp_status_t erbp_net_reset_state(erbp_net_t *net);
const erbp_config_t *erbp_net_config(const erbp_net_t *net);
uint32_t erbp_net_seed(const erbp_net_t *net);
uint32_t erbp_net_samples_seen(const erbp_net_t *net);
erbp_status_t erbp_net_set_samples_seen(erbp_net_t *net, uint32_t samples_seen);
size_t erbp_model_bytes(const erbp_config_t *cfg);
erbp_status_t erbp_model_check(const uint8_t *data, size_t n, erbp_config_t *cfg,
                               uint32_t *seed, uint32_t *samples_seen);
erbp_status_t erbp_net_load(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const uint8_t *data, size_t n);
erbp_status_t erbp_net_save(const erbp_net_t *net, uint8_t *out, size_t cap, size_t *written);
erbp_status_t erbp_net_save_range(const erbp_net_t *net, size_t offset, uint8_t *out, size_t n);
erbp_status_t erbp_loader_begin(erbp_loader_t *ld, erbp_net_t *net, void *arena,
                                size_t arena_bytes);
erbp_status_t erbp_loader_feed(erbp_loader_t *ld, const uint8_t *data, size_t n);
erbp_status_t erbp_loader_end(erbp_loader_t *ld);
erbp_status_t erbp_loader_status(const erbp_loader_t *ld);
uint32_t erbp_loader_file_bytes(const erbp_loader_t *ld);
uint32_t erbp_crc32(uint32_t crc, const uint8_t *data, size_t n);
erbp_status_t erbp_begin_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                                int32_t label, erbp_mode_t mode, uint32_t sample);
erbp_status_t erbp_tick(erbp_net_t *net);
erbp_status_t erbp_run_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                              int32_t label, erbp_mode_t mode, uint32_t sample,
                              erbp_result_t *res);
erbp_status_t erbp_run_samples(erbp_net_t *net, const uint8_t *pixels, uint32_t n_samples,
                               size_t stride, const int32_t *labels, erbp_mode_t mode,
                               uint32_t first_index, int32_t *predictions, uint32_t *counts,
                               uint64_t *events);
int32_t erbp_prediction(const erbp_net_t *net);
uint64_t erbp_events(const erbp_net_t *net);
uint32_t erbp_tick_count(const erbp_net_t *net);
erbp_status_t erbp_output_counts(const erbp_net_t *net, uint32_t *out, size_t n);
erbp_status_t erbp_var_size(const erbp_net_t *net, erbp_var_t var, uint32_t index, uint32_t *n);
erbp_status_t erbp_read_var(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                            int32_t *out, size_t n);
erbp_status_t erbp_write_var(erbp_net_t *net, erbp_var_t var, uint32_t index,
                             const int32_t *in, size_t n);
erbp_status_t erbp_read_var_range(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                                  uint32_t first, int32_t *out, size_t n);
erbp_status_t erbp_write_var_range(erbp_net_t *net, erbp_var_t var, uint32_t index,
                                   uint32_t first, const int32_t *in, size_t n);

/* erbp_intmath.h (static inline), exposed for the tests */
int32_t erbp_sat(int32_t x, int32_t lo, int32_t hi);
int32_t erbp_asr(int32_t x, uint32_t k);
int32_t erbp_decay(int32_t x, uint32_t k);
int32_t erbp_srs(int32_t q, uint32_t k, uint32_t r);
int32_t erbp_uniform(uint32_t r, int32_t a);
uint32_t erbp_mix32(uint32_t x);
uint32_t erbp_absorb(uint32_t h, uint32_t v);
uint32_t erbp_sample_key(uint32_t seed, uint32_t stream, uint32_t sample);
uint32_t erbp_key(uint32_t seed, uint32_t stream, uint32_t sample, uint32_t tick);
uint32_t erbp_draw(uint32_t key, uint32_t i);
"""


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
                   depends=[_rel(h) for h in HEADERS + [CPORT / "include" / "erbp_intmath.h",
                                                        CPORT / "src" / "erbp_internal.h"]])
    return ffi


def build(tmpdir: str | os.PathLike, module: str = "_cport_variant",
          extra_cflags: list[str] | None = None, extra_ldflags: list[str] | None = None,
          clones: bool = False) -> str:
    """Compile a variant of the extension into tmpdir (by default with the baseline kernels
    only); returns the path of the shared object."""
    ffi = make_ffi(module, extra_cflags, extra_ldflags, clones=clones)
    return ffi.compile(tmpdir=str(tmpdir), verbose=False)


ffibuilder = make_ffi(relative=Path.cwd().resolve() == ROOT, clones=x86_clones_supported())

if __name__ == "__main__":
    make_ffi(clones=x86_clones_supported()).compile(tmpdir=str(ROOT / "host"), verbose=True)
