#!/usr/bin/env python3
"""A tuning pass for one topology and variant: several candidate configurations trained side by
side on a short budget, scored on a validation split (never on the test set).

    python benchmarks/tune.py --topology 784-100-10 --variant erbp --epochs 1 --jobs 2 \\
        --cand "default" --cand "lr_half lr_shift=12" --cand "gate_wide gate_lo=-2048,-20000"

A candidate is ``"NAME key=value key=value ..."``: configuration overrides as ``erbp train --set``
takes them (per-layer fields as comma lists), plus two host-side schedule keys that are not
configuration fields: ``halve=E`` (the learning rate of every layer halves, ``lr_shift += 1``,
every E epochs; E may be fractional) and ``halve_start=E0`` (the first halving at epoch E0 + E,
default E0 = 0); and ``bits=W/S``, which represents the configuration (after the overrides,
read as the 8-bit-weight, 16-bit-state network) at W-bit weights and S-bit states with
``erbp.training.precision.rescale``; ``engine=float``, which trains the float twin
(``erbp.research.float_erbp.FloatNetwork``: no rounding, no saturation; numpy, about 300 times
slower than the C engine) instead of the C engine, and ``engine=float_sat`` the float twin with
the integer weight range kept (``SaturatingFloatNetwork``: no rounding); and ``rule=R``, a candidate defaults rule of
``benchmarks/rules.py``
(overrides computed from the topology and variant, applied before the candidate's own overrides,
so one candidate string means the same rule on every topology).

Inference-time settings: each ``--infer "NAME key=value ..."`` also scores the candidate at every
scoring point with its trained weights under a configuration changed for inference only (for
example a peRBP network scored without blank-out and with a higher threshold,
``--infer "p256t1400 p_transmit=256 threshold=1400"``); the curve records each as
``infer[NAME]``, and the report adds the mean of its last three scorings. A value ``xF`` scales
the trained value (``threshold=x1.37``).

Data: the network trains on class-balanced epochs of ``--epoch-size`` draws (the paper's
protocol, ``erbp.training.SampleOrder``) from the first 50,000 MNIST training images only, and is
scored on the last 10,000 training images (``--val-samples`` of them), so tuning never looks at
the test set. ``--no-val`` trains on all 60,000 and scores on the first ``--val-samples`` test
images instead (for comparisons with figures measured that way).

Every ``--eval-every`` samples the candidate is scored; the curve, the configuration, the
inference statistics (mean output spikes per sample, samples with no output spike) and the
command line go to ``OUT/tune/<topology>-<variant>[-<tag>]/<name>.json``; a rerun skips finished
candidates with the same settings; the final network goes to ``<name>.erbp`` beside it. After
every scoring the network and the curve so far are checkpointed (``<name>.ckpt.erbp``, for a
float twin its float weights ``<name>.ckpt.npz``; ``<name>.part.json``), and a rerun of the same command resumes an unfinished candidate there
(bit-identical: the sample order and the schedule are functions of the position);
``--extend`` continues finished candidates to a larger ``--epochs`` the same way (the shorter
record is kept as ``<name>.e<E>.json``). The script
prints a table sorted by the mean error of the last three scorings.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from erbp.training.configure import apply_overrides, make_config, parse_overrides
from erbp.data.datasets import Dataset, load_dataset
from erbp.engines import make_engine, to_network
from erbp.fileio import read_json, write_json
from erbp.provenance import command_line, machine, now
from erbp.research.float_erbp import FloatNetwork, SaturatingFloatNetwork
from erbp.reference import INFER, Network, modelfile
from erbp.training.precision import rescale
from erbp.training import train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rules import rule_overrides  # noqa: E402  (benchmarks/rules.py, beside this script)

HERE = Path(__file__).resolve().parent
SCHEDULE_KEYS = ("halve", "halve_start", "bits", "rule", "engine")
#: the float twins ``engine=`` selects (the C engine otherwise)
FLOAT_ENGINES = {"float": FloatNetwork, "float_sat": SaturatingFloatNetwork}
N_FIT = 50_000  # training images used for fitting when validating; the rest validate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--variant", default="erbp", choices=("erbp", "perbp"))
    ap.add_argument("--cand", action="append", default=[], metavar='"NAME key=value ..."',
                    help="a candidate (repeatable); 'default' alone is the default config")
    ap.add_argument("--infer", action="append", default=[], metavar='"NAME key=value ..."',
                    help="also score with this inference-time configuration change (repeatable)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--epoch-size", type=int, default=50_000)
    ap.add_argument("--eval-every", type=int, default=None,
                    help="samples between scorings [default: one epoch]")
    ap.add_argument("--val-samples", type=int, default=10_000)
    ap.add_argument("--val", action=argparse.BooleanOptionalAction, default=True,
                    help="score on the last 10,000 training images (default) or the test set")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="candidates trained in parallel")
    ap.add_argument("--tag", default="", help="a suffix for the result directory")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--extend", action="store_true",
                    help="continue finished candidates of fewer --epochs (same other settings) "
                         "from their saved network to the new --epochs")
    ap.add_argument("--report", action="store_true",
                    help="print every cached candidate of the result directory as a markdown "
                         "table and exit (no training)")
    return ap.parse_args(argv)


def report(where: Path) -> str:
    """The cached candidates of one result directory as a markdown table."""
    done = [f for f in where.glob("*.json") if not f.name.endswith(".part.json")]
    rows = sorted((read_json(f) for f in done),
                  key=lambda r: sum(c["error_pct"] for c in r["curve"][-3:]))
    if not rows:
        return f"(no results in {where})"
    st = rows[0]["settings"]
    inf = sorted({k for r in rows for c in r["curve"][-1:] for k in c.get("infer", {})})
    lines = [f"`{where.name}`: {st['epochs']:g} epochs of {st['epoch_size']}, seed {st['seed']}, "
             f"{'validation (last 10,000 training images)' if st['val'] else 'test'} error (%) "
             f"on {st['val_samples']} images after each epoch.", "",
             "| candidate | mean of last 3 | last | "
             + "".join(f"infer `{k}` last 3 | " for k in inf) + "per epoch |",
             "|---|---:|---:|" + "---:|" * len(inf) + "---|"]
    for r in rows:
        last3 = sum(c["error_pct"] for c in r["curve"][-3:]) / len(r["curve"][-3:])
        cells = []
        for k in inf:
            v = [c["infer"][k] for c in r["curve"][-3:] if k in c.get("infer", {})]
            cells.append(f"{sum(v) / len(v):.2f}" if v else "")
        lines.append(f"| `{r['cand']}` | {last3:.2f} | "
                     f"{r['final_error_pct']:.2f} | " + "".join(f"{c} | " for c in cells)
                     + " ".join(f"{c['error_pct']:.2f}" for c in r["curve"]) + " |")
    return "\n".join(lines)


def split(data: Dataset, val: bool) -> Dataset:
    """Fit on the first 50,000 training images and score on the last 10,000 (``val``), or the
    data set as it is."""
    if not val:
        return data
    return dataclasses.replace(data, train_x=data.train_x[:N_FIT], train_y=data.train_y[:N_FIT],
                               test_x=data.train_x[N_FIT:], test_y=data.train_y[N_FIT:])


def parse_cand(text: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    name, *items = text.split()
    sched: dict[str, Any] = {}
    sets = []
    for it in items:
        k, _, v = it.partition("=")
        if k == "engine" and v not in ("c", *FLOAT_ENGINES):
            sys.exit(f"Error: engine={v} in candidate {name!r}: use c, "
                     + ", ".join(FLOAT_ENGINES))
        if k in ("bits", "rule", "engine"):
            sched[k] = v
        elif k in SCHEDULE_KEYS:
            sched[k] = float(v)
        else:
            sets.append(it)
    return name, parse_overrides(sets), sched


def score(eng: Any, data: Dataset, n: int, batch_size: int) -> dict[str, Any]:
    """Inference on the first n scoring images: error, mean output spikes, silent samples."""
    n = min(n, len(data.test_y))
    preds, counts = [], []
    for a in range(0, n, batch_size):
        b = min(n, a + batch_size)
        if hasattr(eng, "run_samples"):
            r = eng.run_samples(data.test_x[a:b], None, INFER, a)
            preds.append(np.asarray(r.predictions))
            counts.append(np.asarray(r.counts))
        else:  # the float twin: one sample at a time
            rs = [eng.run_sample(data.test_x[i], -1, INFER, sample=i) for i in range(a, b)]
            preds.append(np.array([x.prediction for x in rs]))
            counts.append(np.array([x.counts for x in rs]))
    p = np.concatenate(preds)
    c = np.concatenate(counts)
    return {"error_pct": round(100 * float((p != data.test_y[:n]).mean()), 3), "n": n,
            "out_spikes": round(float(c.sum(1).mean()), 2),
            "silent_pct": round(100 * float((c.sum(1) == 0).mean()), 2)}


def parse_infer(text: str) -> tuple[str, dict[str, str]]:
    """``"NAME key=value ..."`` to (NAME, overrides as text)."""
    name, *items = text.split()
    return name, parse_overrides(items)


def scaled(cfg: Any, changes: dict[str, str]) -> dict[str, Any]:
    """Overrides with ``xF`` values replaced by F times the configuration's value (rounded)."""
    out: dict[str, Any] = {}
    for k, v in changes.items():
        if v.startswith("x"):
            cur = getattr(cfg, k)
            f = float(v[1:])
            out[k] = (tuple(round(c * f) for c in cur) if isinstance(cur, tuple)
                      else round(cur * f))
        else:
            out[k] = v
    return out


def lr_shift_at(base: tuple[int, ...], sched: dict[str, float], epoch: float) -> tuple[int, ...]:
    """The learning-rate shifts in force at ``epoch`` under a halving schedule."""
    if "halve" not in sched:
        return base
    k = max(0, int((epoch - sched.get("halve_start", 0.0)) // sched["halve"]))
    return tuple(min(30, s + k) for s in base)


def run_cand(job: dict[str, Any]) -> dict[str, Any]:
    a = job["args"]
    name, overrides, sched = parse_cand(job["cand"])
    data = split(load_dataset("mnist", a.data_dir), a.val)
    if "rule" in sched:
        overrides = {**rule_overrides(sched["rule"], a.topology, a.variant), **overrides}
    cfg = make_config(a.topology, a.variant, overrides, n_in=data.n_in,
                      n_classes=data.n_classes)
    if "bits" in sched:
        wb, sb = (int(x) for x in sched["bits"].split("/"))
        cfg = rescale(cfg, wb, sb)[0]
    base_shift = cfg.lr_shift
    infers = [parse_infer(t) for t in a.infer]
    where = Path(job["where"])
    where.mkdir(parents=True, exist_ok=True)
    ckpt, part = where / f"{name}.ckpt.erbp", where / f"{name}.part.json"
    curve: list[dict[str, Any]] = []
    events = 0
    t_train = 0.0
    t0 = time.monotonic()
    eng: Any = None
    use_float = sched.get("engine") in FLOAT_ENGINES
    if use_float:  # a float twin checkpoints its float weights (FloatNetwork.save)
        ckpt = where / f"{name}.ckpt.npz"
    if ckpt.exists() and part.exists():
        p = read_json(part)
        if p["cand"] == job["cand"] and p["settings"] == job["settings"]:
            eng = (FLOAT_ENGINES[sched["engine"]].load(ckpt, cfg) if use_float
                   else make_engine("c", modelfile.load(ckpt)))
            curve, events, t_train = p["curve"], p["events"], p["train_s"]
            print(f"  [{name}] resumed at {eng.samples_seen}", flush=True)
    if use_float and eng is None:
        eng = FLOAT_ENGINES[sched["engine"]].create(cfg, a.seed)
    elif eng is None:
        eng = make_engine("c", Network.create(cfg, a.seed))
    every = a.eval_every or a.epoch_size
    total = round(a.epochs * a.epoch_size)
    while eng.samples_seen < total:
        pos = eng.samples_seen
        epoch = pos / a.epoch_size
        shifts = lr_shift_at(base_shift, sched, epoch)
        if shifts != eng.cfg.lr_shift and use_float:
            eng.cfg = eng.cfg.replace(lr_shift=shifts)
        elif shifts != eng.cfg.lr_shift:  # a schedule step: same weights, new learning rate
            net = to_network(eng)
            eng = make_engine("c", Network(cfg=net.cfg.replace(lr_shift=shifts), seed=net.seed,
                                           W=net.W, G=net.G, samples_seen=net.samples_seen))
        # train to the next scoring point or schedule step, whichever comes first
        nxt = min(total, (pos // every + 1) * every)
        if "halve" in sched:
            e0, h = sched.get("halve_start", 0.0), sched["halve"]
            k = max(0, int((epoch - e0) // h)) + 1
            nxt = min(nxt, max(pos + 1, round((e0 + k * h) * a.epoch_size)))
        t1 = time.monotonic()
        res = train(eng, data, nxt - pos, engine=None, protocol="balanced",
                    epoch_size=a.epoch_size, order_seed=a.seed, test_samples=0,
                    batch_size=a.batch_size)
        t_train += time.monotonic() - t1
        events += res.state.events
        if eng.samples_seen % every == 0 or eng.samples_seen == total:
            s = score(eng, data, a.val_samples, a.batch_size)
            s.update(samples=eng.samples_seen, lr_shift=list(eng.cfg.lr_shift))
            if infers:
                net = to_network(eng)
                s["infer"] = {}
                for iname, ichanges in infers:
                    icfg = apply_overrides(net.cfg, scaled(net.cfg, ichanges))
                    ieng = make_engine("c", Network(cfg=icfg, seed=net.seed, W=net.W, G=net.G,
                                                    samples_seen=net.samples_seen))
                    s["infer"][iname] = score(ieng, data, a.val_samples, a.batch_size)["error_pct"]
            curve.append(s)
            print(f"  [{name}] {eng.samples_seen:>7}: {s['error_pct']:.2f} % "
                  f"(out spikes {s['out_spikes']}, silent {s['silent_pct']} %)"
                  + "".join(f" {k} {v:.2f}" for k, v in s.get("infer", {}).items()), flush=True)
            if use_float:
                eng.save(ckpt)
            else:
                modelfile.save(to_network(eng), ckpt)
            write_json(part, {"cand": job["cand"], "settings": job["settings"], "curve": curve,
                              "events": events, "train_s": round(t_train, 1)})
    modelfile.save(to_network(eng), where / f"{name}.erbp")
    if use_float:  # the float weights too, for --extend
        eng.save(where / f"{name}.npz")
    ckpt.unlink(missing_ok=True)
    part.unlink(missing_ok=True)
    last = [c["error_pct"] for c in curve[-3:]]
    return {"name": name, "cand": job["cand"], "last3_error_pct": round(sum(last) / len(last), 3),
            "overrides": {k: cfg.as_dict()[k] for k in overrides},
            "schedule": sched, "curve": curve, "final_error_pct": curve[-1]["error_pct"],
            "best_error_pct": min(c["error_pct"] for c in curve),
            "train_s": round(t_train, 1), "total_s": round(time.monotonic() - t0, 1),
            "events_per_sample": round(events / max(1, total)),
            "settings": job["settings"], "net_config": cfg.as_dict(), "command": job["cmd"],
            "time": now(), "machine": machine()}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    a = parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/tune.py", *argv])
    print(f"$ {cmd}")
    cands = a.cand or ["default"]
    for c in cands:  # refuse a malformed candidate here, not inside a worker
        if parse_cand(c)[2].get("engine") in FLOAT_ENGINES and a.infer:
            sys.exit(f"Error: --infer is not supported with a float twin ({c.split()[0]!r})")
    where = a.out / "tune" / (f"{a.topology}-{a.variant}" + (f"-{a.tag}" if a.tag else ""))
    if a.report:
        print(report(where))
        return []
    settings = {"epochs": a.epochs, "epoch_size": a.epoch_size, "eval_every": a.eval_every,
                "val": a.val, "val_samples": a.val_samples, "seed": a.seed}
    if a.infer:
        settings["infer"] = a.infer
    results, todo = [], []
    for c in cands:
        name = c.split()[0]
        f = where / f"{name}.json"
        if f.exists():
            r = read_json(f)
            if r["settings"] == settings and r["cand"] == c:
                print(f"  [{name}] cached: {r['final_error_pct']:.2f} %")
                results.append(r)
                continue
            if a.extend and r["cand"] == c and r["settings"]["epochs"] < a.epochs and \
                    {**r["settings"], "epochs": a.epochs} == settings:
                # resume from the finished network: its curve so far becomes the checkpoint
                if parse_cand(c)[2].get("engine") in FLOAT_ENGINES:
                    if not (where / f"{name}.npz").exists():
                        sys.exit(f"Error: {where / name}.npz (the float weights) is missing: "
                                 "--extend needs a float twin finished by this version")
                    shutil.copyfile(where / f"{name}.npz", where / f"{name}.ckpt.npz")
                else:
                    shutil.copyfile(where / f"{name}.erbp", where / f"{name}.ckpt.erbp")
                write_json(where / f"{name}.part.json",
                           {"cand": c, "settings": settings, "curve": r["curve"],
                            "events": r["events_per_sample"] * round(
                                r["settings"]["epochs"] * r["settings"]["epoch_size"]),
                            "train_s": r["train_s"]})
                f.rename(where / f"{name}.e{r['settings']['epochs']:g}.json")
                todo.append({"args": a, "cand": c, "settings": settings, "cmd": cmd,
                             "where": str(where)})
                continue
            sys.exit(f"{f} holds another candidate or other settings: rename the candidate")
        todo.append({"args": a, "cand": c, "settings": settings, "cmd": cmd,
                     "where": str(where)})
    if todo:
        with mp.get_context("fork").Pool(max(1, min(a.jobs, len(todo)))) as pool:
            for r in pool.imap_unordered(run_cand, todo):
                write_json(where / f"{r['name']}.json", r, parents=True)
                results.append(r)
    results.sort(key=lambda r: r.get("last3_error_pct", r["final_error_pct"]))
    print()
    print(f"{a.topology} {a.variant}, {a.epochs} epochs of {a.epoch_size}, "
          f"{'validation' if a.val else 'test'} error (%) on {a.val_samples}:")
    for r in results:
        curve = " ".join(f"{c['error_pct']:.2f}" for c in r["curve"])
        print(f"  {r['name']:<24} last3 {r.get('last3_error_pct', float('nan')):6.2f}  "
              f"final {r['final_error_pct']:6.2f}  best "
              f"{r['best_error_pct']:6.2f}  out {r['curve'][-1]['out_spikes']:6.1f}  "
              f"{r['train_s']:7.1f} s  [{curve}]  {r['cand']}")
    return results


if __name__ == "__main__":
    main()
