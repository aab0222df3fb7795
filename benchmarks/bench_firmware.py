"""Firmware benchmark: instructions per sample and per synaptic event on every emulated board
(QEMU with -icount shift=0) and every build - RAM (the network in RAM: it learns; Helium or DSP
kernels on the cores that have them), dsp (a Helium core's DSP kernels), portable (neither), rom
(the model in flash, read-only: inference) - with RAM, flash and the latency per sample at each
chip's nominal clock, and the largest 784-H-10 network each board can train.

    python benchmarks/bench_firmware.py                  # 784-100-10, 30 test + 30 train digits
    python benchmarks/bench_firmware.py --samples 20 --boards microbit   # some boards (the table's)
    python benchmarks/bench_firmware.py --model runs/e3/model.erbp --set exit_margin=0
    python benchmarks/bench_firmware.py --topology 784-500-500-10 --pc-train 3000 --samples 10 \
        --boards netduinoplus2     # a network no RAM arena of the board holds: its rom build only

Inference samples run the model's readout and early exit (a sample ends once its leader leads by
exit_margin; docs/inference.md), so the ticks run per sample are reported beside the events.

How the count works: with -icount shift=0 QEMU advances its virtual clock by 1 ns per guest
instruction, and the firmware's 64-bit cycle counter (SysTick on the core clock; TIMER0 at 16 MHz
on the micro:bit; minstret on RISC-V) advances once per 1e9 / hz instructions; the firmware
reports the counter difference around erbp_run_sample for every sample. These are instructions
executed, not cycles: QEMU models no pipeline, caches or flash wait states, so the latency at the
nominal clock is an estimate (one instruction per cycle).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


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


def builds(board: str, rom_model: Path, out: Path) -> list[tuple[str, Path, list[str]]]:
    """(build name, image, make arguments) of every build of a board (its board-table entry's
    builds): ram (the network in RAM; with the Helium kernels where the board's build has them,
    else the DSP kernels where the core has them), dsp (on a Helium board: the DSP kernels, with
    the soft-float ABI), portable (neither, on a DSP core), rom (the model in flash: rom_model)."""
    from erbp.boards import table

    spec = table.board(board)
    res = []
    soft = " -mfloat-abi=soft" if spec.mve else ""  # no FPU registers: no Helium
    if "ram" in spec.builds:
        res.append(("ram", spec.image_path(), [spec.target()]))
        if spec.mve:
            res.append(("dsp", spec.image_path(build_dir=out / "dsp"),
                        [spec.target(), f"EXTRA_CFLAGS={soft.strip()}", f"BUILD={out / 'dsp'}"]))
        if spec.dsp:
            res.append(("portable", spec.image_path(build_dir=out / "portable"),
                        [spec.target(), f"EXTRA_CFLAGS=-DERBP_NO_DSP{soft}",
                         f"BUILD={out / 'portable'}"]))
    if "rom" in spec.builds:
        res.append(("rom", spec.image_path(rom=True, build_dir=out / "rom"),
                    [spec.target(rom=True), f"ROM_MODEL={rom_model}", f"BUILD={out / 'rom'}",
                     f"ERBP={Path(sys.executable).with_name('erbp')}"]))
    return res


def elf_sizes(board: str, elf: Path) -> dict[str, int]:
    from erbp.boards import table

    out = subprocess.run([table.board(board).arch.size, "-A", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    sec = {m[0]: int(m[1]) for m in re.findall(r"^\.(\w+)\s+(\d+)", out, re.M)}
    return {"flash": sec.get("text", 0) + sec.get("rodata", 0) + sec.get("data", 0)
            + sec.get("ARM", 0),
            "ram": sec.get("data", 0) + sec.get("bss", 0) + sec.get("noinit", 0)
            + sec.get("stack", 0), "stack": sec.get("stack", 0)}


def measure(board_name: str, elf: Path, model: bytes, rom: bool, ds, n: int, pc_train: int):
    """{mode: (instructions per sample array, events array, ticks array, stream seconds)} and
    caps."""
    from erbp.boards.client import Board
    from erbp.boards.emulators import start_board

    rows = {}
    with start_board(board_name, image=elf, icount=True) as emu, \
            Board(emu.url, timeout=60) as board:
        caps = board.hello()
        per_tick = 1e9 / caps.cycles_hz
        if not rom:
            board.deploy(model)
        modes = [("infer", ds.test_x[:n], None)]
        if not rom:
            modes.append(("train", ds.train_x[pc_train:pc_train + n],
                          ds.train_y[pc_train:pc_train + n]))
        for mode, x, y in modes:
            cyc, ev, tk = [], [], []
            t0 = time.monotonic()
            for i in range(n):
                r = board.run(pc_train + i if mode == "train" else i, mode,
                              int(y[i]) if y is not None else -1, x[i],
                              timeout=board.timeout)  # a fixed wait: no re-send mid-count
                cyc.append(r.cycles)
                ev.append(r.events)
                tk.append(r.ticks)
            rows[mode] = (np.array(cyc, dtype=np.float64) * per_tick, np.array(ev), np.array(tk),
                          time.monotonic() - t0)
    return rows, caps


def main() -> int:
    from erbp.boards import table

    emulated = [b.name for b in table.boards() if b.kind == "qemu"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", nargs="+", default=emulated, choices=emulated)
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--variant", default="erbp", choices=["erbp", "perbp"])
    ap.add_argument("--samples", type=int, default=30, help="test digits and training digits each")
    ap.add_argument("--pc-train", type=int, default=300, help="PC training samples before deploying")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "firmware"),
                    help="build directory of the portable and read-only images")
    ap.add_argument("--model", help="deploy this model file (e.g. a trained run's model.erbp) "
                    "instead of a fresh network trained on --pc-train samples on the PC")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="with --model: evaluate with another inference field (as erbp eval "
                    "--set), e.g. --set exit_margin=0")
    args = ap.parse_args()

    from erbp.boards.emulators import build
    from erbp.data.datasets import load_dataset
    from erbp.engines.c import CNetwork, required_bytes, state_required_bytes
    from erbp.reference import NetConfig

    print(f"$ python benchmarks/bench_firmware.py {' '.join(sys.argv[1:])}")
    ds = load_dataset("mnist", args.data_dir)
    if args.model:
        from erbp.reference import modelfile
        from erbp.training.configure import inference_overrides, parse_overrides

        ref = modelfile.load(args.model)
        ref.cfg = inference_overrides(ref.cfg, parse_overrides(args.sets))
        net, cfg = CNetwork.from_network(ref), ref.cfg
        args.pc_train = 0  # its training samples were others: train from the start of the set
        print(f"\nmodel {args.model} ({net.samples_seen} training samples seen)"
              + (f", {' '.join(args.sets)}" if args.sets else ""))
    else:
        cfg = NetConfig.default(args.topology, args.variant)
        net = CNetwork.create(cfg, seed=2017)
        if args.pc_train:
            net.run_samples(ds.train_x[: args.pc_train], ds.train_y[: args.pc_train], "train")
    model = net.dumps()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rom_model = out / "model.erbp"
    rom_model.write_bytes(model)
    print(f"\n{'-'.join(map(str, cfg.sizes))}: model file {len(model)} B, arena in RAM "
          f"{required_bytes(cfg)} B, state of the read-only network {state_required_bytes(cfg)} B; "
          f"readout {cfg.readout}, exit_margin {cfg.exit_margin} (0: none), at most "
          f"{cfg.ticks_infer} ticks per inference sample")
    build(emulated)
    rows_out, sizes_rows = [], []
    skipped = []
    for b in args.boards:
        for name, elf, make_args in builds(b, rom_model, out):
            if name != "rom" and required_bytes(cfg) > table.board(b).arena_bytes:
                skipped.append(f"{b} {name}")  # the network cannot learn there
                continue
            if name != "ram":
                r = subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), *make_args],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    print(r.stdout + r.stderr)
                    return 1
            rom = name == "rom"
            rows, caps = measure(b, elf, model, rom, ds, args.samples, args.pc_train)
            sz = elf_sizes(b, elf)
            spec = table.board(b)
            hz = spec.clock_hz
            sizes_rows.append((b, name, sz["flash"] - (len(model) if rom else 0), sz["ram"],
                               sz["stack"], caps.arena_bytes))
            for mode, (ins, ev, tk, dt) in rows.items():
                lat = f"{ins.mean() / hz * 1e3:,.0f} ms" if hz else "—"
                rows_out.append((b, spec.cpu, name, mode, ins.mean(), ev.mean(), tk.mean(),
                                 ins.sum() / ev.sum(), lat, args.samples / dt))
    if skipped:
        topo = "-".join(map(str, cfg.sizes))
        print(f"\nnot measured (the {required_bytes(cfg):,}-byte arena of {topo} exceeds the "
              f"board's): {', '.join(skipped)}")
    print(f"\nQEMU -icount shift=0, {args.samples} samples per mode (infer: MNIST test digits "
          f"0..; train: training digits {args.pc_train}..):\n")
    print("| board (core) | build | mode | instructions / sample | synaptic events / sample | "
          "ticks / sample | instructions / event | latency at the nominal clock (estimate) | "
          "stream rate |\n|---|---|---|---|---|---|---|---|---|")
    for b, cpu, name, mode, ins, ev, tk, per, lat, rate in rows_out:
        print(f"| {b} ({cpu}) | {name} | {mode} | {ins:,.0f} | {ev:,.0f} | {tk:.1f} | "
              f"**{per:.2f}** | {lat} | {rate:.1f} samples/s |")
    print("\n| board | build | flash: text + data (without the model) | static RAM: data + bss + "
          "noinit + stack | stack | arena (RAM boards) or state (read-only) | largest 784-H-10 "
          "that trains |\n|---|---|---|---|---|---|---|")
    for b, name, flash, ram, stack, arena in sizes_rows:
        big = "—"
        if name == "ram":
            h, need = largest_hidden(arena, args.variant)
            big = f"784-{h}-10 ({need:,} B)"
        print(f"| {b} | {name} | {flash:,} B | {ram:,} B | {stack:,} B | {arena:,} B | {big} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
