"""Weight averaging over the end of a run (erbp.training.averaging): the window, the exact integer
mean, resume across checkpoints inside the window, and `erbp train` / `erbp sweep` defaults."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.reference import NetConfig, Network, modelfile
from erbp.training import RunOptions, open_run, run_training, start_run, train
from erbp.training.averaging import (NO_AVERAGE, AverageError, AverageWindow, WeightAverage,
                                     default_average)
from erbp.training.recipe import CONSTANT_LR, LrSchedule

CFG = NetConfig.default("64-16-10", ticks_train=16, ticks_infer=16, burn_in=2)
TINY = ["--dataset", "digits", "--topology", "64-16-10", "--set", "ticks_train=16",
        "--set", "ticks_infer=16", "--set", "burn_in=2", "--no-progress", "--engine", "c"]


def erbp(*args, code=0):
    r = CliRunner().invoke(main, list(map(str, args)))
    assert r.exit_code == code, r.output
    return r


def test_window_positions():
    w = AverageWindow(1.5, 5)
    assert w.first(100, 20) == 70  # the last 30 samples of 100
    taken = [p for p in range(0, 101) if w.takes(p, 100, 20)]
    assert taken == [75, 80, 85, 90, 95, 100]
    assert w.next_snapshot(75) == 80 and w.next_snapshot(77) == 80
    assert AverageWindow(10.0, 7).first(30, 20) == 0  # a window longer than the run
    assert [p for p in range(31) if AverageWindow(10.0, 7).takes(p, 30, 20)] == [7, 14, 21, 28,
                                                                               30]  # and the end
    assert not NO_AVERAGE.active and not NO_AVERAGE.takes(100, 100, 20)
    assert NO_AVERAGE.next_snapshot(5) > 10**15
    for bad in ((-1.0, 5), (float("nan"), 5), (1.0, 0), (1.0, -2)):
        with pytest.raises(ValueError):
            AverageWindow(*bad)


def test_default_window_is_the_schedules_last_period():
    assert default_average(LrSchedule(2.0, 0.0), 50_000) == AverageWindow(2.0, 2500)
    assert default_average(LrSchedule(6.0, 0.0), 50_000) == AverageWindow(6.0, 2500)
    assert default_average(CONSTANT_LR, 50_000) == NO_AVERAGE
    assert default_average(LrSchedule(1.0, 0.0), 7) == AverageWindow(1.0, 1)


def test_mean_is_exact_and_rounds_half_up():
    net = Network.create(CFG, 1)
    avg = WeightAverage.empty(net)
    a = [np.full(w.shape, -3, np.int64) for w in net.W]
    b = [np.full(w.shape, 0, np.int64) for w in net.W]
    a[0][0, 0], b[0][0, 0] = 127, 126  # mean 126.5 -> 127 (stays in range)
    a[0][0, 1], b[0][0, 1] = -128, -127  # mean -127.5 -> -127
    avg.add(a, 10)
    avg.add(b, 20)
    out = avg.network(net)
    assert out.W[1][0, 0] == -1  # mean -1.5 -> -1 (half up)
    assert out.W[0][0, 0] == 127 and out.W[0][0, 1] == -127
    assert avg.count == 2 and avg.last == 20
    assert out.cfg == net.cfg and out.samples_seen == net.samples_seen
    assert all((g1 == g2).all() for g1, g2 in zip(out.G, net.G))
    with pytest.raises(ValueError):
        WeightAverage.empty(net).network(net)


def test_saved_sums_must_belong_to_the_checkpoint(tmp_path):
    net = Network.create(CFG, 1)
    avg = WeightAverage.empty(net)
    avg.add(net.W, 5)
    avg.save(tmp_path / "a.npz", net.samples_seen)
    got = WeightAverage.load(tmp_path / "a.npz", net)
    assert got.count == 1 and all((x == y).all() for x, y in zip(got.sums, avg.sums))
    net.samples_seen = 7  # another checkpoint
    with pytest.raises(AverageError, match="saved at 0 samples"):
        WeightAverage.load(tmp_path / "a.npz", net)
    (tmp_path / "b.npz").write_bytes(b"not numpy")
    with pytest.raises(AverageError):
        WeightAverage.load(tmp_path / "b.npz", net)
    other = Network.create(NetConfig.default("64-8-10"), 1)
    with pytest.raises(AverageError):
        WeightAverage.load(tmp_path / "a.npz", other)


@pytest.mark.parametrize("engine", ["python", "c"])
def test_average_is_the_mean_of_the_snapshots_and_resumes_bit_exactly(digits, tmp_path, engine):
    # 3 epochs of 20 samples, averaging the last 1.5 epochs (30 samples) every 5 samples
    opts = RunOptions("digits", samples=60, epoch_size=20, order_seed=3, test_every=10,
                      test_samples=4, window=8, lr_halve_every=1.0, average_last=1.5,
                      average_every=5)
    straight = Network.create(CFG, 3)
    run_a = start_run(tmp_path / "a", straight, opts)
    res_a = run_training(run_a, straight, digits, opts, engine=engine, batch_size=4)
    # the same network, trained in chunks by hand, snapshots at 35, 40, ..., 60
    ref = Network.create(CFG, 3)
    snaps = []
    for end in range(5, 61, 5):
        train(ref, digits, 5, epoch_size=20, order_seed=3, test_samples=0, batch_size=4,
              lr_schedule=LrSchedule(1.0, 0.0), lr_base=CFG.lr_shift)
        if end > 30:
            snaps.append([w.copy() for w in ref.W])
    assert len(snaps) == 6
    mean = [np.floor(np.mean([s[l] for s in snaps], axis=0) + 0.5).astype(np.int64)
            for l in range(len(ref.W))]
    got = modelfile.load(run_a.model_avg_path)
    assert all((g == m).all() for g, m in zip(got.W, mean))
    assert (res_a.average.W[0] == got.W[0]).all()
    assert any((g != w).any() for g, w in zip(got.W, ref.W))  # not just the final weights
    last = run_a.read_metrics()[-1]
    assert last["avg_snapshots"] == 6 and 0 <= last["avg_test_error"] <= 1
    # interrupted inside the window (after the checkpoint at 40), then resumed
    net = Network.create(CFG, 3)
    run_b = start_run(tmp_path / "b", net, opts)
    seen = []

    def stop() -> bool:  # one step after the checkpoint at 40 (4 records of test_every 10)
        seen.append(len(run_b.read_metrics()) >= 4)
        return sum(seen) >= 2

    res = run_training(run_b, net, digits, opts, engine=engine, batch_size=4, stop=stop)
    assert res.interrupted and 30 < res.network.samples_seen < 60
    assert run_b.average_path.exists() and not run_b.model_avg_path.exists()
    run_b, net2, state, opts2 = open_run(run_b.path)
    assert opts2 == opts
    run_training(run_b, net2, digits, opts2, state, engine=engine, batch_size=4)
    assert run_a.model_avg_path.read_bytes() == run_b.model_avg_path.read_bytes()
    assert run_a.model_path.read_bytes() == run_b.model_path.read_bytes()


def test_a_sum_file_of_another_checkpoint_restarts_the_average_with_a_warning(digits, tmp_path,
                                                                              capsys):
    opts = RunOptions("digits", samples=40, epoch_size=20, order_seed=3, test_every=10,
                      test_samples=4, lr_halve_every=1.0, average_last=1.0, average_every=5)
    net = Network.create(CFG, 3)
    run = start_run(tmp_path / "r", net, opts)
    res = run_training(run, net, digits, opts, engine="c", batch_size=5,
                       stop=lambda: len(run.read_metrics()) >= 3)  # at 30, inside the window
    assert res.interrupted and res.network.samples_seen == 30
    run, net2, state, _ = open_run(run.path)
    WeightAverage.empty(net2).save(run.average_path, 999)  # not this checkpoint
    res = run_training(run, net2, digits, opts, state, engine="c", batch_size=5)
    assert "the weight average starts again at" in capsys.readouterr().err
    assert res.average is not None and run.model_avg_path.exists()


def test_erbp_train_averages_by_default_and_refuses_a_new_window_on_resume(tmp_path):
    r = erbp("train", *TINY, "--epochs", 2, "--epoch-size", 20, "--test-samples", 3,
             "--out", tmp_path / "run")
    opts = json.loads((tmp_path / "run" / "config.json").read_text())["options"]
    assert (opts["average_last"], opts["average_every"]) == (2.0, 1)  # the schedule's period
    assert "weights averaged over the last 2 epochs" in r.output
    assert "averaged model (40 snapshots" in r.output and (tmp_path / "run" /
                                                           "model-avg.erbp").exists()
    erbp("train", *TINY, "--epochs", 2, "--epoch-size", 20, "--test-samples", 3,
         "--average-last", 0, "--out", tmp_path / "off")
    assert not (tmp_path / "off" / "model-avg.erbp").exists()
    r = erbp("train", "--resume", tmp_path / "run", "--epochs", 3, "--average-last", 1, code=2)
    assert "--average-last" in r.output
    r = erbp("train", *TINY, "--epochs", 1, "--average-last", "-1", code=2)
    assert "Traceback" not in r.output


def test_old_run_directory_resumes_without_averaging(digits, tmp_path):
    opts = RunOptions("digits", samples=20, epoch_size=10, test_samples=2, lr_halve_every=1.0)
    run = start_run(tmp_path / "old", Network.create(CFG, 3), opts)
    conf = run.read_config()
    for k in ("average_last", "average_every"):  # as written before averaging
        del conf["options"][k]
    run.write_config(conf)
    run, net, state, got = open_run(run.path)
    assert got.average == NO_AVERAGE
    res = run_training(run, net, digits, got, state)
    assert res.average is None and not run.model_avg_path.exists()
