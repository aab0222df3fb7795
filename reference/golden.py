"""Golden vectors: the reference's full state after every tick of small networks, for every engine.

Format (tests/golden/README.md): for each case NAME,
  NAME.json  — configuration words, seed, the samples (pixels, label, mode, index), the snapshot
               keys with their shapes, and the number of records;
  NAME.erbp  — the initial network as a model file (engines load it, testing their loader too);
  NAME.bin   — int32 little-endian: for every sample, for every tick, every snapshot array in
               key order, flattened row-major.
Regenerate with ``python -m erbp.reference.golden tests/golden`` (``make golden``): every case when
the semantics version changes; adding a case changes no existing file but ``index.json``. The test
suite checks that the stored vectors equal a fresh reference run (tests/test_golden.py) and that
they catch every plausible misreading of docs/semantics.md (tests/test_golden_mutations.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import modelfile, rng
from .config import NetConfig
from .constants import SEMANTICS_VERSION, STREAM_INPUT, STREAM_NOISE
from .network import INFER, TRAIN, Network


def explicit_config(sizes, **kw) -> NetConfig:
    """An explicit configuration: every field is given here or in ``BASE``."""
    n_in, *hidden, n_out = sizes
    v = dict(BASE, n_in=n_in, n_out=n_out, n_hidden=len(hidden), hidden_size=tuple(hidden))
    n_layers = len(hidden) + 1
    for k, x in BASE_LAYER.items():
        v[k] = (x,) * n_layers
    v.update(kw)
    return NetConfig(v)


#: Field values shared by the golden cases unless a case overrides them.
BASE = dict(weight_bits=8, state_bits=16, ticks_train=30, ticks_infer=30, burn_in=5, in_gain=52,
            in_refractory=0, label_period=5, syn_shift=2, mem_shift=2, dend_shift=3, i2v_shift=1,
            threshold=1024, refractory=3, noise_prob=6554, noise_weight=256, err_threshold=256,
            err_label_w=256, err_pred_w=256, fb_out=256, g_amp=256, readout=0, exit_margin=0)
BASE_LAYER = dict(w_shift=3, gate_lo=-8192, gate_hi=8192, lr_mult=1, lr_shift=8, init_amp=16,
                  p_transmit=256, p_infer=256)


def cases() -> dict[str, dict]:
    """The golden cases: configurations chosen so that every rule fires (spikes in every
    population, learning, saturation of weights and states, refractory periods, noise, blank-out,
    both readouts, early exits, the inference transmission)."""
    out = {}
    # 1. eRBP, one hidden layer, aggressive learning so weights saturate, noise, input refractory.
    c = explicit_config((12, 6, 3), ticks_train=40, ticks_infer=30, burn_in=4, in_gain=200, in_refractory=2,
             label_period=3, threshold=300, refractory=2, noise_prob=20000, noise_weight=150,
             err_threshold=200, err_label_w=180, err_pred_w=200, fb_out=900, g_amp=700,
             w_shift=(4, 4), lr_mult=(3, 5), lr_shift=(6, 5), init_amp=(60, 60),
             gate_lo=(-3000, -5000), gate_hi=(3000, 5000), readout=1)
    spec = dict(cfg=c, seed=7, samples=[(TRAIN, 0, 11), (TRAIN, 2, 12), (INFER, -1, 0),
                                        (TRAIN, 1, 13)])
    out["erbp_small"] = with_exit_at("erbp_small", spec, sample=2, tick=12)
    # 2. peRBP, two hidden layers, 4-bit weights, 8-bit states (state saturation).
    c = explicit_config((10, 8, 5, 4), weight_bits=4, state_bits=8, ticks_train=30, ticks_infer=20,
             burn_in=0, in_gain=250, label_period=2, syn_shift=1, mem_shift=1, dend_shift=2,
             i2v_shift=0, threshold=60, refractory=1, noise_prob=0, err_threshold=100,
             err_label_w=100, err_pred_w=70, fb_out=40, g_amp=12, w_shift=(3, 3, 3),
             lr_mult=(1, 2, 3), lr_shift=(2, 2, 2), init_amp=(7, 7, 7), gate_lo=(-100, -90, -80),
             gate_hi=(100, 90, 80), p_transmit=(100, 200, 30), exit_margin=2)
    out["perbp_deep_narrow"] = dict(cfg=c, seed=0xDEADBEEF,
                                    samples=[(TRAIN, 3, 0), (INFER, -1, 5), (TRAIN, 0, 1)])
    # 3. No hidden layer, 16-bit weights, 12-bit states, odd sizes (BLANK words straddle rows).
    c = explicit_config((9, 7), weight_bits=16, state_bits=12, ticks_train=25, ticks_infer=25, burn_in=2,
             in_gain=257, label_period=4, threshold=900, refractory=3, noise_prob=65536,
             noise_weight=-40, err_threshold=500, err_label_w=500, err_pred_w=499, fb_out=-3000,
             g_amp=0, w_shift=(0,), lr_mult=(32767,), lr_shift=(12,), init_amp=(3000,),
             gate_lo=(-1500,), gate_hi=(1800,), p_transmit=(129,), p_infer=(60,), readout=1)
    samples = [(TRAIN, 6, 0xFFFFFFFF), (INFER, -1, 3), (INFER, -1, 4), (INFER, -1, 5)]
    spec = dict(cfg=c, seed=0, samples=samples,
                pixels=[sample_pixels(c.n_in, "wide_nohidden", 0),
                        sample_pixels(c.n_in, "wide_nohidden", 1),
                        np.zeros(c.n_in, np.int64),  # no output current: every R ties at 0
                        sample_pixels(c.n_in, "wide_nohidden", 3)])
    # the input reaches the output in the tick it spikes: an exit at tick 0 or 1
    out["wide_nohidden"] = with_exit_at("wide_nohidden", spec, sample=3, tick=1)
    # 4. Three hidden layers, 10-bit weights, eRBP with large U (lr_shift 0 paths).
    c = explicit_config((16, 9, 7, 5, 3), weight_bits=10, ticks_train=35, ticks_infer=15, burn_in=5,
             in_gain=120, in_refractory=1, label_period=2, syn_shift=3, mem_shift=0,
             dend_shift=1, i2v_shift=2, threshold=200, refractory=0, noise_prob=3000,
             noise_weight=300, err_threshold=64, err_label_w=64, err_pred_w=64, fb_out=7000,
             g_amp=1600, w_shift=(2, 2, 2, 2), lr_mult=(1, 1, 2, 1), lr_shift=(9, 8, 10, 0),
             init_amp=(200, 200, 200, 200), gate_lo=(-20000,) * 4, gate_hi=(20000,) * 4,
             readout=1)
    out["erbp_three_hidden"] = dict(cfg=c, seed=123456789,
                                    samples=[(TRAIN, 1, 40), (TRAIN, 2, 41), (INFER, -1, 2)])
    # 5. MNIST-like parameters at a small size (explicit values: golden cases never depend on
    #    NetConfig.default, whose values may be re-tuned without a semantics change).
    mn = dict(ticks_train=40, ticks_infer=30, burn_in=5, in_gain=150, in_refractory=0,
              label_period=5, syn_shift=2, mem_shift=2, dend_shift=3, i2v_shift=1,
              threshold=1024, refractory=3, err_threshold=256, err_label_w=256, err_pred_w=256,
              fb_out=512, g_amp=256, w_shift=(4, 4), gate_lo=(-8192, -8192), gate_hi=(8192, 8192),
              lr_mult=(3, 5), lr_shift=(9, 9), init_amp=(40, 40))
    c = explicit_config((64, 16, 10), p_transmit=(166, 166), p_infer=(200, 128), noise_prob=0,
                        noise_weight=0, readout=1, **mn)
    spec = dict(cfg=c, seed=2024, samples=[(TRAIN, 4, 0), (INFER, -1, 1)])
    out["mnistlike_perbp_64"] = with_exit_at("mnistlike_perbp_64", spec, sample=1, tick=15)
    c = explicit_config((64, 16, 10), p_transmit=(256, 256), noise_prob=6554, noise_weight=256,
                        exit_margin=3, **mn)
    out["mnistlike_erbp_64"] = dict(cfg=c, seed=99, samples=[(TRAIN, 9, 5), (INFER, -1, 0),
                                                             (INFER, -1, 7)])
    # 7. The bounds themselves (cases 1-6 rarely land on one): 16-bit weights with init_amp >=
    #    16384 (UNIFORM's product exceeds 2^31), the largest g_amp for two classes; currents that
    #    saturate at smin and smax exactly where the gate (smin, smax) closes; V saturating under
    #    negative noise with the threshold at smax; noise_prob equal to a noise draw (r >> 16) of
    #    a neuron that is not refractory, and a pixel * in_gain equal to an input draw.
    seed, n0 = 31337, 2
    c = explicit_config((6, 5, 2), weight_bits=16, ticks_train=30, ticks_infer=20, burn_in=1,
             in_gain=257, in_refractory=0, label_period=2, syn_shift=3, mem_shift=4,
             dend_shift=4, i2v_shift=0, threshold=32767, refractory=1,
             noise_prob=draw16(seed, STREAM_NOISE << 8, n0, 0, 0), noise_weight=-300,
             err_threshold=100, err_label_w=100, err_pred_w=100, fb_out=20000, g_amp=8191,
             w_shift=(0, 0), lr_mult=(1, 3), lr_shift=(2, 1), init_amp=(30000, 20000),
             gate_lo=(-32768, -32768), gate_hi=(32767, 32767), readout=1,
             exit_margin=2**31 - 1)
    samples = [(TRAIN, 1, n0), (INFER, -1, 5), (TRAIN, 0, 12)]
    out["bounds_w16"] = dict(cfg=c, seed=seed, samples=samples,
                             pixels=[boundary_pixels("bounds_w16", i, c, seed, n, mode)
                                     for i, (mode, _, n) in enumerate(samples)])
    return out


def gaps(scores: np.ndarray) -> np.ndarray:
    """The exit check's gap of each row of scores: the highest minus the second highest."""
    s = np.sort(scores, axis=-1)
    return s[..., -1] - s[..., -2]


def with_exit_at(case: str, spec: dict, sample: int, tick: int) -> dict:
    """``spec`` with the exit_margin at which inference sample ``sample`` ends at tick ``tick``
    or later, exactly at a tick whose gap equals the margin (so that `>=` and `>` differ): the
    gap of the first tick >= ``tick`` that beats every earlier tick's gap. The trajectory up to
    that sample does not depend on the margin (training never exits)."""
    cfg = spec["cfg"].replace(exit_margin=0)
    net = Network.create(cfg, spec["seed"])
    for i, (mode, label, n) in enumerate(spec["samples"][: sample + 1]):
        px = spec["pixels"][i] if "pixels" in spec else sample_pixels(cfg.n_in, case, i)
        trace: list[np.ndarray] = []
        net.run_sample(px, label, mode, sample=n, on_tick=lambda x: trace.append(x.scores()))
    assert spec["samples"][sample][0] == INFER
    g = gaps(np.array(trace))
    for t in range(tick, len(g)):
        if g[t] > 0 and g[t] > g[:t].max(initial=0):
            return dict(spec, cfg=cfg.replace(exit_margin=int(g[t])))
    raise AssertionError(f"{case}: no gap record from tick {tick} on")


def draw16(seed: int, strm: int, sample: int, tick: int, index: int) -> int:
    """The upper 16 bits of DRAW(KEY(seed, strm, sample, tick), index): what the INPUT and NOISE
    streams compare with pixel * in_gain and noise_prob."""
    return rng.draw(rng.key(seed, strm, sample, tick), index) >> 16


def boundary_pixels(case: str, i: int, cfg: NetConfig, seed: int, sample: int,
                    mode: str) -> np.ndarray:
    """sample_pixels, except for the input j whose draw (r >> 16) is, at the earliest tick, a
    multiple p * in_gain with p <= 255: it gets pixel p, so that `<` and `<=` disagree there
    (in_refractory = 0: inputs are always ready)."""
    px = sample_pixels(cfg.n_in, case, i)
    ticks = cfg.ticks_train if mode == TRAIN else cfg.ticks_infer
    for t in range(ticks):
        for j in range(cfg.n_in):
            d = draw16(seed, STREAM_INPUT << 8, sample, t, j)
            if d % cfg.in_gain == 0 and d // cfg.in_gain <= 255:
                px[j] = d // cfg.in_gain
                return px
    raise AssertionError(f"{case}: no input draw of sample {i} is a multiple of in_gain")


def sample_pixels(n_in: int, case: str, i: int) -> np.ndarray:
    """Deterministic pixel patterns: a mix of zeros, mid values and 255 (seeded by the case)."""
    g = np.random.default_rng(sum(map(ord, case)) * 1000 + i)
    px = g.integers(0, 256, n_in)
    px[g.random(n_in) < 0.3] = 0
    px[g.random(n_in) < 0.15] = 255
    return px.astype(np.int64)


def run_case(name: str, spec: dict) -> tuple[dict, bytes, bytes, list[dict[str, np.ndarray]]]:
    """Run one case; returns (manifest, model-file bytes, record bytes, snapshots)."""
    cfg, seed = spec["cfg"], spec["seed"]
    net = Network.create(cfg, seed)
    model = modelfile.dumps(net)
    snaps: list[dict[str, np.ndarray]] = []
    samples = []
    results = []
    for i, (mode, label, index) in enumerate(spec["samples"]):
        px = spec["pixels"][i] if "pixels" in spec else sample_pixels(cfg.n_in, name, i)
        samples.append(dict(mode=mode, label=label, index=index, pixels=px.tolist()))
        r = net.run_sample(px, label, mode, sample=index, on_tick=lambda n: snaps.append(n.snapshot()))
        results.append(dict(prediction=r.prediction, counts=r.counts.tolist(), events=r.events,
                            ticks=r.ticks))
    keys = list(snaps[0].keys())
    manifest = dict(
        name=name, semantics_version=SEMANTICS_VERSION, seed=seed, config_words=cfg.to_words(),
        config=cfg.as_dict(), samples=samples, results=results,
        keys=[dict(name=k, shape=list(snaps[0][k].shape)) for k in keys],
        records=len(snaps),
        ticks=[r["ticks"] for r in results],
    )
    blob = b"".join(np.concatenate([s[k].ravel() for k in keys]).astype("<i4").tobytes()
                    for s in snaps)
    return manifest, model, blob, snaps


def coverage(snaps: list[dict[str, np.ndarray]], cfg: NetConfig, manifest: dict
             ) -> dict[str, bool]:
    """Which behaviours a case exercised (the generator asserts the suite covers all of them)."""
    H = cfg.n_hidden
    infer, exits, row = [], [], 0
    for s, r in zip(manifest["samples"], manifest["results"]):
        scores = np.array([x["R"] if cfg.readout else x[f"count{H}"]
                           for x in snaps[row: row + r["ticks"]]])
        row += r["ticks"]
        if s["mode"] == INFER:
            infer.append(scores)
            if r["ticks"] < cfg.ticks_infer:
                exits.append(r["ticks"])
    m = cfg.exit_margin
    top2 = [np.sort(x, axis=1)[:, -3:] for x in infer if m and cfg.n_out >= 3]
    cov = {
        "spikes_every_population": all(any(s[f"spk{p}"].any() for s in snaps) for p in range(H + 1)),
        "weights_changed": any((a["W0"] != b["W0"]).any() for a, b in zip(snaps, snaps[1:])),
        "weight_saturated": any(((s[f"W{l}"] == cfg.w_max) | (s[f"W{l}"] == cfg.w_min)).any()
                                for s in snaps for l in range(cfg.n_layers)),
        "state_saturated": any(((s[f"{v}{p}"] == cfg.s_max) | (s[f"{v}{p}"] == cfg.s_min)).any()
                               for s in snaps for p in range(H + 1) for v in "IVU"),
        "error_spikes": any(s["ep_spk"].any() for s in snaps)
        and any(s["en_spk"].any() for s in snaps),
        "negative_U": any((s[f"U{p}"] < 0).any() for s in snaps for p in range(H + 1)),
        "refractory": any((s[f"ref{p}"] > 0).any() for s in snaps for p in range(H + 1)),
        "readout_count": cfg.readout == 0 and bool(infer),
        "readout_sum": cfg.readout == 1 and bool(infer),
        "readout_sum_tie": cfg.readout == 1 and any((x[-1] == x[-1].max()).sum() > 1
                                                    for x in infer),
        "early_exit": bool(exits),
        "exit_at_tick_0_or_1": any(t <= 2 for t in exits),
        "exit_gap_equals_margin": any(gaps(x[-1]) == m for x in infer if m and len(x) < cfg.ticks_infer),
        # two leaders tie at an exit check while the third trails by the margin or more: a check
        # that skipped the tie (second = the next lower score) would exit there
        "exit_check_tie": any(((t[:, 2] == t[:, 1]) & (t[:, 2] - t[:, 0] >= m)).any()
                              for t in top2),
        "p_infer_differs": any(p != q and q < 256 for p, q in zip(cfg.p_transmit, cfg.p_infer))
        and bool(infer),
        "p_infer_256_perbp": any(p < 256 and q == 256 for p, q in zip(cfg.p_transmit, cfg.p_infer))
        and bool(infer),
    }
    return cov


def write_all(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    total: dict[str, bool] = {}
    index = []
    for name, spec in cases().items():
        manifest, model, blob, snaps = run_case(name, spec)
        (outdir / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (outdir / f"{name}.erbp").write_bytes(model)
        (outdir / f"{name}.bin").write_bytes(blob)
        cov = coverage(snaps, spec["cfg"], manifest)
        for k, v in cov.items():
            total[k] = total.get(k, False) or v
        index.append(name)
        print(f"{name}: {manifest['records']} ticks, {len(blob)} bytes, coverage {cov}")
    missing = [k for k, v in total.items() if not v]
    if missing:
        raise SystemExit(f"golden vectors do not exercise {missing}")
    (outdir / "index.json").write_text(json.dumps(dict(semantics_version=SEMANTICS_VERSION,
                                                       cases=index), indent=1) + "\n")


if __name__ == "__main__":
    write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/golden"))
