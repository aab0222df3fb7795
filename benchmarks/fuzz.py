"""Fuzz benchmark: each libFuzzer target of firmware/fuzz/ (firmware/fuzz/targets.py) for a number
of executions or a time budget, from its committed seed corpus; prints executions, crashes,
coverage (libFuzzer's edges `cov` and features `ft`), executions per second and the command.

    python benchmarks/fuzz.py                                  # 10 million executions per target
    python benchmarks/fuzz.py --runs 1000000 --targets fuzz_frames
    python benchmarks/fuzz.py --seconds 300 --targets fuzz_proto fuzz_frames   # same budget

CPU-heavy (one core per target, one target at a time): on a shared machine run it under
`nice -n 10`. The corpus a run grows stays in benchmarks/out/fuzz/<target>/ (not committed), its
log in benchmarks/out/fuzz/<target>.log; each run starts from the seed corpus alone unless --keep.
Ctrl-C (or SIGINT to the fuzzer) stops a run early and still prints its figures. Crashes go to benchmarks/out/fuzz/ as
crash-* files (libFuzzer stops at the first one). Goal (docs/reliability.md): 10 million
executions per target, 0 crashes.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "fuzz"


def load_targets():
    spec = importlib.util.spec_from_file_location("fuzz_targets",
                                                  ROOT / "firmware" / "fuzz" / "targets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_targets"] = module
    spec.loader.exec_module(module)
    return module


def last_stats(log: str) -> dict[str, int]:
    """cov, ft, corp and exec/s of the last status line libFuzzer printed."""
    stats: dict[str, int] = {}
    for line in log.splitlines():
        m = re.match(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", line)
        if m:
            stats = {"execs": int(m[1]), "cov": int(m[2]), "ft": int(m[3]), "corpus": int(m[4])}
            rate = re.search(r"exec/s: (\d+)", line)
            if rate:
                stats["exec/s"] = int(rate[1])
    return stats


def run(target, runs: int | None, seconds: int | None, keep: bool) -> dict:
    work = OUT / target.name
    if work.exists() and not keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    cmd = [str(target.binary), str(work), str(target.corpus), f"-max_len={target.max_len}",
           "-timeout=10", "-print_final_stats=1", f"-artifact_prefix={OUT}/{target.name}-"]
    cmd += [f"-runs={runs}"] if runs else []
    cmd += [f"-max_total_time={seconds}"] if seconds else []
    env = dict(os.environ, **target.env())
    log_path = OUT / f"{target.name}.log"  # libFuzzer's progress, as it goes
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        try:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        except KeyboardInterrupt:  # libFuzzer stops too and prints its figures so far
            rc = -2
    elapsed = time.monotonic() - t0
    log_text = log_path.read_text(errors="replace")
    r = subprocess.CompletedProcess(cmd, rc, "", log_text)
    done = re.search(r"^Done (\d+) runs in (\d+) second", r.stderr, re.M)
    stats = last_stats(r.stderr)
    units = re.search(r"^stat::number_of_executed_units: (\d+)", r.stderr, re.M)
    execs = int(done[1]) if done else int(units[1]) if units else stats.get("execs", 0)
    crash = re.findall(r"Test unit written to (\S+)", r.stderr)
    stopped = "libFuzzer: run interrupted" in r.stderr and not crash  # SIGINT: not a failure
    shown = " ".join(f"{k}={v}" for k, v in target.env().items())
    return {"target": target.name, "execs": execs, "seconds": elapsed,
            "crashes": len(crash) if r.returncode != 0 else 0, "artifacts": crash,
            "cov": stats.get("cov"), "ft": stats.get("ft"), "corpus": stats.get("corpus"),
            "rate": execs / elapsed if elapsed else 0.0, "stopped": stopped,
            "returncode": 0 if stopped else r.returncode,
            "command": ((shown + " " if shown else "") + " ".join(cmd)).replace(f"{ROOT}/", ""),
            "tail": r.stderr[-3000:] if r.returncode != 0 else ""}


def main() -> int:
    targets = load_targets()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="executions per target (default 10,000,000 unless --seconds)")
    ap.add_argument("--seconds", type=int, default=None, help="time budget per target")
    ap.add_argument("--targets", nargs="+", default=list(targets.TARGETS),
                    choices=list(targets.TARGETS))
    ap.add_argument("--keep", action="store_true", help="go on from the corpus of the last run")
    a = ap.parse_args()
    runs = a.runs if a.runs or a.seconds else 10_000_000
    if shutil.which("clang") is None:
        print("Error: clang not found: run `make setup`", file=sys.stderr)
        return 1
    subprocess.run(["make", "-C", str(ROOT / "firmware"), "fuzz"], check=True,
                   capture_output=True)
    print(f"# {' '.join(['python', 'benchmarks/fuzz.py', *sys.argv[1:]])}  "
          f"({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f})")
    print("| target | executions | seconds | exec/s | crashes | cov (edges) | ft (features) "
          "| corpus |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for name in a.targets:
        res = run(targets.TARGETS[name], runs, a.seconds, a.keep)
        results.append(res)
        name += " (stopped early)" if res["stopped"] else ""
        print(f"| {name} | {res['execs']:,} | {res['seconds']:.0f} | {res['rate']:,.0f} | "
              f"{res['crashes']} | {res['cov']} | {res['ft']} | {res['corpus']} |", flush=True)
    for res in results:
        print(f"{res['target']}: {res['command']}")
        if res["returncode"] != 0:
            print(f"{res['target']} FAILED (exit {res['returncode']}; artifacts "
                  f"{res['artifacts']}):\n{res['tail']}")
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
