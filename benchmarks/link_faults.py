"""Stream throughput over a faulty link against a clean one: the host build of the firmware
behind the fault proxy (erbp.boards.faults), MNIST training samples streamed as `erbp board
stream` streams them (run_stream, checkpoints every --checkpoint-every samples).

    python benchmarks/link_faults.py                          # 784-100-10, 300 samples, 1e-3
    python benchmarks/link_faults.py --samples 1000 --corrupt 1e-3 --drop 5e-4 --dup 5e-4

Clean and faulty runs alternate (--repeat times each; the machine's load drifts) and go through
the same proxy (clean: fault probabilities 0, so the proxy's per-byte work is the same); the
figure is the median of samples per second. Every faulty run is checked: its results and final
weights equal the clean run's (exactly once, bit for bit).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stream_once(model: bytes, x, y, faults: dict, timeout: float, checkpoint_every: int,
                seed: int) -> dict:
    """One stream through the proxy: samples/s, retransmissions, faults, results, weights."""
    from erbp.boards.client import Board
    from erbp.boards.faults import faulty_host_board
    from erbp.boards.stream import run_stream

    with faulty_host_board(**faults, seed=seed) as (_, link), \
            tempfile.TemporaryDirectory() as d:
        with Board(link.url, timeout=timeout, retries=30) as b:
            link.enabled = False
            b.deploy(model)
            link.enabled = True
            t0 = time.monotonic()
            lines = run_stream(b, x, y, "train", Path(d) / "r.jsonl",
                               checkpoint_every=checkpoint_every)
            seconds = time.monotonic() - t0
            link.enabled = False
            weights = b.read_model()
        return {"seconds": seconds, "rate": len(x) / seconds,
                "retransmissions": b.retransmissions, "stats": dict(link.stats),
                "results": [(r["prediction"], r["counts"], r["events"]) for r in lines],
                "weights": weights}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--corrupt", type=float, default=1e-3, help="per-byte corruption probability")
    ap.add_argument("--drop", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=5.0, help="the client's longest wait (s)")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args()

    from erbp.boards.emulators import build
    from erbp.data.datasets import load_dataset
    from erbp.engines.c import CNetwork
    from erbp.provenance import command_line, machine, now
    from erbp.reference import NetConfig

    build(["host"])
    data = load_dataset("mnist", a.data_dir)
    x, y = data.train_x[: a.samples], data.train_y[: a.samples]
    model = CNetwork.create(NetConfig.default(a.topology, "erbp"), seed=3).dumps()
    faulty = {"corrupt": a.corrupt, "drop": a.drop, "dup": a.dup}
    runs: dict[str, list[dict]] = {"clean": [], "faulty": []}
    for i in range(a.repeat):
        for kind, faults in (("clean", {}), ("faulty", faulty)):
            r = stream_once(model, x, y, faults, a.timeout, a.checkpoint_every, seed=5 + i)
            runs[kind].append(r)
            print(f"  {kind:6s} run {i + 1}: {r['rate']:7.1f} samples/s ({r['seconds']:.2f} s), "
                  f"{r['retransmissions']} retransmissions, faults {r['stats']}", flush=True)
    ref = runs["clean"][0]
    for r in runs["clean"] + runs["faulty"]:
        if r["results"] != ref["results"] or r["weights"] != ref["weights"]:
            print("FAILED: a run's results or weights differ from the clean run's")
            return 1
    clean = statistics.median(r["rate"] for r in runs["clean"])
    bad = statistics.median(r["rate"] for r in runs["faulty"])
    print(f"{a.topology}, {a.samples} MNIST training samples, checkpoint every "
          f"{a.checkpoint_every}, host board on a pty behind the proxy; faults {faulty}")
    print(f"clean link:  {clean:.1f} samples/s (median of {a.repeat})")
    print(f"faulty link: {bad:.1f} samples/s (median of {a.repeat}): {100 * bad / clean:.0f} % "
          f"of clean; results and weights identical to the clean run")
    print(f"command: {command_line()}  ({now()}, {machine()['cpus']} CPUs)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
