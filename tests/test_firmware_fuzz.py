"""libFuzzer on the firmware (clang, ASan + UBSan), for a bounded time per target
(ERBP_FUZZ_SECONDS, default 15), from the seed corpus committed in firmware/fuzz/corpus/:

* fuzz_proto: bytes as they arrive on the link (the same src/proto.c, src/modelio.c and cport the
  boards run); the target aborts if the board ever sends an invalid frame;
* fuzz_frames: well-formed requests built from the input (valid COBS and CRC), so mutations reach
  the dispatcher, uploads, samples and reads; it also aborts when a refused request changes the
  board, or a retransmission is not answered from the cache;
* fuzz_loader: cport's incremental model loader fed in chunkings taken from the input, against
  erbp_model_check on the whole file, and a loaded file saved back to the same bytes.

benchmarks/fuzz.py runs the same targets for millions of executions (docs/reliability.md)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from firmware_support import FIRMWARE, make

FUZZ_SECONDS = int(os.environ.get("ERBP_FUZZ_SECONDS", "15"))


def fuzz_targets():
    spec = importlib.util.spec_from_file_location("fuzz_targets", FIRMWARE / "fuzz/targets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_targets"] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


TARGETS = fuzz_targets()


def test_seed_corpus_is_what_the_script_generates(tmp_path):
    TARGETS.write_corpus(tmp_path)
    for name in TARGETS.TARGETS:
        committed = {p.name: p.read_bytes() for p in (TARGETS.CORPUS / name).iterdir()}
        generated = {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
        assert committed == generated, f"run `python3 firmware/fuzz/targets.py` ({name})"
        assert 5 <= len(committed) and sum(map(len, committed.values())) < 64 * 1024


@pytest.mark.parametrize("name", list(TARGETS.TARGETS))
def test_libfuzzer_finds_nothing(tmp_path, name):
    if shutil.which("clang") is None:
        pytest.fail("clang not found: the fuzz tests need clang and libFuzzer "
                    "(libclang-rt-14-dev); run `make setup`")
    make("fuzz")
    target = TARGETS.TARGETS[name]
    new = tmp_path / "new"  # libFuzzer adds what it finds to the first directory
    new.mkdir()
    cmd = [str(target.binary), str(new), str(target.corpus), f"-max_total_time={FUZZ_SECONDS}",
           f"-max_len={target.max_len}", "-timeout=10", f"-artifact_prefix={tmp_path}/"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **target.env()),
                       timeout=FUZZ_SECONDS + 120)
    tail = r.stderr[-4000:]
    assert r.returncode == 0, f"the fuzzer found a failure ({' '.join(cmd)}):\n{tail}"
    runs = [line for line in r.stderr.splitlines() if line.startswith("Done ")]
    assert runs and int(runs[0].split()[1]) > 1000, tail  # it did run
    seeds = len(list(target.corpus.iterdir()))
    assert f"{seeds} files found in {target.corpus}" in r.stderr, tail  # from the seed corpus
