"""The main job of erbp end to end, on defaults that need nothing else (``make demo``,
``python -m erbp.demo``):

1. data at hand: MNIST where it is found (``--data-dir``, ``ERBP_DATA``, erbp's cache; nothing is
   downloaded), else scikit-learn's bundled 8x8 digits;
2. train a small network on the PC (C engine) into a run directory, evaluate it on the test set;
3. deploy it to an emulated Cortex-M4 (QEMU mps2-an386; its firmware built on the first run);
4. keep learning on the chip (training samples the PC did not use), and check that the chip's
   results and learned weights are bit-identical to the PC's after the same samples;
5. print the figures and where the plots are.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .data.datasets import Dataset, DatasetError, load_digits, load_mnist
from .errors import ErbpError


def data_at_hand(data_dir: str | None = None) -> tuple[Dataset, str]:
    """MNIST if its files are found (never downloaded), else the 8x8 digits; and a note why."""
    try:
        return load_mnist(data_dir, download=False), "MNIST"
    except DatasetError as e:
        return load_digits(), (f"scikit-learn's 8x8 digits (MNIST not found: {e}; set ERBP_DATA to "
                               f"use it)")


def run_demo(out: Path, *, data_dir: str | None = None, samples: int | None = None,
             chip_samples: int = 100, board_name: str = "mps2-an386", seed: int = 1,
             log=print) -> dict:
    """Run the demo into ``out`` (a fresh run directory); returns its figures."""
    from .boards.client import Board
    from .boards.emulators import start_board
    from .boards.stream import replay_on_pc, run_stream
    from .engines import resolve_engine
    from .plots import plot_all
    from .reference import Network
    from .training.configure import make_config
    from .training.loop import (RunOptions, default_test_every, evaluate, run_training,
                                start_run)
    from .training.order import default_epoch_size

    data, note = data_at_hand(data_dir)
    n = samples or (5000 if data.n_in == 784 else len(data.train_y))
    topology = data.default_topology()
    engine = resolve_engine("auto")
    log(f"data: {note}: {len(data.train_y):,} training, {len(data.test_y):,} test images")
    net = Network.create(make_config(topology, "erbp", {}, n_in=data.n_in,
                                     n_classes=data.n_classes), seed)
    options = RunOptions(dataset=data.name, samples=n, protocol="balanced",
                         epoch_size=default_epoch_size(data, "balanced"), order_seed=seed,
                         test_every=default_test_every(n), test_samples=1000)
    run = start_run(out, net, options, extra={"dataset": data.name, "topology": topology,
                                              "variant": "erbp", "overrides": {}},
                    command="python -m erbp.demo")
    t0 = time.monotonic()
    res = run_training(run, net, data, options, engine=engine)
    train_s = time.monotonic() - t0
    ev = evaluate(res.engine, data)
    log(f"1. trained {topology} on {n:,} images on the PC ({engine} engine): {train_s:.1f} s")
    cost = ev.cost()
    log(f"2. test error on all {ev.n:,} test images: {100 * ev.error:.2f} % "
        f"({ev.n - ev.correct:,} wrong); per image {cost['ticks']['mean']:.1f} ticks (of at "
        f"most {net.cfg.ticks_infer}: the early exit) and {cost['events']['mean']:,.0f} "
        f"synaptic events")

    model = (out / "model.erbp").read_bytes()
    first = n % len(data.train_y)  # training images the PC did not use last
    x = data.train_x[first:first + chip_samples]
    y = data.train_y[first:first + chip_samples]
    with start_board(board_name, log=log) as emu, Board(emu.url) as board:
        caps = board.hello()
        board.deploy(model)
        log(f"3. deployed to {caps.board} (emulated, QEMU): {len(model):,} bytes, validated "
            f"by the board")
        lines = run_stream(board, x, y, "train", out / "chip_train.jsonl", checkpoint_every=0)
        pulled = board.read_model()
    per_tick = 1e9 / caps.cycles_hz if caps.cycles_hz else float("nan")
    instr = [r["cycles"] * per_tick for r in lines]
    events = sum(r["events"] for r in lines)
    right = sum(r["prediction"] == r["label"] for r in lines)
    log(f"4. learned on the chip: {len(lines)} more training images, {np.mean(instr):,.0f} "
        f"instructions per sample, {sum(instr) / max(events, 1):.1f} per synaptic event "
        f"(Cortex-M4 under QEMU -icount); {right} of {len(lines)} predicted right while learning")
    bad, pc_model = replay_on_pc(model, lines, x, y, "train")
    exact = not bad and pulled == pc_model
    (out / "learned_on_chip.erbp").write_bytes(pulled)
    if exact:
        log(f"5. verified: the chip's {len(lines)} results and its learned weights are "
            f"bit-identical to the PC's C engine after the same samples")
    else:
        log(f"5. MISMATCH: {len(bad)} results differ (first positions {bad[:10]}); weights "
            f"{'equal' if pulled == pc_model else 'differ'}")
    plots = plot_all(out, data=data)
    log(f"6. plots in {out / 'plots'}: {', '.join(p.name for p in plots.values())}; the model "
        f"learned on the chip: {out / 'learned_on_chip.erbp'}")
    return {"dataset": data.name, "topology": topology, "samples": n,
            "test_error": ev.error, "chip_samples": len(lines), "bit_exact": exact,
            "instructions_per_event": sum(instr) / max(events, 1), "plots": plots}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m erbp.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/demo"),
                    help="run directory (default runs/demo; replaced if it holds a demo)")
    ap.add_argument("--data-dir", help="MNIST directory [default: $ERBP_DATA, else the cache]")
    ap.add_argument("--samples", type=int, help="training images on the PC [default: 5,000 for "
                                                "MNIST, one pass over the digits]")
    ap.add_argument("--chip-samples", type=int, default=100,
                    help="training images learned on the chip (default 100)")
    a = ap.parse_args(argv)
    if a.out.exists():
        import shutil

        if not (a.out / "chip_train.jsonl").exists() and any(a.out.iterdir()):
            print(f"Error: {a.out} exists and is not a demo run directory: give --out",
                  file=sys.stderr)
            return 1
        shutil.rmtree(a.out)
    try:
        r = run_demo(a.out, data_dir=a.data_dir, samples=a.samples, chip_samples=a.chip_samples)
    except (ErbpError, OSError) as e:  # as erbp's commands do (erbp.cli: exit codes 1 and 130)
        from .cli import one_line

        print(f"Error: {one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    return 0 if r["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
