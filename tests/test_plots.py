"""Figures of a run directory (erbp.plots, `erbp plot`): every PNG is written, has the declared
pixel size and shows something; the numbers behind them are right."""
from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli.plot import plot
from erbp.plots import FILES, confusion_matrix, load_run, pixel_size, plot_all, record_raster
from erbp.reference import TRAIN, NetConfig, Network
from erbp.reference import modelfile


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def assert_figure(path: Path, kind: str) -> None:
    import matplotlib.image

    assert path.is_file() and path.stat().st_size > 5000, path
    assert png_size(path) == pixel_size(kind)
    img = matplotlib.image.imread(path)
    assert img[..., :3].std() > 0.05  # not a blank canvas


@pytest.fixture(scope="module")
def small(mnist):
    return dataclasses.replace(mnist, test_x=mnist.test_x[:40], test_y=mnist.test_y[:40])


@pytest.fixture(scope="module")
def rundir(tmp_path_factory, mnist) -> Path:
    """A tiny run: 784-16-10, 20-tick samples, 12 training samples, three evaluations."""
    d = tmp_path_factory.mktemp("run")
    cfg = NetConfig.default("784-16-10", ticks_train=20, ticks_infer=20, burn_in=2)
    net = Network.create(cfg, 3)
    for i in range(12):
        net.run_sample(mnist.train_x[i], int(mnist.train_y[i]), TRAIN)
    modelfile.save(net, d / "model.erbp")
    recs = [{"samples_seen": n, "test_error": e, "train_error": t, "test_samples": 40}
            for n, e, t in [(4, 0.9, None), (8, 0.7, 0.8), (12, 0.6, 0.7)]]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (d / "config.json").write_text(json.dumps({"dataset": "mnist", "variant": "erbp"}))
    return d


def test_plot_all_writes_every_figure(rundir, small, tmp_path):
    out = tmp_path / "figs"
    written = plot_all(rundir, out, n_digits=3, n_test=40, engine="python", data=small)
    assert set(written) == set(FILES)
    for kind, path in written.items():
        assert path == out / FILES[kind]
        assert_figure(path, kind)


def test_run_loading_and_initial_weights(rundir):
    run = load_run(rundir)
    assert run.net.samples_seen == 12 and len(run.metrics) == 3
    fresh = Network.create(run.net.cfg, run.net.seed)
    np.testing.assert_array_equal(run.initial.W[0], fresh.W[0])  # regenerated from the seed
    assert not np.array_equal(run.initial.W[0], run.net.W[0])  # training changed the weights
    assert "784-16-10" in run.title


def test_raster_records_every_tick_without_touching_the_network(rundir, small):
    net = load_run(rundir).net
    w = net.W[0].copy()
    r = record_raster(net, small.test_x[0], int(small.test_y[0]), sample=0)
    assert [s.shape for s in r.spikes] == [(20, 16), (20, 10)]
    np.testing.assert_array_equal(r.spikes[-1].sum(axis=0), r.counts)
    assert r.prediction == int(np.argmax(r.counts))
    np.testing.assert_array_equal(net.W[0], w)
    assert r.inputs.shape == (20, 784) and r.inputs.any()


def test_confusion_matrix_counts():
    m = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_cli_plot_commands(rundir, tmp_path):
    out = tmp_path / "a"
    r = CliRunner().invoke(plot, ["confusion", str(rundir), "--out", str(out),
                                  "--test-samples", "10", "--engine", "python"])
    assert r.exit_code == 0, r.output
    assert_figure(out / FILES["confusion"], "confusion")
    r = CliRunner().invoke(plot, ["curve", str(rundir)])
    assert r.exit_code == 0, r.output
    assert_figure(rundir / "plots" / FILES["curve"], "curve")
    assert "all" in plot.commands and set(FILES) <= set(plot.commands)
    r = CliRunner().invoke(plot, ["weights", str(tmp_path)])  # not a run directory
    assert r.exit_code != 0


def test_summary_page_and_marked_mistakes(rundir, small, tmp_path):
    """erbp plot summary writes the one-page figure; a wrong prediction is marked in red in the
    rasters (title and output row), a right one is not."""
    import matplotlib.colors
    import matplotlib.image

    from erbp.plots import WRONG, Raster, plot_rasters

    r = CliRunner().invoke(plot, ["summary", str(rundir), "--out", str(tmp_path / "s"),
                                  "--test-samples", "20", "--engine", "python"])
    assert r.exit_code == 0, r.output
    assert_figure(tmp_path / "s" / FILES["summary"], "summary")
    spikes = [np.zeros((20, 16), bool), np.zeros((20, 10), bool)]
    red = np.array(matplotlib.colors.to_rgb(WRONG))
    reds = []
    for pred in (3, 5):  # right, then wrong (label 3)
        ras = Raster(3, pred, np.zeros(10), spikes, np.zeros((20, 784), bool))
        img = matplotlib.image.imread(plot_rasters([ras], tmp_path / f"r{pred}.png"))[..., :3]
        reds.append(int((np.abs(img - red).sum(axis=-1) < 0.15).sum()))
    assert reds[0] == 0 and reds[1] > 500


def test_learning_curve_points_scale_with_the_run():
    from erbp.training.loop import default_test_every

    assert [default_test_every(n) for n in (5, 300, 5000, 50_000, 60_000)] == \
        [1, 20, 500, 5000, 5000]
    for n in (7, 999, 12_345, 1_000_000):
        assert 5 <= n // default_test_every(n) <= 25
