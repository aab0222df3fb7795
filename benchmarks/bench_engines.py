"""Speed and memory of the erbp engines on MNIST (a benchmark, not a test).

    python benchmarks/bench_engines.py              # full: includes a whole 60k-sample epoch
    python benchmarks/bench_engines.py --quick      # no epoch, fewer samples
    python benchmarks/bench_engines.py --doc docs/performance.md   # also write the report

For 784-100-10 and 784-500-500-10 (default eRBP configuration), in training and inference: the C
engine (erbp.engines.c, batch path ``run_samples``), the numpy reference (a few samples), and the
bare kernel bound: benchmarks/kernel_bound.c, compiled here with the binding's flags, doing only
the unavoidable per-event work (read an int8 weight, update it, accumulate it) for the same rows
in the same numbers per tick as the measured C training run. Each measurement runs in its own
process pinned to one core; times are that process's CPU time (robust to other load on the
machine; the C engine and the kernel bound run three times and the fastest run counts), peak
memory its maximum resident set size.

Figures: synaptic events/s (pre spikes x fan-out, all layers, as docs/semantics.md counts them),
microseconds per sample, the process's peak RSS during the run (MiB; interpreter, numpy and the
digits included) and the engine's own memory (C: arena + instance; reference: its int64 weight,
feedback and state arrays).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGIES = ("784-100-10", "784-500-500-10")


def mnist_dir() -> str | None:
    """ERBP_DATA, else the project's shared copy beside the repository, else erbp's default."""
    if os.environ.get("ERBP_DATA"):
        return os.environ["ERBP_DATA"]
    from erbp.data.datasets import shared_copy_dir

    shared = shared_copy_dir(ROOT)
    return str(shared) if shared.is_dir() else None


def proc_status_mib(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM = peak RSS) in MiB, 0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


# --- one measurement, in a child process ----------------------------------------------------------
def child(spec: dict) -> dict:
    """Run one engine on one topology: train on the first n_train digits, then infer on the first
    n_test test digits. Returns the figures."""
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # one core
    except (AttributeError, OSError):
        pass
    import numpy as np

    from erbp.data.datasets import load_mnist
    from erbp.reference import INFER, TRAIN, NetConfig, Network

    data = load_mnist(mnist_dir())
    cfg = NetConfig.default(spec["topology"])
    X, y = data.train_x[: spec["n_train"]].copy(), data.train_y[: spec["n_train"]].copy()
    Xt = data.test_x[: spec["n_test"]].copy()
    del data
    gc.collect()
    reset_peak_rss()  # from here on the peak is the run's (the interpreter and data included)
    out: dict = {"rss_before_mib": proc_status_mib("VmRSS")}
    if spec["engine"] == "c":
        from erbp.engines.c import CNetwork, required_bytes

        ffi, lib = __import__("erbp.engines.c.engine", fromlist=["_load"])._load()
        out["engine_bytes"] = required_bytes(cfg) + int(lib.erbp_net_struct_bytes())
        for _ in range(spec.get("repeat", 1)):  # the same work each time; keep the fastest
            net = CNetwork.create(cfg, 1)
            c0, w0 = time.process_time(), time.perf_counter()
            r = net.run_samples(X, y, TRAIN)
            best(out, "train", dict(cpu=time.process_time() - c0, wall=time.perf_counter() - w0,
                                    samples=len(X), events=int(r.events.sum())))
            c0, w0 = time.process_time(), time.perf_counter()
            r = net.run_samples(Xt, mode=INFER)
            best(out, "infer", dict(cpu=time.process_time() - c0, wall=time.perf_counter() - w0,
                                    samples=len(Xt), events=int(r.events.sum())))
        # per-layer spikes (for the kernel bound), from a fresh network on the same digits
        probe = CNetwork.create(cfg, 1)
        n_probe = min(len(X), 300)
        ins = hid = ev = 0
        for i in range(n_probe):
            res = probe.run_sample(X[i], int(y[i]), TRAIN)
            ins, hid, ev = ins + res.input_spikes, hid + res.hidden_spikes, ev + res.events
        out["probe"] = dict(samples=n_probe, input_spikes=ins, hidden_spikes=hid, events=ev)
    else:
        net = Network.create(cfg, 1)
        out["engine_bytes"] = sum(a.nbytes for a in net.W + net.G) + sum(
            a.nbytes for a in net.snapshot().values() if a.ndim == 1)
        c0, w0 = time.process_time(), time.perf_counter()
        ev = sum(net.run_sample(X[i], int(y[i]), TRAIN).events for i in range(len(X)))
        out["train"] = dict(cpu=time.process_time() - c0, wall=time.perf_counter() - w0,
                            samples=len(X), events=int(ev))
        c0, w0 = time.process_time(), time.perf_counter()
        ev = sum(net.run_sample(Xt[i], sample=i).events for i in range(len(Xt)))
        out["infer"] = dict(cpu=time.process_time() - c0, wall=time.perf_counter() - w0,
                            samples=len(Xt), events=int(ev))
    out["peak_rss_mib"] = proc_status_mib("VmHWM") or \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["ticks"] = dict(train=cfg.ticks_train, infer=cfg.ticks_infer)
    out["sizes"] = list(cfg.sizes)
    return out


def best(out: dict, key: str, m: dict) -> None:
    """Keep the measurement with the least CPU time (other load only ever adds time)."""
    if key not in out or m["cpu"] < out[key]["cpu"]:
        out[key] = m


def run_child(spec: dict, extra_env: dict | None = None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               **(extra_env or {}))
    p = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"measurement {spec} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# --- the kernel bound -----------------------------------------------------------------------------
def engine_isa() -> str:
    """The instruction set the C engine's hot kernels run with here: "AVX2" when the binding was
    built with its x86-64 clones (erbp_binding_x86_clones) and this CPU has AVX2, else
    "baseline" (the compiler's default target, SSE2 on x86-64)."""
    from erbp.engines.c.engine import _load

    _, lib = _load()
    flags = ""
    try:
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), "")
    except OSError:
        pass
    return "AVX2" if int(lib.erbp_binding_x86_clones) and " avx2" in flags else "baseline"


def build_kernel_bound(tmp: Path, isa: str) -> Path:
    """The bound is compiled with the binding's flags and for the instruction set the engine runs
    (-mavx2 when its AVX2 clones run): the same compiler work, the same vector width."""
    from erbp.engines.c._build import CFLAGS

    exe = tmp / "kernel_bound"
    cc = os.environ.get("CC", "cc")
    cmd = [cc, *CFLAGS, *(["-mavx2"] if isa == "AVX2" else []),
           str(ROOT / "benchmarks" / "kernel_bound.c"), "-o", str(exe)]
    subprocess.run(cmd, check=True)
    return exe


def kernel_bound(exe: Path, c: dict, repeat: int = 3) -> dict:
    """Events/s of the bare kernel on the rows of the measured C training run."""
    sizes, tr, pr = c["sizes"], c["train"], c["probe"]
    ticks = tr["samples"] * c["ticks"]["train"]
    # spikes of each presynaptic population per tick, from the probe run
    n_in_spk = pr["input_spikes"]
    if len(sizes) == 3:
        pre = [n_in_spk, pr["hidden_spikes"]]
    else:  # two hidden layers: split hidden spikes with the event count (exact)
        h_tot = pr["hidden_spikes"]
        h0 = (pr["events"] - n_in_spk * sizes[1] - h_tot * sizes[3]) / (sizes[2] - sizes[3])
        pre = [n_in_spk, h0, h_tot - h0]
    probe_ticks = pr["samples"] * c["ticks"]["train"]
    args = [f"{sizes[l]}:{sizes[l + 1]}:{pre[l] / probe_ticks:.6f}" for l in range(len(sizes) - 1)]
    out: dict = {}
    for _ in range(repeat):
        p = subprocess.run(["taskset", "-c", str(sorted(os.sched_getaffinity(0))[-1]), str(exe),
                            str(ticks), *args], capture_output=True, text=True, check=True)
        events, secs, _ = p.stdout.split()
        best(out, "kb", dict(events=int(events), cpu=float(secs), args=args))
    return out["kb"]


def code_sizes() -> dict[str, int]:
    """Library code size per target (bytes of text, -Os) from cport/Makefile `cross`."""
    p = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT / "cport"), "cross"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return {}
    out, target = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("== "):
            target = line[3:].strip()
        elif "(TOTALS)" in line and target:
            out[target] = int(line.split()[0])
    return out


# --- report ---------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(),
                cc=cc[0] if cc else "?", load=os.getloadavg())


def pct_range(ratios: list[float]) -> str:
    return f"[{min(ratios) * 100:.0f}–{max(ratios) * 100:.0f}]"


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:,.1f} M"


def paired(spec: dict, exe: Path, env: dict, pairs: int) -> tuple[dict, dict, list[float]]:
    """Run the C engine and the kernel bound back to back, `pairs` times, so that each ratio
    compares two runs made under the same conditions (a shared machine's speed drifts over
    seconds). Returns the fastest engine run, the fastest bound run and every pair's ratio."""
    c: dict = {}
    kb: dict = {}
    ratios = []
    for _ in range(pairs):
        ck = run_child(dict(spec, repeat=1), env)
        kbk = kernel_bound(exe, ck, repeat=1)
        ratios.append(ck["train"]["events"] / ck["train"]["cpu"] / (kbk["events"] / kbk["cpu"]))
        if not c:
            c = ck
        for key in ("train", "infer"):
            if ck[key]["cpu"] < c[key]["cpu"]:
                c[key] = ck[key]
        best(kb, "kb", kbk)
    return c, kb["kb"], ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="no 60k epoch, fewer samples")
    ap.add_argument("--doc", help="write the report (markdown) to this file")
    ap.add_argument("--ref-samples", type=int, default=3, help="samples for the reference engine")
    ap.add_argument("--pairs", type=int, default=5,
                    help="back-to-back runs of the C engine and the kernel bound (default 5)")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    command = "python benchmarks/bench_engines.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    n = {"784-100-10": (1000, 1000) if a.quick else (5000, 2000),
         "784-500-500-10": (200, 200) if a.quick else (1000, 500)}
    rows, bounds = [], {}
    isa = engine_isa()
    portable = {}  # with AVX2 clones: the same measurements with the baseline code only
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_kernel_bound(Path(tmp), isa)
        if isa == "AVX2":
            from erbp.engines.c import _build

            (Path(tmp) / "base").mkdir()
            _build.build(Path(tmp), "_cport_portable")
            exe_base = build_kernel_bound(Path(tmp) / "base", "baseline")
            base_env = {"ERBP_CPORT_VARIANT": f"{tmp}:_cport_portable"}
        for topo in TOPOLOGIES:
            spec = dict(engine="c", topology=topo, n_train=n[topo][0], n_test=n[topo][1])
            c, kb, ratios = paired(spec, exe, {}, a.pairs)
            if isa == "AVX2":
                cb, kbb, rb = paired(dict(spec, n_test=0), exe_base, base_env, a.pairs)
                portable[topo] = dict(us=cb["train"]["cpu"] / cb["train"]["samples"] * 1e6,
                                      eps=cb["train"]["events"] / cb["train"]["cpu"],
                                      bound=kbb["events"] / kbb["cpu"], ratios=rb)
            r = run_child(dict(engine="python", topology=topo, n_train=a.ref_samples,
                               n_test=a.ref_samples))
            bounds[topo] = dict(kb, ratios=ratios)
            for eng, m in (("C", c), ("reference", r)):
                for mode in ("train", "infer"):
                    x = m[mode]
                    rows.append(dict(topology=topo, engine=eng, mode=mode, samples=x["samples"],
                                     us=x["cpu"] / x["samples"] * 1e6,
                                     eps=x["events"] / x["cpu"], peak=m["peak_rss_mib"],
                                     own=m.get("engine_bytes")))
            rows[-4]["bound_ratio"] = statistics.median(ratios)
        epoch = None
        if not a.quick:
            e = run_child(dict(engine="c", topology="784-100-10", n_train=60000, n_test=0))
            epoch = e["train"]
    sizes = code_sizes()
    info = machine()
    info["isa"] = isa
    lines = report(rows, bounds, epoch, sizes, info, command, portable)
    print("\n".join(lines))
    if a.doc:
        Path(a.doc).write_text(doc_header() + "\n".join(lines) + "\n" + DOC_NOTES)
        print(f"\nwrote {a.doc}")


def report(rows, bounds, epoch, sizes, info, command, portable=None) -> list[str]:
    L = [f"Command: `{command}`", "",
         f"Machine: {info['cpu']}, {info['cores']} cores (one used per measurement), "
         f"Python {info['python']}, {info['cc']}; load average at the end "
         f"{info['load'][0]:.1f} (times are CPU times, so other load inflates them only "
         f"through shared caches and cores). C engine kernels: {info['isa']}"
         + (" (the binding's AVX2 clones, picked when the library loads; the baseline x86-64 "
            "code computes the same numbers)" if info["isa"] == "AVX2" else "") + ".", "",
         "| topology | engine | mode | samples | µs/sample | synaptic events/s | peak RSS (MiB) |"
         " engine memory |",
         "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        own = f"{r['own'] / 1024:,.0f} KiB" if r["own"] else "—"
        L.append(f"| {r['topology']} | {r['engine']} | {r['mode']} | {r['samples']:,} | "
                 f"{r['us']:,.0f} | {fmt_rate(r['eps'])} | {r['peak']:,.0f} | {own} |")
    pairs = len(next(iter(bounds.values()))["ratios"]) if bounds else 0
    L += ["", f"C engine and kernel bound: the fastest of {pairs} runs each; the reference: one "
          "run. Speed on a shared virtual machine drifts over seconds, so the engine and the "
          f"kernel bound run back to back {pairs} times and C / bound is the median of the "
          f"{pairs} pairs' ratios (their range in brackets)."]
    L += ["", "Kernel bound (benchmarks/kernel_bound.c: only read-update-accumulate of the same "
          "int8 weights, same rows per tick as the C training run, compiled for the same "
          f"instruction set, {info['isa']}):", "",
          "| topology | kernel bound events/s | C training events/s | C / bound |",
          "|---|---:|---:|---:|"]
    for topo, kb in bounds.items():
        c = next(r for r in rows if r["topology"] == topo and r["engine"] == "C"
                 and r["mode"] == "train")
        L.append(f"| {topo} | {fmt_rate(kb['events'] / kb['cpu'])} | {fmt_rate(c['eps'])} | "
                 f"{c['bound_ratio'] * 100:.0f} % {pct_range(kb['ratios'])} |")
    if portable:
        L += ["", "The same training runs with the portable code only (a build without the AVX2 "
              "clones, what non-Linux or non-x86 hosts run; kernel bound at baseline x86-64):", "",
              "| topology | µs/sample | C training events/s | kernel bound events/s | C / bound |",
              "|---|---:|---:|---:|---:|"]
        for topo, x in portable.items():
            L.append(f"| {topo} | {x['us']:,.0f} | {fmt_rate(x['eps'])} | "
                     f"{fmt_rate(x['bound'])} | {statistics.median(x['ratios']) * 100:.0f} % "
                     f"{pct_range(x['ratios'])} |")
    c100 = next(r for r in rows if r["topology"] == "784-100-10" and r["engine"] == "C"
                and r["mode"] == "train")
    L += ["", f"C training 784-100-10: {fmt_rate(c100['eps'])} events/s "
          f"({'over' if c100['eps'] >= 1e9 else 'under'} the goal of 1 billion)."]
    if epoch:
        L += ["", f"Full MNIST epoch, 784-100-10, C engine, 60,000 training samples in one "
              f"`run_samples` call: {epoch['cpu']:.1f} s CPU ({epoch['wall']:.1f} s wall), "
              f"{epoch['cpu'] / 60000 * 1e6:.0f} µs/sample, "
              f"{fmt_rate(epoch['events'] / epoch['cpu'])} events/s."]
    L += ["", "Against the goals of the C engine: training at 25 % of the kernel bound "
          "or more: " + ", ".join(
              f"{t} {r['bound_ratio'] * 100:.0f} % "
              f"({'met' if r['bound_ratio'] >= 0.25 else 'not met'})"
              for t in bounds for r in rows
              if r["topology"] == t and r["engine"] == "C" and r["mode"] == "train")
          + (f"; a 60,000-sample epoch of 784-100-10 in under a minute: {epoch['cpu']:.1f} s "
             f"({'met' if epoch['cpu'] < 60 else 'not met'})" if epoch else "") + "."]
    if "784-100-10" in bounds:
        kb = bounds["784-100-10"]
        ev = c100["eps"] * c100["us"] / 1e6
        syn_us = ev / (kb["events"] / kb["cpu"]) * 1e6
        L += ["", f"Where 784-100-10 training spends its {c100['us']:,.0f} µs per sample: its "
              f"{ev / 1e3:,.0f} k synaptic events would take {syn_us:,.0f} µs at the kernel "
              "bound; the rest is work per tick that does not shrink with the number of events "
              "(an input draw per nonzero pixel and a noise draw per neuron from the "
              "counter-based hash, membrane, dendrite and error-neuron updates, the update "
              "factors). The smaller the network, the larger that share."]
    if sizes:
        L += ["", "Code size of cport (text bytes, -Os, arm-none-eabi-gcc / "
              "riscv64-unknown-elf-gcc): "
              + ", ".join(f"{t}: {v:,}" for t, v in sizes.items()) + "; data and bss 0."]
    L += ["", "Inference rows (after the training rows' samples) run the defaults' readout and "
          "early exit (semantics version 2: `readout` 1, `exit_margin` = 20 threshold currents): "
          "a sample stops once its summed output current has a clear leader, so its cost "
          "depends on how far the network has learned; see [inference](inference.md)."]
    return L


def doc_header() -> str:
    return ("# Performance\n\n"
            "Speed and memory of the erbp engines, measured by `benchmarks/bench_engines.py` "
            "(rerun it to refresh this page; it writes it with `--doc docs/performance.md`).\n\n"
            f"Measured {time.strftime('%Y-%m-%d')}.\n\n")


DOC_NOTES = """
## Compared with NSAT

NSAT, the authors' fixed-point simulator (not part of this project), was measured beside erbp on
one machine in one sitting (2026-11-30, a 2-core AMD EPYC VM; absolute speeds on these shared VMs
move by up to a factor of two between days, only a ratio measured side by side holds): NSAT's own
784-100-10 eRBP example (`sim_erbp_mlp_1L`: 1,500 ticks per sample, stochastic transmission, its
Makefile build `-Ofast -march=native -flto`, one core, 2,000 training samples) alternated twice
with `python benchmarks/bench_engines.py --quick`:

| simulator | ticks / sample | synaptic events / sample | synaptic events/s | ms / training sample |
|---|---:|---:|---:|---:|
| NSAT | 1,500 | 398,879 | 41.5 M | 9.6 |
| erbp C engine | 100 | 142,356 | 1,944 M | 0.073 |

erbp is 47 times faster per synaptic event and 131 times per training sample. The work per event
differs: NSAT walks linked lists and draws a random number per synapse for transmission and per
update; erbp does one fused pass per contiguous weight row. NSAT's input spikes are generated
beforehand in Python and not timed. The table above this section is not comparable with these
figures: it was measured on another machine and day.

## How the C engine is fast

* **Event driven.** Phase 3 walks only the weight rows of neurons that spiked; weights are stored
  row-major per presynaptic neuron, so one spike touches one contiguous row (int8 when
  `weight_bits <= 8`). Input generation walks only nonzero pixels (a zero pixel can never spike,
  and with a counter-based random function skipping its draw changes nothing), and keeps their
  refractory counters packed, one byte per nonzero pixel in order, so phase 2 is three contiguous
  branch-free passes (draws, refractory rule, spike list) instead of a gather and scatter per
  pixel; reads and writes of `in_ref` see the usual one-counter-per-input layout.
* **Fused learning.** The update factor `dw_i` is computed once per post neuron and tick, and only
  for layers that receive a spike; each spiking row then does `w = SAT(w + dw); acc += w` in one
  pass. When every `dw_i` of a layer is 0 the row is only summed. The row kernel (int8 or int16
  weights, blank-out or not, learning or not) is chosen once per layer and tick, and the loop over
  that layer's spiking rows calls it directly: no choice per row.
* **Vectorised at -O2, portably.** Hot loops are written as blocks of 16 with a constant inner trip
  count (what gcc's cheapest vectoriser cost model and clang accept) with an int16 intermediate for
  the int8 clamp; the per-neuron passes (membrane update with noise draws, update factors,
  dendrites, input draws) are branch free over arrays padded to 16 lanes. No `-march`: the same
  binary runs on every x86-64. On x86-64 Linux the binding also compiles the hot kernels for
  AVX2 (`target_clones`, `ERBP_X86_CLONES`) and the loader picks the AVX2 or the baseline (SSE2)
  clone for the CPU: twice the vector width, and the 32-bit multiplies of the hash in one
  instruction instead of an SSE2 emulation. Boards and every other build get the portable code.
* The numbers never depend on these choices: the conformance suite (`tests/conformance`),
  `tests/test_cport_engine.py` and `tests/test_cport_mnist.py` compare the full state with the
  reference (through the clone the CPU picks), again with a baseline-only build under
  AddressSanitizer/UBSan and with the scalar-core loops (the conformance suite's `c-asan` and
  `c-scalar` adapters, `tests/test_cport_sanitize.py`, `tests/test_cport_variants.py`, which
  also checks that a build without the clones trains MNIST
  to the same bytes); the standalone C driver replays the golden vectors with the portable, the
  cloned and the scalar-core loops (`make -C cport test sanitize`).

The reference engine is numpy code written for readability, not speed; it is the specification.
"""

if __name__ == "__main__":
    main()
