#!/usr/bin/env python3
"""What ``erbp sweep`` costs on top of the training it schedules, and how it scales with CPUs.

    python benchmarks/bench_sweep.py                      # 6 trials, 1-epoch 784-100-10, MNIST
    python benchmarks/bench_sweep.py --trials 4 --epoch-size 10000   # shorter

A grid of ``--trials`` trials (784-100-10 eRBP, seeds 1..N, one epoch of ``--epoch-size``
balanced draws from the first 50,000 MNIST training images, scored on the last 10,000, the C
engine) runs twice on a local Ray instance: with 1 CPU (one trial at a time) and with 2 CPUs.

* **Scheduling overhead per trial** (1 CPU, trials one after the other): the time between two
  trials' results as the command sees them (its progress lines) minus the second trial's own
  training and evaluation time (``time_s`` of its run directory, what ``erbp train`` would
  spend): trial start on the reused worker, run-directory set-up, the checkpoint copy, Ray
  Tune's bookkeeping. Median over the trials after the first; also as a fraction of a trial's
  training and evaluation time. Goal: under 5 %.
* **Start-up per sweep**: from the start of the sweep (Ray already running) to the first
  trial's result, minus that trial's work: loading and splitting MNIST (also timed on its own),
  the Tuner, the first worker process and its imports. Paid once per command, like Ray's own
  start-up (reported too); the average overhead per trial with it spread over the trials is
  reported as well.
* **Throughput**: trials per minute with 1 and with 2 CPUs; goal: at least 1.8x with 2. Beside
  it, the trials in flight on average (the trials' summed work over the sweep's wall time): what
  the scheduler achieves whatever else the machine runs; on a loaded machine two trials in
  flight share the cores that are left, and the throughput shows it.

Ray's start-up (once per ``erbp sweep`` command) is reported separately. The machine's load
average is printed: on a shared machine the 2-CPU figure is only as good as the second core is
free. Figures go to stdout and, with ``--json``, to a file; the command is printed with them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from erbp.data.datasets import shared_copy_dir
from erbp.fileio import write_json
from erbp.provenance import command_line, machine, now
from erbp.training import RunDir
from erbp.sweep.spec import parse_spec


def spec_for(trials: int, epoch_size: int) -> object:
    return parse_spec({
        "name": "bench", "dataset": "mnist", "split": "validation", "epochs": 1,
        "epoch_size": epoch_size, "engine": "c", "seeds": list(range(1, trials + 1)),
        "params": {"topology": "784-100-10", "variant": "erbp"}})


def one(cpus: int, trials: int, epoch_size: int, data_dir: str | None) -> dict:
    import ray

    from erbp.sweep.runner import init_ray, run_sweep

    t0 = time.monotonic()
    init_ray(cpus=cpus)
    startup = time.monotonic() - t0
    from erbp.data import load_dataset
    from erbp.training.recipe import split_data

    t1 = time.monotonic()  # what the sweep does once before its trials (timed on its own)
    split_data(load_dataset("mnist", data_dir), "validation")
    once = time.monotonic() - t1
    seen: dict[str, float] = {}  # trial -> when the command printed its result

    def echo(line: str) -> None:
        if ": epoch 1/1" in line:
            seen[line.split(":")[0]] = time.monotonic()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        t1 = time.monotonic()
        res = run_sweep(spec_for(trials, epoch_size), out, data_dir=data_dir, echo=echo)
        wall = time.monotonic() - t1
        res.sort(key=lambda t: seen[t["trial"]])
        work = [RunDir(out / t["run"]).read_metrics()[-1]["time_s"] for t in res]
        errors = [t["curve"][-1] for t in res]
        done = [seen[t["trial"]] - t1 for t in res]
    gaps = [done[i] - done[i - 1] - work[i] for i in range(1, len(res))]
    ray.shutdown()
    assert all(t["status"] == "DONE" for t in res), res
    return {"cpus": cpus, "trials": trials, "ray_startup_s": round(startup, 2),
            "data_load_s": round(once, 2),
            "sweep_wall_s": round(wall, 2), "trial_work_s": [round(w, 2) for w in work],
            "result_at_s": [round(d, 2) for d in done],
            "first_trial_startup_s": round(done[0] - work[0], 2),
            "overhead_between_trials_s": [round(g, 3) for g in gaps],
            "mean_trial_work_s": round(sum(work) / len(work), 3),
            "trials_per_min": round(60 * trials / wall, 3),
            "in_flight": round(sum(work) / wall, 3),
            "val_error_pct": [round(100 * e, 2) for e in errors]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--epoch-size", type=int, default=50_000)
    ap.add_argument("--data-dir", default=None,
                    help="MNIST directory [default: $ERBP_DATA, else ../shared/data/mnist "
                         "beside the project if it is there, else erbp's default cache]")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    beside = shared_copy_dir(Path(__file__).resolve().parents[1])
    if a.data_dir is None and not os.environ.get("ERBP_DATA") and beside.is_dir():
        a.data_dir = str(beside)
    cmd = command_line(None if argv is None else ["benchmarks/bench_sweep.py", *argv])
    print(f"$ {cmd}", flush=True)
    load = os.getloadavg()
    runs = [one(c, a.trials, a.epoch_size, a.data_dir) for c in (1, 2)]
    r1, r2 = runs
    overhead = statistics.median(r1["overhead_between_trials_s"])
    frac = overhead / r1["mean_trial_work_s"]
    spread = (r1["sweep_wall_s"] - sum(r1["trial_work_s"])) / a.trials
    speedup = r2["trials_per_min"] / r1["trials_per_min"]
    res = {"benchmark": "bench_sweep", "command": cmd, "time": now(), "machine": machine(),
           "load_before": [round(x, 2) for x in load],
           "load_after": [round(x, 2) for x in os.getloadavg()],
           "epoch_size": a.epoch_size, "runs": runs,
           "overhead_per_trial_s": round(overhead, 3), "overhead_fraction": round(frac, 4),
           "overhead_with_startup_spread_s": round(spread, 3),
           "speedup_2_vs_1": round(speedup, 3),
           "in_flight_2_vs_1": round(r2["in_flight"] / r1["in_flight"], 3),
           "goals": {"overhead_under_5pct": frac < 0.05, "speedup_at_least_1.8": speedup >= 1.8}}
    print(f"{a.trials} trials of 784-100-10 eRBP, 1 epoch of {a.epoch_size} samples + "
          f"validation on 10,000 images, C engine; load average before {load[0]:.2f}")
    for r in runs:
        print(f"  {r['cpus']} CPU: Ray start-up {r['ray_startup_s']:.1f} s, sweep "
              f"{r['sweep_wall_s']:.1f} s, trial work {r['mean_trial_work_s']:.2f} s each, "
              f"{r['trials_per_min']:.2f} trials/min, {r['in_flight']:.2f} trials in flight")
    print(f"  scheduling overhead per trial: {overhead:.3f} s = {100 * frac:.2f} % of a trial "
          f"(goal < 5 %: {'met' if frac < 0.05 else 'not met'}); start-up per sweep "
          f"{r1['first_trial_startup_s']:.1f} s (data {r1['data_load_s']:.1f} s); spread over "
          f"{a.trials} trials: {spread:.2f} s = {100 * spread / r1['mean_trial_work_s']:.1f} % "
          f"per trial")
    print(f"  throughput 2 vs 1 CPU: {speedup:.2f}x (goal >= 1.8x: "
          f"{'met' if speedup >= 1.8 else 'not met'}); trials in flight 2 vs 1 CPU: "
          f"{r2['in_flight'] / r1['in_flight']:.2f}x")
    print(f"  load average after {res['load_after'][0]:.2f}")
    if a.json:
        write_json(a.json, res)
    return res


if __name__ == "__main__":
    main()
