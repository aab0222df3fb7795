"""The training recipe (erbp.training.recipe): the learning-rate schedule in training, in run directories
and in `erbp train`, exact resume across halvings, and the validation split."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.reference import NetConfig, Network, modelfile
from erbp.training import RunDir, RunOptions, open_run, run_training, start_run, train
from erbp.training.recipe import (CONSTANT_LR, DEFAULT_LR_SCHEDULE, LrSchedule,
                                  default_lr_schedule, split_data)

CFG = NetConfig.default("64-16-10", ticks_train=16, ticks_infer=16, burn_in=2)
TINY = ["--dataset", "digits", "--topology", "64-16-10", "--set", "ticks_train=16",
        "--set", "ticks_infer=16", "--set", "burn_in=2", "--no-progress", "--engine", "c"]


def erbp(*args):
    r = CliRunner().invoke(main, list(map(str, args)))
    assert r.exit_code == 0, r.output
    return r


def test_schedule_halves_every_e_epochs_and_caps():
    base = (13, 12)
    s = LrSchedule(3.0, 0.0)
    got = [s.lr_shift(base, e * 100, 100) for e in range(10)]
    assert got[:3] == [base] * 3 and got[3:6] == [(14, 13)] * 3 and got[9] == (16, 15)
    assert s.lr_shift(base, 299, 100) == base and s.lr_shift(base, 300, 100) == (14, 13)
    assert CONSTANT_LR.lr_shift(base, 10**6, 100) == base and CONSTANT_LR.next_change(5, 9) is None
    assert LrSchedule(2.0, -2.0).lr_shift(base, 0, 100) == (14, 13)  # one halving early
    assert LrSchedule(1.0, 0.0).lr_shift(base, 100 * 100, 100) == (30, 30)  # capped
    assert LrSchedule(2.0, 1.0).lr_shift(base, 299, 100) == base  # first halving at epoch 3
    assert LrSchedule(2.0, 1.0).lr_shift(base, 300, 100) == (14, 13)
    assert DEFAULT_LR_SCHEDULE == LrSchedule(2.0, 0.0)
    with pytest.raises(ValueError):
        LrSchedule(-1.0, 0.0)


def test_default_schedule_halves_five_times_over_the_run_at_most_every_2_epochs():
    assert default_lr_schedule(1) == default_lr_schedule(10) == DEFAULT_LR_SCHEDULE
    assert default_lr_schedule(15) == LrSchedule(3.0, 0.0)
    assert default_lr_schedule(30) == LrSchedule(6.0, 0.0)
    assert default_lr_schedule(60) == LrSchedule(12.0, 0.0)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            default_lr_schedule(bad)


def test_schedule_changes_exactly_at_fractional_points():
    s = LrSchedule(1.5, 0.5)  # halvings at epochs 2, 3.5, 5, ... of 10 samples: 20, 35, 50
    assert [s.next_change(p, 10) for p in (0, 19, 20, 34, 35)] == [20, 20, 35, 35, 50]
    assert [s.halvings(p, 10) for p in (19, 20, 34, 35, 50)] == [0, 1, 1, 2, 3]
    # the change points agree with halvings() everywhere
    for p in range(80):
        nxt = s.next_change(p, 10)
        assert all(s.halvings(q, 10) == s.halvings(p, 10) for q in range(p, nxt))
        assert s.halvings(nxt, 10) == s.halvings(p, 10) + 1


def test_training_follows_the_schedule_in_any_chunking(digits):
    sched = LrSchedule(0.5, 0.0)  # 20-sample epochs: halvings at 10, 20, 30
    whole = Network.create(CFG, 3)
    res = train(whole, digits, 40, epoch_size=20, test_every=10, test_samples=2,
                lr_schedule=sched, batch_size=7)
    assert [r["lr_shift"] for r in res.records] == [[s + k for s in CFG.lr_shift]
                                                    for k in range(4)]
    assert res.network.cfg.lr_shift == tuple(s + 3 for s in CFG.lr_shift)
    parts = Network.create(CFG, 3)
    for n in (13, 9, 18):  # chunks that straddle the changes
        train(parts, digits, n, epoch_size=20, test_samples=0, lr_schedule=sched,
              lr_base=CFG.lr_shift)
    for a, b in zip(whole.W, parts.W):
        np.testing.assert_array_equal(a, b)
    const = Network.create(CFG, 3)
    train(const, digits, 40, epoch_size=20, test_samples=0)
    assert any((a != b).any() for a, b in zip(whole.W, const.W))  # the schedule did something
    with pytest.raises(ValueError, match="lr_base"):
        train(parts, digits, 1, epoch_size=20, test_samples=0, lr_schedule=sched)


@pytest.mark.parametrize("engine", ["python", "c"])
def test_scheduled_run_interrupted_and_resumed_is_bit_identical(digits, tmp_path, engine):
    # 2 epochs of 20 samples, halving every epoch: the interruption falls before the halving
    opts = RunOptions("digits", samples=40, epoch_size=20, order_seed=3, test_every=10,
                      test_samples=4, window=8, lr_halve_every=1.0)
    straight = Network.create(CFG, 3)
    run_a = start_run(tmp_path / "a", straight, opts)
    run_training(run_a, straight, digits, opts, engine=engine, batch_size=6)
    net = Network.create(CFG, 3)
    run_b = start_run(tmp_path / "b", net, opts)
    calls = iter(range(100))
    res = run_training(run_b, net, digits, opts, engine=engine, batch_size=6,
                       stop=lambda: next(calls) >= 2)
    assert res.interrupted and 0 < res.network.samples_seen < 20
    run_b, net2, state, opts2 = open_run(run_b.path)
    assert opts2 == opts
    run_training(run_b, net2, digits, opts2, state, engine=engine, batch_size=6)
    assert run_a.model_path.read_bytes() == run_b.model_path.read_bytes()
    strip = lambda recs: [{k: v for k, v in r.items() if k != "time_s"} for r in recs]  # noqa
    assert strip(run_a.read_metrics()) == strip(run_b.read_metrics())
    assert [r["lr_shift"] for r in run_a.read_metrics()][1::2] == [
        list(CFG.lr_shift), [s + 1 for s in CFG.lr_shift]]


def test_old_run_directory_without_schedule_resumes_with_constant_rate(digits, tmp_path):
    opts = RunOptions("digits", samples=30, epoch_size=10, test_samples=2)
    run = start_run(tmp_path / "old", Network.create(CFG, 3), opts)
    conf = run.read_config()
    for k in ("lr_halve_every", "lr_halve_start", "split"):  # as written before the recipe
        del conf["options"][k]
    run.write_config(conf)
    run, net, state, got = open_run(run.path)
    assert got.lr_schedule == CONSTANT_LR and got.split == "test"
    run_training(run, net, digits, got, state)
    ref = Network.create(CFG, 3)
    train(ref, digits, 30, epoch_size=10, test_samples=0)
    assert modelfile.load(run.model_path).W[0].tobytes() == ref.W[0].tobytes()


def test_erbp_train_records_the_schedule_and_resumes_it_bit_exactly(tmp_path):
    common = [*TINY, "--epoch-size", 20, "--lr-halve-every", 1, "--test-every", 10,
              "--test-samples", 3]
    erbp("train", *common, "--epochs", 2, "--out", tmp_path / "straight")
    erbp("train", *common, "--samples", 13, "--out", tmp_path / "split")
    erbp("train", "--resume", tmp_path / "split", "--epochs", 2, "--no-progress")
    a, b = (tmp_path / d / "model.erbp" for d in ("straight", "split"))
    assert a.read_bytes() == b.read_bytes()
    opts = RunDir(tmp_path / "split").read_config()["options"]
    assert opts["lr_halve_every"] == 1 and opts["lr_halve_start"] == 0
    assert modelfile.load(a).cfg.lr_shift == tuple(s + 1 for s in CFG.lr_shift)
    r = CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "split"), "--epochs", "3",
                                  "--lr-halve-every", "2"])
    assert r.exit_code == 2 and "--lr-halve-every" in r.output


def test_erbp_train_default_schedule_and_validation_split(tmp_path):
    erbp("train", *TINY, "--samples", 5, "--test-samples", 2, "--out", tmp_path / "bal")
    opts = json.loads((tmp_path / "bal" / "config.json").read_text())["options"]
    assert (opts["lr_halve_every"], opts["lr_halve_start"]) == (DEFAULT_LR_SCHEDULE.every,
                                                               DEFAULT_LR_SCHEDULE.start)
    assert opts["split"] == "test"
    # a longer run: five halvings over it, fixed at creation
    erbp("train", *TINY, "--epochs", 30, "--epoch-size", 1, "--test-samples", 2, "--out",
         tmp_path / "long")
    opts = json.loads((tmp_path / "long" / "config.json").read_text())["options"]
    assert (opts["lr_halve_every"], opts["lr_halve_start"]) == (6.0, 0.0)
    erbp("train", "--resume", tmp_path / "long", "--epochs", 60, "--no-progress")
    opts = json.loads((tmp_path / "long" / "config.json").read_text())["options"]
    assert opts["lr_halve_every"] == 6.0 and opts["samples"] == 60  # extended, same schedule
    erbp("train", *TINY, "--samples", 5, "--test-samples", 2, "--protocol", "sequential",
         "--split", "validation", "--out", tmp_path / "seq")
    opts = json.loads((tmp_path / "seq" / "config.json").read_text())["options"]
    assert opts["lr_halve_every"] == 0 and opts["split"] == "validation"
    assert opts["epoch_size"] == 1438 - 1438 // 6


def test_validation_split(digits):
    v = split_data(digits, "validation")
    n_val = len(digits.train_y) // 6
    assert len(v.test_y) == n_val and len(v.train_y) == len(digits.train_y) - n_val
    np.testing.assert_array_equal(v.test_x, digits.train_x[-n_val:])
    assert split_data(digits, "test") is digits
    with pytest.raises(ValueError):
        split_data(digits, "train")
