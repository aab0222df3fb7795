"""`make demo` (python -m erbp.demo) runs the main job end to end in an empty directory: train,
evaluate, deploy to the emulated Cortex-M4, learn on the chip, verify bit-exactness, plots."""
from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT
from erbp.boards import table
from firmware_support import require_tools


def test_make_demo_runs_the_module():
    recipe = re.search(r"^demo:\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert "$(VPY) -m erbp.demo" in recipe


def test_demo_end_to_end(tmp_path, mnist_dir):
    require_tools("make", *table.board("mps2-an386").tools)
    r = subprocess.run([sys.executable, "-m", "erbp.demo"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "data: MNIST" in out and "trained 784-100-10 on 5,000 images" in out
    err = float(re.search(r"test error on all 10,000 test images: ([\d.]+) %", out).group(1))
    assert 5 < err < 20
    ticks = float(re.search(r"per image ([\d.]+) ticks", out).group(1))
    assert 1 <= ticks < 200  # the early exit of the defaults
    assert "verified: the chip's 100 results and its learned weights are bit-identical" in out
    run = tmp_path / "runs" / "demo"
    for f in ("model.erbp", "learned_on_chip.erbp", "chip_train.jsonl", "plots/summary.png",
              "plots/learning_curve.png"):
        assert (run / f).is_file(), f
    again = subprocess.run([sys.executable, "-m", "erbp.demo", "--out", str(run / "plots")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "is not a demo run directory" in again.stderr


def test_the_digits_when_no_mnist_is_at_hand(tmp_path, monkeypatch):
    from erbp.demo import data_at_hand

    monkeypatch.setenv("ERBP_DATA", str(tmp_path / "nothing"))
    data, note = data_at_hand()
    assert data.name == "digits" and "MNIST not found" in note and "ERBP_DATA" in note
