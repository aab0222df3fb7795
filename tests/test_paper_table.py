"""benchmarks/paper_table.py: the table collector (run directories of sweeps and of the earlier
driver and the committed record merged, averages of the last evaluations, the doc block
replaced)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pt():
    spec = importlib.util.spec_from_file_location("paper_table", ROOT / "benchmarks" /
                                                  "paper_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_run(root: Path, topo: str, variant: str, errors: list[float], epochs: int,
              options: dict | None = None) -> None:
    d = root / f"{topo}-{variant}-s1"
    d.mkdir(parents=True)
    (d / "model.erbp").write_bytes(b"")
    (d / "config.json").write_text(json.dumps({
        "topology": topo, "variant": variant, "seed": 1, "command": "cmd",
        "options": {"samples": epochs * 50_000, "epoch_size": 50_000, **(options or {})}}))
    with open(d / "metrics.jsonl", "w") as f:
        for i, e in enumerate(errors, 1):
            f.write(json.dumps({"epoch": i, "samples_seen": i * 50_000, "test_error": e,
                                "test_samples": 10_000, "time_s": 10.0 * i,
                                "train_s": 9.0 * i, "events": 150_000 * 50_000 * i}) + "\n")


def test_table_averages_merges_record_and_rewrites_doc(pt, tmp_path):
    root, res = tmp_path / "table", tmp_path / "results"
    _fake_run(root, "784-200-10", "erbp", [0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02], 10)
    res.mkdir()
    recorded = {"topology": "784-100-10", "variant": "erbp", "seed": 1, "epochs_done": 30,
                "epochs_target": 30.0, "complete": True, "test_error_pct": 4.83,
                "best_error_pct": 4.78, "paper_pct": 3.94, "train_s": 504,
                "events_per_sample": 150_000}
    stale = dict(recorded, topology="784-200-10", test_error_pct=99.0)   # replaced by the run
    (res / "paper_table.json").write_text(json.dumps({"rows": [recorded, stale]}))
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{pt.BEGIN}\nold\n{pt.END}\noutro\n")
    pt.main(["table", "--root", str(root), "--out", str(res), "--baselines",
             str(tmp_path / "none.json"), "--doc", str(doc)])
    rows = {r["topology"]: r for r in json.loads((res / "paper_table.json").read_text())["rows"]}
    assert set(rows) == {"784-100-10", "784-200-10"}
    new = rows["784-200-10"]
    assert new["test_error_pct"] == pytest.approx(100 * (0.05 + 0.04 + 0.03 + 0.02 + 0.06) / 5)
    assert new["best_error_pct"] == pytest.approx(2.0)
    assert new["epochs_done"] == 7 and not new["complete"]
    assert new["events_per_sample"] == 150_000
    assert rows["784-100-10"]["recorded"] is True
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "| 784-200-10 | eRBP | 1 | **4.00** |" in text and "7 of 10 (partial)" in text
    assert "| 784-100-10 | eRBP | 1 | **4.83** |" in text and "30 †" in text


def test_table_refuses_doc_without_block(pt, tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("no markers\n")
    with pytest.raises(SystemExit, match="paper_table:begin"):
        pt.main(["table", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "r"),
                 "--doc", str(doc)])
    assert doc.read_text() == "no markers\n"


def test_table_labels_overrides_and_keeps_differently_tuned_records(pt, tmp_path):
    root, res = tmp_path / "table", tmp_path / "results"
    _fake_run(root, "784-500-10", "erbp", [0.05, 0.04], 2)
    cfg = root / "784-500-10-erbp-s1" / "config.json"
    conf = json.loads(cfg.read_text())
    conf.update(overrides={"w_shift": [2, 1]}, schedule={"halve_every_epochs": 3.0, "halve_start_epoch": 0.0,
                          "base_lr_shift": [13, 13]})
    cfg.write_text(json.dumps(conf))
    res.mkdir()
    # the same network with the defaults and no run directory, lacking time and events
    recorded = {"topology": "784-500-10", "variant": "erbp", "seed": 1, "epochs_done": 15,
                "epochs_target": 15.0, "complete": True, "test_error_pct": 18.8,
                "best_error_pct": 6.27, "paper_pct": 2.76, "train_s": None,
                "events_per_sample": None, "overrides": {}}
    (res / "paper_table.json").write_text(json.dumps({"rows": [recorded]}))
    pt.main(["table", "--root", str(root), "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    rows = json.loads((res / "paper_table.json").read_text())["rows"]
    assert len(rows) == 2 and sum(bool(r.get("recorded")) for r in rows) == 1
    text = (res / "paper_table.md").read_text()
    assert "| 784-500-10 | eRBP `w_shift=2,1` `halve=3` | 1 | **4.50** |" in text
    assert "| 784-500-10 | eRBP | 1 | **18.80** | 6.27 | 2.76 | 15 † | — | — |" in text


def test_table_collects_sweep_trials_with_their_schedule(pt, tmp_path):
    sweeps = tmp_path / "sweeps"
    trials = sweeps / "paper_table" / "trials"
    _fake_run(trials, "784-100-10", "erbp", [0.06, 0.05], 2)
    _fake_run(trials, "784-100-10", "perbp", [0.07, 0.06], 2,
              {"lr_halve_every": 3.0, "lr_halve_start": 0.0})
    # Ray's checkpoint copies hold run files too: never rows
    _fake_run(sweeps / "paper_table" / "ray" / "sweep" / "t0" / "checkpoint_000000",
              "784-100-10", "erbp", [0.5], 1)
    res = tmp_path / "results"
    res.mkdir()
    pt.main(["table", "--root", str(sweeps), "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    rows = json.loads((res / "paper_table.json").read_text())["rows"]
    assert sorted(r["variant"] for r in rows) == ["erbp", "perbp"]
    sched = {r["variant"]: r["schedule"] for r in rows}
    assert sched["perbp"] == {"halve_every_epochs": 3.0, "halve_start_epoch": 0.0}
    md = (res / "paper_table.md").read_text()
    assert "| 784-100-10 | peRBP `halve=3` |" in md and "| 784-100-10 | eRBP |" in md


def test_seeds_of_one_row_are_averaged_and_listed(pt, tmp_path):
    root, res = tmp_path / "table", tmp_path / "results"
    for seed, errs in ((1, [0.05, 0.04]), (2, [0.07, 0.06])):
        trials = root / f"sweep{seed}" / "trials"          # two sweeps, one seed each
        _fake_run(trials, "784-100-10", "erbp", errs, 2)
        cfg = trials / "784-100-10-erbp-s1" / "config.json"
        conf = json.loads(cfg.read_text())
        cfg.write_text(json.dumps(dict(conf, seed=seed)))
    res.mkdir()
    pt.main(["table", "--root", str(root), "--average", "1", "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    md = (res / "paper_table.md").read_text()
    assert "| 784-100-10 | eRBP | 1, 2 | **5.00** (4.00, 6.00) | 4.00 |" in md


def test_version_2_scores_of_the_current_network_make_their_columns(pt, tmp_path):
    trials = tmp_path / "sweeps" / "s" / "trials"
    _fake_run(trials, "784-100-10", "erbp", [0.06, 0.05], 2)
    run = trials / "784-100-10-erbp-s1"
    v2 = {"samples_seen": 100_000, "error_pct": 4.5, "events_mean": 45_000.0, "ticks_mean": 30.0}
    (run / pt.V2_FILE).write_text(json.dumps(v2))
    res = tmp_path / "results"
    res.mkdir()
    pt.main(["table", "--root", str(tmp_path / "sweeps"), "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    assert "| **4.50** | 45,000 | 30.0 |" in (res / "paper_table.md").read_text()
    # a score made for an earlier network of the run (fewer samples seen) is not used
    (run / pt.V2_FILE).write_text(json.dumps(dict(v2, samples_seen=50_000)))
    pt.main(["table", "--root", str(tmp_path / "sweeps"), "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    assert "version 2 readout" not in (res / "paper_table.md").read_text()


def _table_with_average(pt, tmp_path: Path, run: Path) -> Path:
    """Give ``run``'s last record an averaged network (4.12 %), make the table of
    ``tmp_path/sweeps``; return its output directory."""
    m = run / "metrics.jsonl"
    recs = [json.loads(x) for x in m.read_text().splitlines()]
    recs[-1].update(avg_test_error=0.0412, avg_snapshots=40)
    m.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = tmp_path / "results"
    res.mkdir()
    pt.main(["table", "--root", str(tmp_path / "sweeps"), "--out", str(res), "--baselines",
             str(tmp_path / "none.json")])
    return res


def test_averaged_runs_make_their_own_rows_and_column(pt, tmp_path):
    trials = tmp_path / "sweeps" / "s" / "trials"
    _fake_run(trials, "784-100-10", "erbp", [0.06, 0.05], 2, {"lr_halve_every": 2.0})
    cfg = trials / "784-100-10-erbp-s1" / "config.json"  # seed 2: not the averaged run's
    cfg.write_text(json.dumps(dict(json.loads(cfg.read_text()), seed=2)))
    avg = tmp_path / "sweeps" / "s2" / "trials"
    _fake_run(avg, "784-100-10", "erbp", [0.06, 0.05], 2,
              {"lr_halve_every": 2.0, "average_last": 2.0})
    res = _table_with_average(pt, tmp_path, avg / "784-100-10-erbp-s1")
    md = (res / "paper_table.md").read_text()
    rows = [x for x in md.splitlines() if x.startswith("| 784-100-10 | eRBP |")]
    assert len(rows) == 2  # the averaged run is not mixed with the other one
    assert sum("| **4.12** |" in x for x in rows) == 1
    assert "averaged weights: test error (%)" in md and "model-avg.erbp" in md


def test_a_run_reproduced_with_averaging_is_shown_once(pt, tmp_path):
    for sweep, avg in (("old", {}), ("new", {"average_last": 2.0})):
        trials = tmp_path / "sweeps" / sweep / "trials"
        _fake_run(trials, "784-100-10", "erbp", [0.06, 0.05], 2,
                  {"lr_halve_every": 2.0, **avg})
    res = _table_with_average(pt, tmp_path, tmp_path / "sweeps" / "new" / "trials" /
                              "784-100-10-erbp-s1")
    rows = json.loads((res / "paper_table.json").read_text())["rows"]
    assert len(rows) == 1 and rows[0]["avg"]["error_pct"] == 4.12
