"""erbp sweep on Ray Tune: the spec, a grid of 4 trials on the 8x8 digits (one row per trial, each
trial an ordinary run directory), a kill and resume giving the same results, a refused trial that
fails alone, Optuna's TPE on a toy objective, the missing-extra message, the report and the plots.

The tests share one local Ray instance with 2 CPUs (module fixture); the kill test runs the sweep
as a subprocess with its own Ray. Ray Tune and Optuna come with `make setup` (the sweep extra).
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.reference import modelfile
from erbp.sweep import MISSING_EXTRA, SweepError, load_spec, parse_spec
from erbp.training.recipe import default_lr_schedule

ROOT = Path(__file__).resolve().parents[1]
ERBP = [sys.executable, "-c", "from erbp.cli import main; main()"]

# 4 trials (2 variants x 2 seeds) of 6 epochs of 2,000 balanced draws from the digits' fitting
# images, scored on its validation images; the default schedule halves at epochs 2 and 4
GRID = """
dataset = "digits"
epochs = 6
epoch_size = 2000
engine = "c"
seeds = [1, 2]
[space]
variant = ["erbp", "perbp"]
"""


def erbp(*args, code: int = 0):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == code, r.output
    return r


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray (2 CPUs) for the in-process sweeps of this module."""
    try:
        import optuna  # noqa: F401
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        pytest.fail("Ray Tune and Optuna are not installed: run `make setup` "
                    "(pip install 'erbp[sweep]')")
    from erbp.sweep.runner import init_ray

    started = init_ray(cpus=2)
    yield
    if started:
        ray.shutdown()


def sweep(spec_text: str, where: Path, **kw):
    """Run a sweep in this process (on the module's Ray) and write its report."""
    from erbp.sweep.report import write_report
    from erbp.sweep.runner import run_sweep

    where.mkdir(parents=True, exist_ok=True)
    spec_path = where / "spec.toml"
    spec_path.write_text(spec_text)
    out = where / "sweep"
    trials = run_sweep(load_spec(spec_path), out, echo=lambda s: None, **kw)
    write_report(out, echo=lambda s: None)
    return out, trials


@pytest.fixture(scope="module")
def grid(ray_session, tmp_path_factory):
    return sweep(GRID, tmp_path_factory.mktemp("grid"))


# --- the spec (no Ray) ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("epochs = 2\nepoch = 3", "unknown key epoch (did you mean epochs?)"),
    ("[space]\nlr_shfit = [1, 2]", "unknown parameter 'lr_shfit' (did you mean lr_shift?)"),
    ("[space]\nlr_shift = { choice = [12, 13] }", "a grid sweep takes lists"),
    ("[search]\nmethod = \"tpe\"\ntrials = 3\n[space]\nlr_shift = [12, 13]", "choice"),
    ("seeds = [1, 2]\n[search]\nmethod = \"tpe\"\ntrials = 3", "one seed"),
    ("[search]\nmethod = \"tpe\"", "search.trials is required"),
    ("[search]\nmethod = \"tpe\"\ntrials = 2\n[space]\nlr_mult = { log_int = [0, 8] }",
     "low > 0"),
    ("[params]\nvariant = \"xrbp\"", "variant: 'xrbp' is not one of"),
    ("[params]\nlr_shift = 12\n[space]\nlr_shift = [12, 13]", "in both [params] and [space]"),
    ("split = \"train\"", "split: 'train' is not one of test, validation"),
])
def test_spec_mistakes_are_one_line(text, message):
    from erbp.sweep.spec import tomllib

    with pytest.raises(SweepError) as e:
        parse_spec(tomllib.loads(text))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_grid_bits_is_a_run_parameter():
    from erbp.sweep.spec import tomllib, trial_params

    s = parse_spec(tomllib.loads("[params]\ngrid_bits = 9\n[space]\nvariant = [\"erbp\"]"))
    assert trial_params(s, {"seed": 1})["grid_bits"] == 9


def test_spec_values_and_trial_count(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GRID + "[params]\nlr_shift = [12, 13]\n")
    s = load_spec(p)
    assert s.name == "s" and s.n_trials == 4 and s.swept == ["variant", "seed"]
    assert s.params == {"lr_shift": "12,13"} and s.split == "validation"
    p.write_text("bad = [")
    line = erbp("sweep", p, code=1).output.strip()
    assert line.startswith(f"Error: {p}: not valid TOML") and "\n" not in line


def test_missing_extra_is_one_line(tmp_path, monkeypatch):
    spec = tmp_path / "s.toml"
    spec.write_text(GRID)
    for mod in ("ray", "ray.tune", "optuna"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    r = erbp("sweep", spec, "--out", tmp_path / "out", code=1)
    assert r.output == f"Error: {MISSING_EXTRA}\n"
    assert MISSING_EXTRA == "erbp sweep needs Ray Tune and Optuna: pip install 'erbp[sweep]'"
    assert not (tmp_path / "out").exists()


# --- a grid sweep ---------------------------------------------------------------------------------
def test_grid_sweep_reports_one_row_per_trial(grid):
    out, trials = grid
    assert len(trials) == 4 and {t["status"] for t in trials} == {"DONE"}
    r = rows(out)
    assert len(r) == 4
    assert sorted((x["variant"], x["seed"]) for x in r) == [
        ("erbp", "1"), ("erbp", "2"), ("perbp", "1"), ("perbp", "2")]
    for x in r:
        assert x["status"] == "DONE" and x["epochs"] == "6"
        curve = [float(x[f"epoch_{e}"]) for e in range(1, 7)]
        assert float(x["final"]) == curve[-1] and float(x["best"]) == min(curve)
        assert 0 < min(curve) < 50  # it learned (chance is 90 %)
    finals = [float(x["final"]) for x in r]
    assert finals == sorted(finals)  # best first
    md = (out / "results.md").read_text()
    assert sum(line.startswith("| `t000") for line in md.splitlines()) == 4


def test_a_trial_is_an_ordinary_run_directory(grid, tmp_path):
    out, trials = grid
    t = next(t for t in trials if t["params"] == {"variant": "perbp", "seed": 2})
    run = out / t["run"]
    conf = json.loads((run / "config.json").read_text())
    assert conf["sweep"]["params"]["variant"] == "perbp" and conf["seed"] == 2
    assert conf["options"]["split"] == "validation"
    assert conf["options"]["lr_halve_every"] == default_lr_schedule(6).every  # erbp train's default
    # the same training through erbp train gives the same model, bit for bit
    erbp("train", "--dataset", "digits", "--variant", "perbp", "--seed", 2, "--split",
         "validation", "--epoch-size", 2000, "--epochs", 6, "--engine", "c", "--test-samples",
         0, "--no-progress", "--out", tmp_path / "same")
    assert (tmp_path / "same" / "model.erbp").read_bytes() == (run / "model.erbp").read_bytes()
    # and the same averaged weights (the default window: the schedule's last period)
    assert conf["options"]["average_last"] == default_lr_schedule(6).every
    assert (tmp_path / "same" / "model-avg.erbp").read_bytes() == \
           (run / "model-avg.erbp").read_bytes()
    assert "test error:" in erbp("eval", run, "--engine", "c").output
    assert "is complete" in erbp("train", "--resume", run, code=1).output
    for name in ("curves", "metric_vs_variant", "metric_vs_seed"):
        assert name in erbp("plot", "sweep", out).output
        assert (out / "plots" / f"{name}.png").stat().st_size > 5000


def test_report_with_test_error_and_refusals(grid, tmp_path):
    out, _ = grid
    erbp("sweep", tmp_path / "other.toml", "--out", out, code=1)  # no such spec: one line
    spec = tmp_path / "grid.toml"
    spec.write_text(GRID)
    line = erbp("sweep", spec, "--out", out, code=1).output
    assert "already holds a sweep: continue it with --resume" in line
    spec.write_text(GRID.replace("epochs = 6", "epochs = 7"))
    assert "was started from another spec" in erbp("sweep", spec, "--out", out, "--resume",
                                                   code=1).output
    # --report reads the directory only; the spec may ask for the test error of the best
    meta = json.loads((out / "sweep.json").read_text())
    meta["spec"]["report_test"] = "best"
    (out / "sweep.json").write_text(json.dumps(meta))
    erbp("sweep", spec, "--out", out, "--report")
    r = rows(out)
    assert r[0]["test_error"] and not any(x["test_error"] for x in r[1:])
    net = modelfile.load(out / r[0]["run"] / "model.erbp")
    from erbp.data import load_digits
    from erbp.engines import make_engine
    from erbp.training import evaluate

    assert float(r[0]["test_error"]) == pytest.approx(
        100 * evaluate(make_engine("c", net), load_digits()).error, abs=0.006)


# --- kill and resume ------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "crash"])
def test_killed_sweep_resumes_to_the_same_results(grid, tmp_path, sig):
    ref, _ = grid
    spec = tmp_path / "grid.toml"
    spec.write_text(GRID)
    out = tmp_path / "sweep"
    cmd = [*ERBP, "sweep", str(spec), "--out", str(out), "--cpus", "2"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = open(tmp_path / "killed.log", "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)  # its own process group: Ray dies with it
    state = out / "ray" / "sweep"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if any("checkpoint_0000" in f.read_text() for f in
                   state.glob("experiment_state-*.json")):
                break  # Ray has recorded a trial's epoch checkpoint
            time.sleep(0.05)
        if sig == signal.SIGINT:  # Ctrl-C: the command stops Ray Tune and says how to resume
            os.kill(p.pid, signal.SIGINT)
            p.wait(timeout=120)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # a crash; after Ctrl-C, whatever is left of Ray
        except ProcessLookupError:
            pass
        p.wait()
        log.close()
    text = (tmp_path / "killed.log").read_text()
    if sig == signal.SIGINT:
        assert p.returncode == 1, text
        assert text.splitlines()[-1].startswith("Error: interrupted with ")
        assert text.splitlines()[-1].endswith(f"continue with: erbp sweep {spec} --out {out} "
                                              f"--resume")
    else:
        assert p.returncode == -signal.SIGKILL, text
    done = json.loads((out / "trials.json").read_text())["trials"]
    assert sum(t["status"] == "DONE" for t in done) < 4  # killed mid-way
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    got, want = rows(out), rows(ref)
    keep = ("trial", "status", "variant", "seed", "epochs", "final", "best", "best_epoch",
            *(f"epoch_{e}" for e in range(1, 7)))
    assert [{k: x[k] for k in keep} for x in got] == [{k: x[k] for k in keep} for x in want]
    for x in got:
        for f in ("model.erbp", "model-avg.erbp"):
            assert (out / x["run"] / f).read_bytes() == (ref / x["run"] / f).read_bytes()
    restored = [json.loads((out / x["run"] / "config.json").read_text())["resumed"]
                for x in got]
    assert any(e and e[0]["samples_seen"] > 0 for e in restored)  # continued from a checkpoint


# --- failures -------------------------------------------------------------------------------------
def test_a_refused_trial_fails_alone_with_its_message(ray_session, tmp_path):
    text = ('dataset = "digits"\nepochs = 1\nepoch_size = 300\nengine = "c"\n'
            '[params]\ngate_hi = 2048\n[space]\ngate_lo = [-1024, 5000]\n')
    out, trials = sweep(text, tmp_path)
    by = {t["params"]["gate_lo"]: t for t in trials}
    assert by[-1024]["status"] == "DONE" and by[-1024]["epochs"] == 1
    assert by[5000]["status"] == "FAILED"
    assert by[5000]["message"] == "layer 0: gate_lo must be < gate_hi"
    r = {x["gate_lo"]: x for x in rows(out)}
    assert r["5000"]["status"] == "FAILED" and r["5000"]["message"] == by[5000]["message"]
    assert "layer 0: gate_lo must be < gate_hi" in (out / "results.md").read_text()
    # every trial refused: the command fails (exit 1), after writing the report
    spec = tmp_path / "all_bad.toml"
    spec.write_text(text.replace("[-1024, 5000]", "[4096, 5000]"))
    res = erbp("sweep", spec, "--out", tmp_path / "all_bad", code=1)
    assert res.output.splitlines()[-1] == ("Error: every trial failed (2); first: layer 0: "
                                           "gate_lo must be < gate_hi")
    assert len(rows(tmp_path / "all_bad")) == 2


# --- a search -------------------------------------------------------------------------------------
def test_tpe_finds_the_better_region_of_a_toy_objective(ray_session, tmp_path):
    # toy:quadratic = (x - 0.5)^2 + (y - 0.5)^2 + 1/epoch over x, y in [-10, 10]. TPE's first 10
    # trials are random draws (Optuna's start-up); the next 10 are guided by them and must land
    # far closer to the optimum (a uniform draw: median squared distance about 60; within 1 of
    # the optimum with probability pi/400 = 0.8 %). Seeded and one trial at a time: deterministic.
    text = ('objective = "toy:quadratic"\nepochs = 2\n[space]\nx = { float = [-10.0, 10.0] }\n'
            'y = { float = [-10.0, 10.0] }\n[search]\nmethod = "tpe"\ntrials = 20\nseed = 4\n'
            'max_concurrent = 1\n')
    out, trials = sweep(text, tmp_path)
    assert len(trials) == 20 and all(t["status"] == "DONE" for t in trials)
    trials.sort(key=lambda t: t["order"])
    for t in trials:
        p = t["params"]
        assert t["curve"] == pytest.approx([(p["x"] - .5) ** 2 + (p["y"] - .5) ** 2 + 1 / e
                                            for e in (1, 2)])
    d2 = [t["curve"][-1] - 0.5 for t in trials]
    random_part, guided = sorted(d2[:10]), sorted(d2[10:])
    assert guided[4] * 2 < random_part[4]  # medians (lower)
    assert guided[0] < 1.0
    assert len(rows(out)) == 20


def test_grid_values_may_be_tables_and_the_benchmark_specs_load():
    from erbp.sweep.spec import tomllib, trial_params

    s = parse_spec(tomllib.loads(
        '[params]\nvariant = "perbp"\n[[space.row]]\ntopology = "784-500-10"\n'
        'lr_shift = [13, 15]\n[[space.row]]\ntopology = "784-100-10"\nlr_halve_every = 2\n'))
    assert s.n_trials == 2 and s.swept == ["row"]
    p = trial_params(s, {"row": s.space[0].values[0], "seed": 1})
    assert p["topology"] == "784-500-10" and p["lr_shift"] == "13,15" and p["variant"] == "perbp"
    assert trial_params(s, {"row": s.space[0].values[1], "seed": 1})["lr_halve_every"] == 2
    with pytest.raises(SweepError, match="unknown parameter 'lr_shfit'"):
        parse_spec(tomllib.loads('[[space.row]]\nlr_shfit = 3\n'))
    specs = {p.stem: load_spec(p) for p in (ROOT / "benchmarks" / "sweeps").glob("*.toml")}
    assert specs["paper_table"].n_trials == 20 and specs["paper_table"].split == "test"
    assert specs["lr_search"].method == "tpe" and specs["lr_search"].split == "validation"
    assert specs["paper_table_tuned"].n_trials == 3
