"""The `erbp` command line: train, resume, eval, info, convert, and one-line errors for user
mistakes."""
from __future__ import annotations

import json
import shlex
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from erbp import cli
from erbp.cli import main
from erbp.reference import modelfile

TINY = ["--dataset", "digits", "--topology", "64-16-10", "--set", "ticks_train=16",
        "--set", "ticks_infer=16", "--set", "burn_in=2", "--no-progress"]


def erbp(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(map(str, args)))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def user_error(*args: str, code: int = 1) -> str:
    """Run a command that must fail with a one-line message (no traceback); return it."""
    r = erbp(*args, ok=False)
    assert r.exit_code == code, r.output
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, r.output
    return errors[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run directory with a tiny digits network trained for 30 samples."""
    out = tmp_path_factory.mktemp("cli") / "run"
    args = ["train", *TINY, "--samples", 30, "--test-every", 10, "--test-samples", 5,
            "--seed", 7, "--out", out]
    r = erbp(*args)
    return out, r, args


def test_train_writes_the_run_directory(trained):
    out, r, args = trained
    assert sorted(p.name for p in out.iterdir()) == [
        "average.npz", "config.json", "metrics.jsonl", "model-avg.erbp", "model.erbp",
        "state.json"]  # the recipe's weight averaging is on by default (test_averaging.py)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["command"] == shlex.join(["erbp", *map(str, args)])
    assert cfg["options"]["samples"] == 30 and cfg["options"]["protocol"] == "balanced"
    assert cfg["overrides"] == {"ticks_train": 16, "ticks_infer": 16, "burn_in": 2}
    assert cfg["net_config"]["ticks_train"] == 16 and cfg["seed"] == 7
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["samples_seen"] for m in recs] == [10, 20, 30]
    assert set(recs[0]) >= {"samples_seen", "train_error", "test_error", "time_s", "events"}
    net = modelfile.load(out / "model.erbp")
    assert net.samples_seen == 30 and net.cfg.sizes == (64, 16, 10) and net.seed == 7
    assert "samples seen: 30" in r.output and "test error:" in r.output


def test_info(trained):
    out, _, _ = trained
    text = erbp("info", out / "model.erbp").output
    assert "64-16-10 (erbp)" in text and "samples seen  30" in text
    assert "semantics 2" in text and "ticks_train    16" in text
    d = json.loads(erbp("info", out, "--json").output)
    assert d["samples_seen"] == 30 and d["weights"] == 64 * 16 + 16 * 10 and d["seed"] == 7


def test_eval(trained, tmp_path):
    out, _, _ = trained
    js = tmp_path / "e.json"
    text = erbp("eval", out, "--test-samples", 12, "--start", 3, "--json", js).output
    d = json.loads(js.read_text())
    assert d["test_samples"] == 12 and d["start"] == 3 and d["dataset"] == "digits"
    assert f"{100 * d['test_error']:.2f}%" in text and "test samples 3..14" in text
    assert d["correct"] == round((1 - d["test_error"]) * 12)
    # the per-sample cost, as the engine reports it for the same samples
    net = modelfile.load(out / "model.erbp")
    from erbp.data.datasets import load_dataset

    data = load_dataset("digits")
    runs = [net.run_sample(data.test_x[i], -1, "infer", sample=i) for i in range(3, 15)]
    ev, tk = np.array([r.events for r in runs]), np.array([r.ticks for r in runs])
    assert d["events_per_sample"] == {"mean": ev.mean(), "p50": np.percentile(ev, 50),
                                      "p95": np.percentile(ev, 95), "max": ev.max()}
    assert d["ticks_per_sample"]["mean"] == tk.mean() and d["events"] == ev.sum()
    assert f"per sample: {ev.mean():,.0f} synaptic events" in text
    assert f"{tk.mean():.1f} ticks" in text and "of 16)" in text


def test_eval_with_inference_fields_set(trained, tmp_path):
    """--set changes how the model infers (not the file): exit off runs every tick."""
    out, _, _ = trained
    before = (out / "model.erbp").read_bytes()
    js = tmp_path / "e.json"
    erbp("eval", out, "--test-samples", 5, "--set", "exit_margin=0", "--set", "readout=0",
         "--json", js)
    d = json.loads(js.read_text())
    assert (d["readout"], d["exit_margin"]) == (0, 0)
    assert d["ticks_per_sample"] == {"mean": 16.0, "p50": 16.0, "p95": 16.0, "max": 16.0}
    assert (out / "model.erbp").read_bytes() == before
    line = user_error("eval", out, "--set", "threshold=5")
    assert "only the inference fields" in line and "threshold" in line


def test_convert_a_v1_model(tmp_path):
    from conftest import GOLDEN

    v1 = GOLDEN / "v1" / "erbp_small.erbp"
    line = user_error("info", v1)
    assert "semantics version 1" in line and "erbp convert OLD.erbp NEW.erbp" in line
    text = erbp("convert", v1, tmp_path / "new.erbp").output
    assert "wrote" in text and "readout 0, exit_margin 0" in text
    assert (tmp_path / "new.erbp").read_bytes() == modelfile.convert_v1(v1.read_bytes())
    assert "exists" in user_error("convert", v1, tmp_path / "new.erbp")
    assert "needs no conversion" in user_error("convert", tmp_path / "new.erbp",
                                               tmp_path / "again.erbp", "--force")
    assert "cannot read" in user_error("convert", tmp_path / "none.erbp", tmp_path / "x.erbp")


def test_resume_matches_an_uninterrupted_run(tmp_path):
    erbp("train", *TINY, "--samples", 24, "--test-every", 8, "--test-samples", 3,
         "--out", tmp_path / "straight")
    erbp("train", *TINY, "--samples", 11, "--test-every", 8, "--test-samples", 3,
         "--out", tmp_path / "split")
    r = erbp("train", "--resume", tmp_path / "split", "--samples", 24, "--no-progress")
    assert "resuming" in r.output
    a = modelfile.load(tmp_path / "straight" / "model.erbp")
    b = modelfile.load(tmp_path / "split" / "model.erbp")
    assert a.samples_seen == b.samples_seen == 24
    for wa, wb in zip(a.W, b.W):
        np.testing.assert_array_equal(wa, wb)
    cfg = json.loads((tmp_path / "split" / "config.json").read_text())
    assert cfg["resumed"][0]["samples_seen"] == 11
    assert cfg["resumed"][0]["command"].startswith("erbp train --resume")


def test_engine_c_gives_the_same_model(tmp_path):
    from erbp.engines.c import engine  # noqa: F401  built by `make setup`; never skipped
    for engine in ("python", "c"):
        erbp("train", *TINY, "--samples", 12, "--test-samples", 4, "--engine", engine,
             "--out", tmp_path / engine)
    a, b = (modelfile.load(tmp_path / e / "model.erbp") for e in ("python", "c"))
    for wa, wb in zip(a.W, b.W):
        np.testing.assert_array_equal(wa, wb)


def test_mnist_smoke(mnist_dir, tmp_path):
    # ERBP_DATA (tests/conftest.py) points at the real MNIST
    r = erbp("train", "--topology", "784-8-10", "--set", "ticks_train=8", "--set",
             "ticks_infer=8", "--set", "burn_in=1", "--samples", 3, "--test-samples", 2,
             "--no-progress", "--out", tmp_path / "m")
    assert "mnist, 784-8-10" in r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["options"]["epoch_size"] \
        == 50_000
    r = erbp("eval", tmp_path / "m" / "model.erbp", "--test-samples", 2, "--no-progress")
    assert "mnist" in r.output


# --- user errors: one line, nonzero exit ----------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--data-dir", "/nonexistent/mnist"], "MNIST data directory /nonexistent/mnist"),
    (["--dataset", "digits", "--topology", "abc"], "bad topology 'abc'"),
    (["--dataset", "digits", "--topology", "784-100-10"], "has 784 inputs but the data set"),
    (["--dataset", "digits", "--set", "tick_train=5"], "unknown configuration field "
                                                       "'tick_train' (did you mean ticks_train"),
    (["--dataset", "digits", "--set", "ticks_train=x"], "'x' is not an integer"),
    (["--dataset", "digits", "--set", "ticks_train"], "--set expects key=value"),
    (["--dataset", "digits", "--set", "ticks_train=0"], "ticks_train = 0 outside [1, 65535]"),
    (["--dataset", "digits", "--engine", "gpu"], "unknown engine 'gpu'"),
    (["--dataset", "digits", "--grid-bits", "11"], "--grid-bits 11 cannot keep weight layer 0"),
])
def test_train_user_errors(args, message, tmp_path):
    line = user_error("train", *args, "--samples", 2, "--out", tmp_path / "r")
    assert message in line
    assert not (tmp_path / "r").exists()  # nothing half-made


def test_train_on_a_finer_grid(tmp_path):
    """--grid-bits 9: the default network on a 2x finer weight grid, --set applied after."""
    from erbp.training import make_config

    erbp("train", *TINY, "--grid-bits", 9, "--samples", 4, "--test-every", 0,
         "--test-samples", 0, "--out", tmp_path / "r")
    net = modelfile.load(tmp_path / "r" / "model.erbp")
    assert net.cfg == make_config("64-16-10", "erbp", {"ticks_train": 16, "ticks_infer": 16,
                                                       "burn_in": 2}, grid_bits=9)
    assert net.cfg.weight_bits == 9 and net.cfg.w_shift == (1, 5)
    assert json.loads((tmp_path / "r" / "config.json").read_text())["grid_bits"] == 9
    line = user_error("train", "--resume", tmp_path / "r", "--grid-bits", 9, code=2)
    assert "--grid-bits cannot be given" in line


def test_resume_missing_run():
    assert "run directory /nonexistent/run does not exist" in user_error(
        "train", "--resume", "/nonexistent/run")


def test_usage_errors_exit_2(trained, tmp_path):
    out, _, _ = trained
    assert "not both" in user_error("train", *TINY, "--samples", 2, "--epochs", 1, code=2)
    line = user_error("train", "--resume", out, "--seed", 3, "--set", "ticks_train=9", code=2)
    assert "--seed, --set cannot be given" in line


def test_existing_run_and_complete_run(trained):
    out, _, _ = trained
    assert "already holds a run" in user_error("train", *TINY, "--samples", 2, "--out", out)
    assert "is complete: 30 samples seen" in user_error("train", "--resume", out)


def test_missing_c_engine(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "erbp.engines.c", None)
    line = user_error("train", *TINY, "--engine", "c", "--samples", 2, "--out", tmp_path / "r")
    assert "C engine not built: pip install -e ." in line


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:40], "truncated"),
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], "CRC mismatch"),
    (lambda b: b"JUNK" + b[4:], "not an erbp model file"),
])
@pytest.mark.parametrize("command", ["info", "eval"])
def test_corrupt_model_file(trained, tmp_path, damage, message, command):
    out, _, _ = trained
    bad = tmp_path / "bad.erbp"
    bad.write_bytes(damage((out / "model.erbp").read_bytes()))
    line = user_error(command, bad)
    assert message in line and "bad.erbp" in line


def test_missing_model_file(tmp_path):
    assert "cannot read model file" in user_error("info", tmp_path / "none.erbp")


# --- the command group ----------------------------------------------------------------------------
def test_help_lists_subcommands():
    text = erbp("--help").output
    for name in ("train", "eval", "info", "convert"):
        assert f"  {name} " in text


def test_subcommand_registration_is_one_line(monkeypatch, trained):
    out, _, _ = trained
    monkeypatch.setitem(cli.SUBCOMMANDS, "describe", "erbp.cli.info:info")
    assert "samples seen  30" in erbp("describe", out).output
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", "erbp.no_such_module:cmd")
    assert "erbp broken is unavailable" in user_error("broken", "--anything")
    assert "train" in erbp("--help").output  # a broken module does not break the others
