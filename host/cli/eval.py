"""``erbp eval``: the test error of a model file (logic in erbp.training.evaluate)."""
from __future__ import annotations

import time
from pathlib import Path

import click

from ._common import (DATASET_HELP, DatasetName, data_dir_option, engine_option, model_dataset,
                      model_path, progress_option, say, show_progress, write_csv, write_json)
from ..data.datasets import DatasetError, load_dataset
from ..engines import make_engine, resolve_engine
from ..reference import modelfile
from ..training.configure import INFERENCE_FIELDS, inference_overrides, parse_overrides
from ..training.loop import evaluate as run_evaluation


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--dataset", type=DatasetName(),
              help=DATASET_HELP + " [default: the model's run config, else by its input count]")
@data_dir_option
@engine_option
@click.option("--test-samples", type=click.IntRange(min=1),
              help="Evaluate the first N test samples (from --start) [default: all].")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True,
              help="First test-set position.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the result as JSON to this file ('-': stdout, which then holds "
                   "only the JSON; the summary goes to stderr).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one row per test sample (position, label, prediction, events, ticks "
                   "run) as CSV to this file ('-': stdout only).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Evaluate with another value of an inference field ("
              + ", ".join(INFERENCE_FIELDS) + "), e.g. --set exit_margin=0 --set readout=0; "
              "the model file is not changed.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
@progress_option
def evaluate(model: Path, dataset: str | None, data_dir: Path | None, engine: str,
             test_samples: int | None, start: int, json_out: Path | None, csv_out: Path | None,
             sets: tuple[str, ...], batch_size: int, progress: bool | None) -> None:
    """Evaluate MODEL (a model file or a run directory) on the test set: test error, and the
    cost of each sample (synaptic events and ticks run: mean, p50, p95)."""
    path = model_path(model)
    net = modelfile.load(path)
    if sets:
        net.cfg = inference_overrides(net.cfg, parse_overrides(sets))
        net.reset_state()
    name = dataset or model_dataset(path, net.cfg.n_in)
    data = load_dataset(name, data_dir)
    if data.n_in != net.cfg.n_in:
        raise DatasetError(f"the model has {net.cfg.n_in} inputs, {name} has {data.n_in}")
    if start >= len(data.test_y):
        raise click.BadParameter(f"the test set has {len(data.test_y)} samples",
                                 param_hint="--start")
    engine = resolve_engine(engine)
    eng = make_engine(engine, net)
    if str(json_out) == "-" and str(csv_out) == "-":
        raise click.UsageError("--json - and --csv - both want stdout: give one a file")
    rows: list[list[int]] | None = [] if csv_out is not None else None
    t0 = time.monotonic()
    r = run_evaluation(eng, data, test_samples, start, batch_size=batch_size,
                       progress=show_progress(progress),
                       on_batch=None if rows is None else lambda a, res: rows.extend(
                           [a + i, int(data.test_y[a + i]), int(p), int(e), int(t)]
                           for i, (p, e, t) in enumerate(zip(res.predictions, res.events,
                                                             res.ticks))))
    seconds = time.monotonic() - t0
    cost = r.cost()
    ev, tk = cost["events"], cost["ticks"]
    data_on_stdout = "-" in (str(json_out), str(csv_out))
    say(f"test error: {100 * r.error:.2f}% ({r.n - r.correct} of {r.n} wrong, test "
        f"samples {r.start}..{r.start + r.n - 1}), {name}, engine {engine}, "
        f"{seconds:.1f} s", data_on_stdout=data_on_stdout)
    say(f"per sample: {ev['mean']:,.0f} synaptic events (p50 {ev['p50']:,.0f}, p95 "
        f"{ev['p95']:,.0f}), {tk['mean']:.1f} ticks (p50 {tk['p50']:g}, p95 "
        f"{tk['p95']:g}, of {net.cfg.ticks_infer}); readout {net.cfg.readout}, "
        f"exit_margin {net.cfg.exit_margin}", data_on_stdout=data_on_stdout)
    if rows is not None:
        write_csv([["position", "label", "prediction", "events", "ticks"], *rows], csv_out)
    if json_out is not None:
        doc = {"model": str(path), "dataset": name, "engine": engine, "test_error": r.error,
               "test_samples": r.n, "correct": r.correct, "start": r.start, "events": r.events,
               "events_per_sample": ev, "ticks_per_sample": tk,
               "readout": net.cfg.readout, "exit_margin": net.cfg.exit_margin,
               "ticks_infer": net.cfg.ticks_infer, "sets": list(sets),
               "samples_seen": net.samples_seen, "time_s": round(seconds, 3)}
        write_json(doc, json_out)
