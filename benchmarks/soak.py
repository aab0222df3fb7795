"""Soak: a long training stream through the fault proxy against the host build of the firmware,
with board resets and host interruptions mid-stream; every sample must be applied exactly once
and the results and final weights must equal a clean run's (the PC's C engine).

    python benchmarks/soak.py                                  # 10,000 MNIST samples, 784-100-10
    python benchmarks/soak.py --samples 2000 --resets 3 --interruptions 2

Faults: per-byte corruption --corrupt, drops --drop and duplicates --dup in both directions. A
board reset (the RESET request, sent through the faulty link: the board forgets its model) comes
at --resets pseudo-random positions; the stream recovers from its last checkpoint and replays.
A host interruption (--interruptions) ends the stream process's link (as a crash would) and a new
client resumes the results file. Prints throughput, faults, retransmissions, recoveries.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Interrupted(Exception):
    """The host side of the stream stops here (a crash, Ctrl-C)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--corrupt", type=float, default=1e-3)
    ap.add_argument("--drop", type=float, default=5e-4)
    ap.add_argument("--dup", type=float, default=5e-4)
    ap.add_argument("--resets", type=int, default=5)
    ap.add_argument("--interruptions", type=int, default=3)
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args()

    from erbp.boards.client import Board
    from erbp.boards.emulators import build
    from erbp.boards.faults import faulty_host_board
    from erbp.boards.stream import compare, read_results, run_stream
    from erbp.data.datasets import load_dataset
    from erbp.engines.c import CNetwork
    from erbp.provenance import command_line, machine, now
    from erbp.reference import NetConfig

    build(["host"])
    data = load_dataset("mnist", a.data_dir)
    order = random.Random(a.seed)
    idx = [order.randrange(len(data.train_y)) for _ in range(a.samples)]
    x, y = data.train_x[idx], data.train_y[idx]
    model = CNetwork.create(NetConfig.default(a.topology, "erbp"), seed=a.seed).dumps()
    net = CNetwork.loads(model)  # the clean run
    t = time.monotonic()
    ref = net.run_samples(x, y, "train", 0)
    expected = [{"prediction": int(p), "counts": [int(c) for c in cs], "events": int(e)}
                for p, cs, e in zip(ref.predictions, ref.counts, ref.events)]
    clean_weights = net.dumps()
    print(f"clean run (PC C engine): {a.samples} samples in {time.monotonic() - t:.1f} s",
          flush=True)

    resets = set(order.sample(range(1, a.samples - 1), a.resets))
    cuts = sorted(order.sample(range(1, a.samples - 1), a.interruptions))
    logs: list[str] = []
    sessions = retransmissions = 0
    with faulty_host_board(corrupt=a.corrupt, drop=a.drop, dup=a.dup, seed=a.seed) as (_, link), \
            tempfile.TemporaryDirectory() as d:
        out = Path(d) / "soak.jsonl"
        with Board(link.url, timeout=a.timeout, retries=30) as b:
            link.enabled = False
            b.deploy(model)
            link.enabled = True
        t0 = time.monotonic()
        while True:
            sessions += 1
            with Board(link.url, timeout=a.timeout, retries=30, log=logs.append) as b:
                def on_result(line, b=b):
                    if line["pos"] in resets:
                        resets.discard(line["pos"])
                        b.reset()  # through the faulty link; the board forgets its model
                    if cuts and line["pos"] == cuts[0]:
                        cuts.pop(0)
                        raise Interrupted

                try:
                    lines = run_stream(b, x, y, "train", out, checkpoint_every=a.checkpoint_every,
                                       on_result=on_result, log=logs.append)
                except Interrupted:
                    retransmissions += b.retransmissions
                    continue
                seconds = time.monotonic() - t0
                link.enabled = False
                pulled = b.read_model()
                seen = b.hello().samples_seen
                retransmissions += b.retransmissions
                break
        positions = [r["pos"] for r in read_results(out)]
    ok = (positions == list(range(a.samples)) and compare(lines, expected) == []
          and pulled == clean_weights and seen == a.samples)
    recoveries = sum("lost its model" in m for m in logs)
    print(f"{a.topology}, {a.samples} MNIST training samples through the fault proxy "
          f"(corrupt {a.corrupt}, drop {a.drop}, dup {a.dup} per byte) to the host board")
    print(f"{seconds:.1f} s, {a.samples / seconds:.1f} samples/s; {sessions} client sessions "
          f"({a.interruptions} interruptions), {recoveries} recoveries from {a.resets} board "
          f"resets, {retransmissions} retransmissions; faults {link.stats}")
    print(("PASSED: every sample once, results and weights equal to the clean run" if ok else
           "FAILED: " + ", ".join(k for k, v in {
               "positions": positions == list(range(a.samples)),
               "results": compare(lines, expected) == [], "weights": pulled == clean_weights,
               f"samples_seen {seen}": seen == a.samples}.items() if not v)))
    print(f"command: {command_line()}  ({now()}, {machine()['cpus']} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
