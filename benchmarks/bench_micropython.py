"""Speed of the MicroPython port under the unix port: viper kernels versus plain Python.

For a network (default 784-100-10 with NetConfig.default) it trains on the first MNIST training
images and then classifies the first test images, inside one `micropython` subprocess per run
(erbp.engines.micropython.MicroPythonEngine), and reports microseconds per sample and synaptic
events per second. Times are measured inside MicroPython (time.ticks_us around each sample), so
the pipe to the host is not counted. Times are the CPU time of the micropython process (Linux
/proc/PID/schedstat, so waiting for a core on a loaded machine is not counted; the wall time
measured inside MicroPython with time.ticks_us is reported too). Each configuration runs
--repeats times from the same initial network; the best run is reported next to the median.

    python benchmarks/bench_micropython.py                 # MNIST from ERBP_DATA or ../shared
    python benchmarks/bench_micropython.py --mpy           # the .mpy files from mpy-cross
    python benchmarks/bench_micropython.py --json out.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from erbp import micropython_tools as mpt
from erbp.data.datasets import shared_copy_dir
from erbp.engines import micropython as mpp
from erbp.reference import INFER, TRAIN, NetConfig, Network

ROOT = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path | None:
    d = Path(os.environ.get("ERBP_DATA") or shared_copy_dir(ROOT))
    return d if (d / "train-images-idx3-ubyte.gz").exists() else None


def read_mnist(d: Path, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(d / f"{split}-images-idx3-ubyte.gz") as f:
        f.read(16)
        X = np.frombuffer(f.read(784 * n), np.uint8).reshape(n, 784)
    with gzip.open(d / f"{split}-labels-idx1-ubyte.gz") as f:
        f.read(8)
        y = np.frombuffer(f.read(n), np.uint8)
    return X, y


def data(cfg: NetConfig, n: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    d = mnist_dir()
    if d is not None and cfg.n_in == 784:
        X, y = read_mnist(d, "train", n)
        Xt, _ = read_mnist(d, "t10k", n)
        return f"MNIST ({d})", X, y, Xt
    g = np.random.default_rng(0)  # no MNIST: sparse random images of the same density
    X = (g.integers(0, 256, (2 * n, cfg.n_in)) * (g.random((2 * n, cfg.n_in)) < 0.19))
    return "random sparse images (no MNIST found)", X[:n].astype(np.uint8), \
        g.integers(0, cfg.n_out, n), X[n:].astype(np.uint8)


def cpu_ns(pid: int) -> int:
    """CPU time of a process in ns: schedstat (ns resolution), else utime + stime."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) * 10**9 // os.sysconf("SC_CLK_TCK")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=20, help="samples per mode with viper")
    ap.add_argument("--plain-samples", type=int, default=3, help="samples per mode, plain")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="viper,plain")
    ap.add_argument("--mpy", action="store_true", help="run the .mpy files made by mpy-cross")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    a = ap.parse_args(argv)

    cfg = NetConfig.default(a.topology)
    net = Network.create(cfg, a.seed)
    n_max = max(a.samples, a.plain_samples)
    source, X, y, Xt = data(cfg, n_max)
    module_path = None
    tmp = None
    if a.mpy:
        tmp = tempfile.TemporaryDirectory(prefix="erbp-bench-mpy-")
        mpt.build_mpy(tmp.name, "host", driver=True)
        module_path = tmp.name
    exe = mpt.find_micropython()
    version = subprocess.run(
        [exe, "-c", "import sys; v = sys.implementation; "
                    "print('.'.join(str(x) for x in v.version), v._machine)"],
        capture_output=True, text=True, timeout=60).stdout.strip()
    cmd = "python " + " ".join(shlex.quote(x) for x in [
        "benchmarks/bench_micropython.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"command: {cmd}")
    print(f"network {a.topology} (NetConfig.default, seed {a.seed}), ticks train/infer "
          f"{cfg.ticks_train}/{cfg.ticks_infer}; data: {source}")
    print(f"MicroPython {version} ({exe}), code from {'.mpy' if a.mpy else '.py'}; "
          f"CPU {cpu_name()}; load average {os.getloadavg()[0]:.1f}; best of {a.repeats} runs "
          f"(median in brackets)\n")
    print(f"{'kernels':8} {'mode':6} {'samples':>7} {'CPU us/sample':>20} {'events/s':>22} "
          f"{'wall us/sample':>15} {'events/sample':>14}")
    results = []
    for backend in a.backends.split(","):
        n = a.samples if backend == "viper" else a.plain_samples
        runs: dict[str, list[tuple[float, float, int]]] = {TRAIN: [], INFER: []}
        for _ in range(a.repeats):
            with mpp.MicroPythonEngine(net, backend=backend, module_path=module_path) as eng:
                assert eng.backend == backend, eng.info
                for mode, XX, yy in ((TRAIN, X, y), (INFER, Xt, None)):
                    c0 = cpu_ns(eng.pid)
                    r = eng.run_samples(XX[:n], None if yy is None else yy[:n], mode, 0)
                    cpu_us = (cpu_ns(eng.pid) - c0) / 1e3
                    runs[mode].append((cpu_us, eng.batch_us, r.total_events))
        for mode, rs in runs.items():
            events = rs[0][2]
            assert all(e == events for *_, e in rs), "runs differ: not deterministic?"
            best = min(c for c, _, _ in rs)
            med = statistics.median(c for c, _, _ in rs)
            wall = min(w for _, w, _ in rs)
            row = dict(kernels=backend, mode=mode, samples=n, us_per_sample=best / n,
                       us_per_sample_median=med / n, events_per_s=events / best * 1e6,
                       events_per_s_median=events / med * 1e6, events_per_sample=events / n,
                       wall_us_per_sample=wall / n)
            results.append(row)
            print(f"{backend:8} {mode:6} {n:7d} {best / n:10.0f} [{med / n:7.0f}] "
                  f"{row['events_per_s']:11.3g} [{row['events_per_s_median']:8.3g}] "
                  f"{wall / n:15.0f} {events / n:14.0f}")
    by = {(r["kernels"], r["mode"]): r for r in results}
    for mode in (TRAIN, INFER):
        if ("viper", mode) in by and ("plain", mode) in by:
            f = by["viper", mode]["events_per_s"] / by["plain", mode]["events_per_s"]
            print(f"viper / plain, events per second, {mode}: {f:.1f}x")
    if a.json:
        Path(a.json).write_text(json.dumps(dict(command=cmd, micropython=version, cpu=cpu_name(),
                                                topology=a.topology, data=source,
                                                mpy=a.mpy, results=results), indent=1) + "\n")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
