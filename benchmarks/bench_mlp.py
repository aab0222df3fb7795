"""erbp inference against an int8 MLP of the same shape, side by side on the same emulated
Cortex-M4 (QEMU with -icount shift=0: instructions executed), in one run.

    python benchmarks/bench_mlp.py                       # 784-100-10: trains both sides first
    python benchmarks/bench_mlp.py --model runs/e3/model.erbp --samples 50
    python benchmarks/bench_mlp.py --mlp-topology 784-200-10 --mlp-topology 784-500-500-10

For each network:

* **erbp**: a model file (``--model``; by default ``erbp train --epochs 3`` into the work
  directory) on the C engine over the 10,000 MNIST test images (test error, synaptic events and
  ticks run per sample, with the model's readout and early exit), on the board over the first ``--erbp-samples`` of them (instructions per sample,
  predictions equal to the PC's), then learning ``--samples`` training digits on the chip;
* **int8 MLP**: the float baseline of the same shape (erbp.research.baselines, back-propagation,
  ReLU hidden units, ``--mlp-epochs`` epochs) quantised as TensorFlow Lite Micro / CMSIS-NN expect
  (erbp.research.int8_mlp: int8 symmetric per-tensor weights, int8 asymmetric activations, int32
  biases, fixed-point requantisation), its test error from the bit-exact numpy model of the int8
  arithmetic, and on the board the app firmware/mlp/ in three builds: the layers through our
  erbp_fc_s8 (its DSP path on a core that has one, and its portable path built with
  -DERBP_NO_DSP) and through CMSIS-NN's arm_fully_connected_s8 (firmware/mlp/third_party/cmsis-nn,
  vendored unmodified at the version its README names), each over the first ``--samples`` test
  images: instructions per inference (the same for every digit), the kernel's code bytes, and
  every layer's outputs equal to the numpy model.

Instructions counted as in benchmarks/bench_firmware.py: the board's cycle counter under -icount
shift=0 (1e9 / counter_hz instructions per counter tick); the MLP app times pixel - 128, the
layers and the argmax; erbp's firmware times erbp_run_sample.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CMSIS_NN = ROOT / "firmware" / "mlp" / "third_party" / "cmsis-nn"
#: The app's builds: name, the kernel (make's MLP_KERNEL), compiler flags, the kernel's functions
#: (their code is the kernel's code bytes; mlp_cmsis.c's call of CMSIS-NN is ours, not counted).
BUILDS = (("dsp", "erbp", "", ("erbp_fc_s8", "erbp_fc_s8_requantize",
                                "fc_dsp", "fc_portable", "finish")),
          ("portable", "erbp", "-DERBP_NO_DSP", ("erbp_fc_s8",
                                                 "erbp_fc_s8_requantize", "fc_portable",
                                                 "finish")),
          ("cmsis-nn", "cmsis-nn", "", ("arm_fully_connected_s8", "arm_nn_vec_mat_mult_t_s8")))


def cmsis_nn_version() -> str:
    """The vendored CMSIS-NN's version (`git describe`), as its README states it."""
    m = re.search(r"^Version: `([^`]+)`", (CMSIS_NN / "README.md").read_text(), re.M)
    if not m:
        raise SystemExit(f"{CMSIS_NN / 'README.md'} names no version")
    return m[1]


def kernel_code_bytes(map_file: Path, funcs: tuple[str, ...]) -> int:
    """Bytes of the int8 kernel's code (its functions' .text sections in the linker map)."""
    text = map_file.read_text()
    total = 0
    for name in funcs:
        m = re.search(rf"^ \.text\.{name}\s*\n?\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", text, re.M)
        if m:
            total += int(m[1], 16)
    return total


def erbp_model(args, topology: str) -> Path:
    """The erbp model of a topology: --model, or trained with `erbp train` into the work dir."""
    for m in args.model:
        if Path(m).is_dir():
            m = str(Path(m) / "model.erbp")
        from erbp.engines.c import CNetwork

        if "-".join(map(str, CNetwork.load(m).cfg.sizes)) == topology:
            return Path(m)
    run = Path(args.work) / f"erbp-{topology}-e{args.erbp_epochs:g}"
    if not (run / "model.erbp").exists() or not (run / "state.json").exists():
        cmd = [sys.executable, "-m", "erbp", "train", "--topology", topology, "--engine", "c",
               "--epochs", f"{args.erbp_epochs:g}", "--no-progress"]
        cmd += ["--resume", str(run)] if run.exists() else ["--out", str(run)]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        print(f"training the erbp side: {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run / "model.erbp"


def mlp_model(args, topology: str, data):
    """The float baseline of a topology (trained or resumed in the work dir) and its int8 twin."""
    from erbp.research.baselines import BaselineConfig, run_baseline
    from erbp.research.int8_mlp import quantize

    cfg = BaselineConfig(topology=topology, rule="bp", activation="relu", epochs=args.mlp_epochs,
                         seed=args.seed)
    res = run_baseline(cfg, data, out=Path(args.work) / f"mlp-{topology}-e{args.mlp_epochs}")
    calib = data.train_x[:args.calibration]
    return res, quantize(res.model, calib)


def erbp_side(args, topology: str, data, board: str) -> dict:
    from erbp.boards.client import Board
    from erbp.boards.emulators import start_board
    from erbp.engines.c import CNetwork, required_bytes

    path = erbp_model(args, topology)
    blob = path.read_bytes()
    net = CNetwork.loads(blob)
    pc = net.run_samples(data.test_x, mode="infer")
    n, ni = args.samples, args.erbp_samples
    with start_board(board, icount=True) as emu, Board(emu.url, timeout=30) as b:
        per_tick = 1e9 / b.hello().cycles_hz
        b.deploy(blob)
        rs = [b.run(i, "infer", -1, data.test_x[i]) for i in range(ni)]
        seen = net.samples_seen  # then learning on the chip: the next n training digits
        ts = [b.run(seen + i, "train", int(data.train_y[i]), data.train_x[i]) for i in range(n)]
    preds = np.array([r.prediction for r in rs])
    if not (preds == pc.predictions[:ni]).all():
        raise SystemExit(f"erbp {topology}: the board's predictions differ from the PC's")
    return {"error": float((pc.predictions != data.test_y).mean()),
            "instructions": float(np.mean([r.cycles for r in rs]) * per_tick),
            "ops": float(np.mean([r.events for r in rs])), "ops_all": float(pc.events.mean()),
            "ticks": float(np.mean([r.ticks for r in rs])), "ticks_all": float(pc.ticks.mean()),
            "train_instructions": float(np.mean([r.cycles for r in ts]) * per_tick),
            "train_ops": float(np.mean([r.events for r in ts])),
            "flash": len(blob), "ram": required_bytes(net.cfg), "model": str(path)}


def mlp_side(args, topology: str, data, board: str) -> dict:
    from erbp.boards.table import board as board_spec
    from erbp.research.baselines import evaluate
    from erbp.research.int8_mlp import build_firmware, run_firmware

    res, q = mlp_model(args, topology, data)
    outs = q.forward(data.test_x)
    n = args.samples
    x = data.test_x[:n]
    want = np.concatenate(outs[1:], axis=1)[:n]
    per_tick = 1e9 / board_spec(board).counter_hz
    out = {"error": float((outs[-1].argmax(axis=1) != data.test_y).mean()),
           "float_error": evaluate(res.model, data), "ops": q.macs,
           "flash": q.model_bytes, "ram": q.activation_bytes}
    for build, kernel, cflags, funcs in BUILDS:
        work = Path(args.work) / f"mlp-app-{topology}-{build}"
        image = build_firmware(q, x, board, work, cflags=cflags, kernel=kernel)
        run = run_firmware(image, board, q, n)
        if not (run.outputs == want).all():
            raise SystemExit(f"int8 MLP {topology} ({build}): the board's layer outputs differ "
                             f"from the numpy model")
        out[f"instructions_{build}"] = float(run.ticks.mean() * per_tick)
        out[f"code_{build}"] = kernel_code_bytes(image.with_suffix(".map"), funcs)
    return out


def main() -> int:
    from erbp.boards import table

    boards = [b.name for b in table.boards("mlp")]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default=boards[0] if boards else None, choices=boards,
                    help="a board whose board-table entry lists mlp in ci")
    ap.add_argument("--model", action="append", default=[],
                    help="an erbp model file (or run directory) per network (repeatable); "
                         "default: `erbp train --epochs E` in the work directory")
    ap.add_argument("--topology", action="append", default=[],
                    help="networks on both sides [default: 784-100-10]")
    ap.add_argument("--mlp-topology", action="append", default=[],
                    help="more networks on the MLP side only")
    ap.add_argument("--samples", type=int, default=50,
                    help="test digits of the MLP app (its cost does not depend on the digit), "
                         "training digits erbp learns on the chip")
    ap.add_argument("--erbp-samples", type=int, default=1000,
                    help="test digits erbp infers on the board (its cost depends on the digit)")
    ap.add_argument("--erbp-epochs", type=float, default=3)
    ap.add_argument("--mlp-epochs", type=int, default=10)
    ap.add_argument("--calibration", type=int, default=10000,
                    help="training images whose ranges set the activations' scales")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="runs/bench_mlp", help="trained networks and app builds")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()

    from erbp.data.datasets import load_dataset

    print(f"$ python benchmarks/bench_mlp.py {' '.join(sys.argv[1:])}", flush=True)
    data = load_dataset("mnist", args.data_dir)
    both = args.topology or ([] if args.mlp_topology and not args.model else ["784-100-10"])
    if args.model and not args.topology:
        from erbp.engines.c import CNetwork

        both = ["-".join(map(str, CNetwork.load(Path(m) / "model.erbp" if Path(m).is_dir()
                                                 else m).cfg.sizes)) for m in args.model]
    rows = []
    for topo in dict.fromkeys(both + args.mlp_topology):
        m = mlp_side(args, topo, data, args.board)
        e = erbp_side(args, topo, data, args.board) if topo in both else None
        rows.append((topo, e, m))

    spec = table.board(args.board)
    print(f"\n{spec.cpu} on QEMU {args.board}, -icount shift=0; instructions per inference: "
          f"mean over the first {args.erbp_samples} MNIST test digits for erbp (predictions equal "
          f"to the PC's), {args.samples} for the MLP (every layer of every build equal to the "
          f"numpy model); test error and events on all {len(data.test_y)}. CMSIS-NN "
          f"{cmsis_nn_version()} (firmware/mlp/third_party/cmsis-nn).\n")
    print("| network | inference | test error | instructions / inference | synaptic events or "
          "MACs / inference | instructions / event or MAC | model (B) | RAM (B) |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")
    for topo, e, m in rows:
        if e:
            print(f"| {topo} | erbp ({Path(e['model']).name}) | {100 * e['error']:.2f} % | "
                  f"{e['instructions']:,.0f} | {e['ops']:,.0f} events in {e['ticks']:.1f} ticks "
                  f"(all test digits: {e['ops_all']:,.0f} in {e['ticks_all']:.1f}) | "
                  f"{e['instructions'] / e['ops']:.2f} | {e['flash']:,} | "
                  f"{e['ram']:,} (arena) |")
        for build, *_ in BUILDS:
            kernel = ("CMSIS-NN arm_fully_connected_s8" if build == "cmsis-nn" else
                      f"erbp_fc_s8 {build}")
            print(f"| {topo} | int8 MLP, {kernel} ({m['code_' + build]:,} B code) | "
                  f"{100 * m['error']:.2f} % (float {100 * m['float_error']:.2f} %) | "
                  f"{m['instructions_' + build]:,.0f} | {m['ops']:,} MACs | "
                  f"{m['instructions_' + build] / m['ops']:.2f} | {m['flash']:,} | "
                  f"{m['ram']:,} (activations) |")
    for topo, e, m in rows:
        if e:
            print(f"| {topo} | erbp, learning on the chip (training digits 0..{args.samples - 1}) "
                  f"| | {e['train_instructions']:,.0f} per training sample | {e['train_ops']:,.0f} "
                  f"events | {e['train_instructions'] / e['train_ops']:.2f} | | |")
    for topo, e, m in rows:
        if e:
            print(f"\n{topo}: erbp / int8 MLP on CMSIS-NN instructions per inference = "
                  f"{e['instructions'] / m['instructions_cmsis-nn']:.2f}x (goal: at most 3x); "
                  f"erbp / erbp_fc_s8 (DSP) = {e['instructions'] / m['instructions_dsp']:.2f}x; "
                  f"synaptic events / MACs = {e['ops_all'] / m['ops']:.2f}")
    for topo, e, m in rows:
        print(f"{topo}: erbp_fc_s8 (DSP) / CMSIS-NN instructions per inference = "
              f"{m['instructions_dsp'] / m['instructions_cmsis-nn']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
