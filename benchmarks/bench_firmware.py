"""Firmware benchmark: instructions per sample and per synaptic event on a Cortex-M4 (QEMU
mps2-an386 with -icount shift=0), stream throughput over the emulated UART, RAM/flash per board and
the largest 784-H-10 network each board can train.

    python benchmarks/bench_firmware.py                  # 784-100-10, 50 test + 50 train digits
    python benchmarks/bench_firmware.py --samples 20 --board netduinoplus2

How the count works: with -icount shift=0 QEMU advances its virtual clock by 1 ns per guest
instruction, and the firmware's 64-bit cycle counter (SysTick on the 25 MHz core clock) advances
once per 40 ns, i.e. once per 40 instructions; the firmware reports the counter difference around
erbp_run_sample for every sample. These are instructions executed, not cycles: QEMU models no
pipeline, caches or flash wait states.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import numpy as np


def sizes(board: str) -> dict[str, int]:
    from erbp.boards import table

    spec = table.board(board)
    out = subprocess.run([spec.arch.size, "-A", str(spec.image_path())],
                         capture_output=True, text=True, check=True).stdout
    sec = {m[0]: int(m[1]) for m in re.findall(r"^\.(\w+)\s+(\d+)", out, re.M)}
    return {"flash": sec.get("text", 0) + sec.get("rodata", 0) + sec.get("data", 0) + sec.get("ARM", 0),
            "ram": sec.get("data", 0) + sec.get("bss", 0) + sec.get("noinit", 0) + sec.get("stack", 0),
            "bss": sec.get("bss", 0), "stack": sec.get("stack", 0)}


def largest_hidden(arena: int, variant: str = "erbp") -> tuple[int, int]:
    """Largest H with 784-H-10 fitting the arena, and its arena bytes."""
    from erbp.engines.c import required_bytes
    from erbp.reference import NetConfig

    lo, hi = 1, 4096
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if required_bytes(NetConfig.default(f"784-{mid}-10", variant)) <= arena:
            lo = mid
        else:
            hi = mid - 1
    return lo, required_bytes(NetConfig.default(f"784-{lo}-10", variant))


def main() -> int:
    from erbp.boards import table

    emulated = [b.name for b in table.boards() if b.kind == "qemu"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default=emulated[0], choices=emulated)
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--variant", default="erbp", choices=["erbp", "perbp"])
    ap.add_argument("--samples", type=int, default=50, help="test digits and training digits each")
    ap.add_argument("--pc-train", type=int, default=300, help="PC training samples before deploying")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()

    from erbp.boards.client import Board
    from erbp.engines.c import CNetwork, required_bytes
    from erbp.data.datasets import load_dataset
    from erbp.boards.emulators import build, start_board
    from erbp.reference import NetConfig

    print(f"$ python benchmarks/bench_firmware.py {' '.join(sys.argv[1:])}")
    build(emulated)
    print("\n| board | flash (text+data) | static RAM (data+bss+stack) | arena | largest 784-H-10 "
          "(arena bytes) |\n|---|---|---|---|---|")
    for b in emulated:
        s, arena = sizes(b), table.board(b).arena_bytes
        h, need = largest_hidden(arena, args.variant)
        print(f"| {b} | {s['flash']} B | {s['ram']} B (stack {s['stack']}) | {arena} B | "
              f"784-{h}-10 ({need} B) |")
    cfg = NetConfig.default(args.topology, args.variant)
    print(f"\n{args.topology} {args.variant}: arena {required_bytes(cfg)} B")

    ds = load_dataset("mnist", args.data_dir)
    net = CNetwork.create(cfg, seed=2017)
    if args.pc_train:
        net.run_samples(ds.train_x[: args.pc_train], ds.train_y[: args.pc_train], "train")
    model = net.dumps()
    n = args.samples
    with start_board(args.board, icount=True) as emu, Board(emu.url, timeout=10) as board:
        caps = board.hello()
        per_tick = 1e9 / caps.cycles_hz
        t0 = time.monotonic()
        board.deploy(model)
        t_deploy = time.monotonic() - t0
        rows = {}
        for mode, x, y in (("infer", ds.test_x[:n], None),
                           ("train", ds.train_x[args.pc_train:args.pc_train + n],
                            ds.train_y[args.pc_train:args.pc_train + n])):
            cyc, ev, sent = [], [], 0
            t0 = time.monotonic()
            for i in range(n):
                r = board.run(args.pc_train + i if mode == "train" else i, mode,
                              int(y[i]) if y is not None else -1, x[i])
                cyc.append(r.cycles)
                ev.append(r.events)
            dt = time.monotonic() - t0
            rows[mode] = (np.array(cyc, dtype=np.float64) * per_tick, np.array(ev), dt)
        t0 = time.monotonic()
        pulled = board.read_model()
        t_pull = time.monotonic() - t0
    core = table.board(args.board).cpu
    print(f"\n{core} on QEMU {args.board}, -icount shift=0 ({per_tick:g} instructions per counter "
          f"tick), {n} samples per mode:\n")
    print("| mode | instructions / sample (mean) | synaptic events / sample (mean) | "
          "instructions / synaptic event | stream rate |\n|---|---|---|---|---|")
    for mode, (ins, ev, dt) in rows.items():
        print(f"| {mode} | {ins.mean():,.0f} | {ev.mean():,.0f} | {ins.sum() / ev.sum():.2f} | "
              f"{n / dt:.1f} samples/s |")
    print(f"\ndeploy {len(model)} B in {t_deploy:.1f} s ({len(model) / t_deploy / 1e3:.1f} kB/s "
          f"host->board); pull {len(pulled)} B in {t_pull:.1f} s "
          f"({len(pulled) / t_pull / 1e3:.1f} kB/s board->host)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
