"""The one atomic file write (erbp.fileio over erbp.reference.fileio): a file is replaced whole
or not at all, and the package writes no other way."""
from __future__ import annotations

import os
import re
import stat

import pytest

from conftest import ROOT
from erbp import fileio
from erbp.reference import NetConfig, Network, modelfile
from erbp.reference import fileio as ref_fileio


def leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_writes_and_replaces(tmp_path):
    p = tmp_path / "a.json"
    fileio.write_json(p, {"x": 1})
    assert p.read_text() == '{\n  "x": 1\n}\n'
    fileio.write_json(p, [1, 2], indent=None)
    assert fileio.read_json(p) == [1, 2] and p.read_text() == "[1, 2]\n"
    fileio.write_jsonl(p, [{"a": 1}, {"b": 2}])
    fileio.append_jsonl(p, {"c": 3})
    assert fileio.read_jsonl(p) == [{"a": 1}, {"b": 2}, {"c": 3}]
    fileio.write_bytes_atomic(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert leftovers(tmp_path) == []


def test_a_failing_write_leaves_the_old_file(tmp_path):
    p = tmp_path / "model.erbp"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with fileio.open_atomic(p) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert p.read_bytes() == b"old" and leftovers(tmp_path) == []
    with pytest.raises(UnicodeEncodeError):
        fileio.write_text_atomic(p, "bad \udc80 text")
    assert p.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_failing_fsync_or_rename_leaves_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "model.erbp"
    net = Network.create(NetConfig.default("4-3-2"), 1)
    modelfile.save(net, p)
    old = p.read_bytes()
    net.samples_seen = 5
    for name in ("fsync", "replace"):
        def broken(*a, **k):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as m:
            m.setattr(ref_fileio.os, name, broken)
            with pytest.raises(OSError, match="No space"):
                modelfile.save(net, p)
        assert p.read_bytes() == old and leftovers(tmp_path) == []
    modelfile.save(net, p)
    assert modelfile.load(p).samples_seen == 5


def test_permissions_follow_the_umask(tmp_path):
    plain, atomic = tmp_path / "plain", tmp_path / "atomic"
    plain.write_text("x")
    fileio.write_text_atomic(atomic, "x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_parents(tmp_path):
    with pytest.raises(FileNotFoundError):
        fileio.write_text_atomic(tmp_path / "no" / "dir" / "f.txt", "x")
    fileio.write_text_atomic(tmp_path / "no" / "dir" / "f.txt", "x", parents=True)
    assert (tmp_path / "no" / "dir" / "f.txt").read_text() == "x"


def test_no_other_atomic_write_in_the_package():
    """A rename over a target is written once (erbp/reference/fileio.py); every other module of
    the package and every benchmark uses it."""
    hits = []
    for d in ("host", "reference", "benchmarks"):
        for f in sorted((ROOT / d).rglob("*.py")):
            if f == ROOT / "reference" / "fileio.py":
                continue
            for i, line in enumerate(f.read_text().splitlines(), 1):
                if re.search(r"\bos\.(replace|rename)\(|\.replace\(\s*(out|path|target|p)\s*\)",
                             line):
                    hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert hits == []
