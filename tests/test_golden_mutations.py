"""The golden vectors catch every plausible misreading of docs/semantics.md, on their own.

Each mutant below is the reference with one rule misread the way an implementer writing from the
document could misread it: a comparison (`<` for `<=` at the learning gate, both sides; the noise,
input, transmission and rounding draws; spike and error thresholds), a rounding (DECAY, ASR, SRS,
UNIFORM, the zero-sum remainder of G), an order of events (learning after transmission, no
one-tick delay, inputs delayed, error neurons before the output, leak after the jump), the
refractory rules, the label period, the error-neuron reset, the per-sample reset and counters, the
readout sums, the early exit and the inference transmission (semantics version 2).
A mutant is made by editing the reference's source text in a temporary copy (so the reference
stays written like the specification) and is replayed against tests/golden exactly as an engine
is: the network created from the case's configuration and seed must equal NAME.erbp, and the
network loaded from NAME.erbp must reproduce NAME.bin tick by tick and the per-sample results.
The test asserts that every mutant is caught; the reference's range checks and its zero-sum
assertion are switched off, so a mutant is caught by the vectors alone, as an engine would be.

    python tests/test_golden_mutations.py      # the table: which cases catch which mutant
"""
from __future__ import annotations

import importlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
REFERENCE = ROOT / "reference"


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: tuple[tuple[str, str, str], ...]  # (file in reference/, text, replacement); each
    why: str                                 # text occurs exactly once in its file


def m(name: str, file: str, why: str, *edits: tuple[str, ...]) -> Mutant:
    """A mutant; an edit (text, replacement) is in ``file``, (other_file, text, replacement)
    elsewhere."""
    return Mutant(name, tuple(e if len(e) == 3 else (file, *e) for e in edits), why)


NET, INT, RNG = "network.py", "intmath.py", "rng.py"

MUTANTS: tuple[Mutant, ...] = (
    # --- comparisons -------------------------------------------------------------------------
    m("gate_lo_inclusive", NET, "gate_lo <= I (the gate is strict on both sides)",
      ("(c.gate_lo[l] < pop.I)", "(c.gate_lo[l] <= pop.I)")),
    m("gate_hi_inclusive", NET, "I <= gate_hi",
      ("(pop.I < c.gate_hi[l])", "(pop.I <= c.gate_hi[l])")),
    m("noise_inclusive", NET, "noise iff (r >> 16) <= noise_prob",
      ("(r.astype(I64) >> 16) < c.noise_prob", "(r.astype(I64) >> 16) <= c.noise_prob")),
    m("input_inclusive", NET, "input spike iff (r >> 16) <= pixel * in_gain",
      ("(r.astype(I64) >> 16) < self.pixels * c.in_gain",
       "(r.astype(I64) >> 16) <= self.pixels * c.in_gain")),
    m("blank_inclusive", NET, "transmit iff byte <= p_transmit",
      ("(byte < self._p(l))", "(byte <= self._p(l))")),
    m("spike_strict", NET, "spike iff V > threshold",
      ("(v >= c.threshold)", "(v > c.threshold)")),
    m("error_spike_strict", NET, "error neuron spikes iff e > err_threshold",
      ("spk = x >= thr", "spk = x > thr")),
    m("burn_in_strict", NET, "learning from t > burn_in",
      ("t >= c.burn_in", "t > c.burn_in")),
    m("srs_inclusive", INT, "SRS rounds up iff (r & mask) <= (q & mask)",
      ("(r.astype(I64) & mask) < (q & mask)", "(r.astype(I64) & mask) <= (q & mask)")),
    m("srs_high_bits", INT, "SRS compares the top k bits of r, not the low k bits",
      ("(r.astype(I64) & mask) < (q & mask)", "(r.astype(I64) >> (32 - k)) < (q & mask)")),
    # --- roundings ---------------------------------------------------------------------------
    m("decay_asr", INT, "DECAY(x, k) = x - ASR(x, k) (floor of x/2^k, not ceil of |x|/2^k)",
      ("    mag = np.abs(x)\n    leak = (mag + ((1 << k) - 1)) >> k\n"
       "    return x - np.sign(x) * leak", "    return x - (x >> k)")),
    m("decay_trunc", INT, "DECAY(x, k) = x - trunc(x / 2^k)",
      ("    mag = np.abs(x)\n    leak = (mag + ((1 << k) - 1)) >> k\n"
       "    return x - np.sign(x) * leak", "    return x - np.sign(x) * (np.abs(x) >> k)")),
    m("decay_floor_value", INT, "DECAY rounds the decayed value toward minus infinity",
      ("    mag = np.abs(x)\n    leak = (mag + ((1 << k) - 1)) >> k\n"
       "    return x - np.sign(x) * leak", "    return x + ((-x) >> k)")),
    m("asr_trunc", INT, "ASR truncates toward zero (C's / or >> on the magnitude)",
      ("return np.right_shift(x, k)", "return np.sign(x) * (np.abs(x) >> k)")),
    m("srs_sign_magnitude", INT, "SRS rounds |q| and restores the sign",
      ("return (q >> k) + ((r.astype(I64) & mask) < (q & mask)).astype(I64)",
       "a = np.abs(q)\n"
       "    return np.sign(q) * ((a >> k) + ((r.astype(I64) & mask) < (a & mask)))")),
    m("uniform_round", RNG, "UNIFORM rounds the product to nearest",
      ("* (2 * amp + 1)) >> 16) - amp", "* (2 * amp + 1) + 32768) >> 16) - amp")),
    m("uniform_full_draw", RNG, "UNIFORM scales all 32 bits of r: (r * (2a+1)) >> 32",
      ("(((r.astype(np.int64) >> 16) * (2 * amp + 1)) >> 16) - amp",
       "((r.astype(np.int64) * (2 * amp + 1)) >> 32) - amp")),
    m("uniform_modulo", RNG, "UNIFORM = r mod (2a+1) - a",
      ("(((r.astype(np.int64) >> 16) * (2 * amp + 1)) >> 16) - amp",
       "(r.astype(np.int64) % (2 * amp + 1)) - amp")),
    m("uniform_int32_product", RNG, "UNIFORM's product in a signed 32-bit int (it wraps when "
      "init_amp >= 16384), the weight then saturated like every weight write",
      ("(((r.astype(np.int64) >> 16) * (2 * amp + 1)) >> 16) - amp",
       "((((r.astype(np.int64) >> 16) * (2 * amp + 1) + 2**31) % 2**32 - 2**31) >> 16) - amp"),
      (NET, "return w.reshape(n_pre, n_post)",
       "return sat(w, cfg.w_min, cfg.w_max).reshape(n_pre, n_post)")),
    m("g_remainder_last_classes", NET, "the zero-sum remainder goes to the highest classes",
      ("(np.arange(n_c)[:, None] < rem[None, :])",
       "(np.arange(n_c)[:, None] >= n_c - rem[None, :])")),
    m("g_truncated_mean", NET, "the mean of G is taken with truncating division (C's / and %)",
      ("m = s // n_c", "m = np.trunc(s / n_c).astype(I64)")),
    m("init_w_column_major", NET, "initial weight draw index i * n_pre + j",
      ("return w.reshape(n_pre, n_post)", "return w.reshape(n_post, n_pre).T.copy()")),
    m("init_g_column_major", NET, "initial G draw index i * n_out + k",
      (".reshape(n_c, n_h)", ".reshape(n_h, n_c).T")),
    m("dw_not_saturated", NET, "the update dw_i is not saturated to the weight range",
      ("dw = sat(stochastic_round_shift(q, c.lr_shift[l], r), c.w_min, c.w_max)",
       "dw = stochastic_round_shift(q, c.lr_shift[l], r)")),
    # --- orders and delays -------------------------------------------------------------------
    m("learn_after_transmit", NET, "the old weight is transmitted, then updated",
      ("            rows = sat(rows + dw[None, :], c.w_min, c.w_max)\n            W[pre] = rows",
       "            W[pre] = sat(rows + dw[None, :], c.w_min, c.w_max)")),
    m("no_population_delay", NET, "population p's spikes reach layer p+1 in the same tick",
      ("        acc = [self._deliver(l, t, dw[l]) for l in range(c.n_layers)]\n", ""),
      ("            self._neurons(p, t, acc[p])",
       "            self._neurons(p, t, self._deliver(p, t, dw[p]))")),
    m("input_delay", NET, "input spikes are delivered one tick after they are drawn",
      ("        self._input_spikes(t)\n", ""),
      ("        acc = [self._deliver(l, t, dw[l]) for l in range(c.n_layers)]\n",
       "        acc = [self._deliver(l, t, dw[l]) for l in range(c.n_layers)]\n"
       "        self._input_spikes(t)\n")),
    m("errors_before_output", NET, "phase 5 runs before phase 4 (errors see last tick's output)",
      ("        for p in range(c.n_layers):\n            self._neurons(p, t, acc[p])\n",
       "        if train:\n            self._errors_and_feedback(t)\n"
       "        for p in range(c.n_layers):\n            self._neurons(p, t, acc[p])\n"),
      ("        if train:\n            self._errors_and_feedback(t)\n        self.tick_no",
       "        self.tick_no")),
    m("I_leak_after_jump", NET, "I = DECAY(I + acc * gain)",
      ("sat(decay(pop.I, c.syn_shift) + acc * (1 << c.w_shift[p]), c.s_min, c.s_max)",
       "sat(decay(pop.I + acc * (1 << c.w_shift[p]), c.syn_shift), c.s_min, c.s_max)")),
    m("V_leak_after_jump", NET, "V = DECAY(V + ASR(I) + noise)",
      ("sat(decay(pop.V, c.mem_shift) + asr(pop.I, c.i2v_shift) + noise, c.s_min, c.s_max)",
       "sat(decay(pop.V + asr(pop.I, c.i2v_shift) + noise, c.mem_shift), c.s_min, c.s_max)")),
    m("V_reads_old_I", NET, "V integrates I from before this tick's update",
      ("        pop.I = sat(", "        I_old = pop.I\n        pop.I = sat("),
      ("asr(pop.I, c.i2v_shift)", "asr(I_old, c.i2v_shift)")),
    m("noise_after_saturation", NET, "V is saturated before the noise is added, then again",
      ("sat(decay(pop.V, c.mem_shift) + asr(pop.I, c.i2v_shift) + noise, c.s_min, c.s_max)",
       "sat(sat(decay(pop.V, c.mem_shift) + asr(pop.I, c.i2v_shift), c.s_min, c.s_max) + noise,"
       " c.s_min, c.s_max)")),
    m("U_leak_after_jump", NET, "U = DECAY(U + feedback)",
      ("sat(decay(pop.U, c.dend_shift) + e @ self.G[h], c.s_min, c.s_max)",
       "sat(decay(pop.U + e @ self.G[h], c.dend_shift), c.s_min, c.s_max)"),
      ("sat(decay(out.U, c.dend_shift) + e * c.fb_out, c.s_min, c.s_max)",
       "sat(decay(out.U + e * c.fb_out, c.dend_shift), c.s_min, c.s_max)")),
    # --- refractory periods ------------------------------------------------------------------
    m("refractory_short", NET, "a neuron is silent for refractory - 1 ticks",
      ("np.where(spk, c.refractory, 0)", "np.where(spk, max(c.refractory - 1, 0), 0)")),
    m("refractory_long", NET, "a neuron is silent for refractory + 1 ticks",
      ("np.where(spk, c.refractory, 0)", "np.where(spk, c.refractory + 1, 0)")),
    m("refractory_V_integrates", NET, "V integrates during the refractory period (no spike)",
      ("pop.V = np.where(refr | spk, 0, v)", "pop.V = np.where(spk, 0, v)")),
    m("refractory_freezes_I", NET, "I does not integrate during the refractory period",
      ("pop.I = sat(decay(pop.I, c.syn_shift) + acc * (1 << c.w_shift[p]), c.s_min, c.s_max)",
       "pop.I = np.where(pop.ref > 0, pop.I, sat(decay(pop.I, c.syn_shift) + acc * "
       "(1 << c.w_shift[p]), c.s_min, c.s_max))")),
    m("input_refractory_short", NET, "an input is silent for in_refractory - 1 ticks",
      ("np.where(spk, c.in_refractory, 0)", "np.where(spk, max(c.in_refractory - 1, 0), 0)")),
    # --- label, error neurons, feedback ------------------------------------------------------
    m("label_period_end", NET, "the label spikes at the end of each period",
      ("if t % c.label_period == 0:", "if t % c.label_period == c.label_period - 1:")),
    m("errors_in_inference", NET, "error neurons and feedback run in inference (label silent)",
      ("        if train:\n            self._errors_and_feedback(t)\n",
       "        self._errors_and_feedback(t)\n"),
      ("if t % c.label_period == 0:", "if self.mode == TRAIN and t % c.label_period == 0:")),
    m("error_reset_to_zero", NET, "an error neuron resets to 0 (not by subtraction)",
      ("x = np.where(spk, x - thr, np.maximum(x, 0))", "x = np.where(spk, 0, np.maximum(x, 0))")),
    m("error_not_rectified", NET, "error neurons are not rectified at 0",
      ("x = np.where(spk, x - thr, np.maximum(x, 0))", "x = np.where(spk, x - thr, x)")),
    # --- transmission (peRBP) ------------------------------------------------------------------
    m("blank_skips_learning", NET, "a blanked synapse does not learn",
      ("        rows = W[pre]\n        if dw is not None:\n"
       "            rows = sat(rows + dw[None, :], c.w_min, c.w_max)\n            W[pre] = rows\n"
       "        if self._p(l) < P_ONE:\n"
       "            rows = rows * self._transmit_mask(l, t, pre, n_post)\n"
       "        return rows.sum(axis=0)",
       "        rows = W[pre]\n"
       "        mk = self._transmit_mask(l, t, pre, n_post) if self._p(l) < P_ONE else 1\n"
       "        if dw is not None:\n"
       "            rows = np.where(mk == 1, sat(rows + dw[None, :], c.w_min, c.w_max), rows)\n"
       "            W[pre] = rows\n"
       "        return (rows * mk).sum(axis=0)")),
    m("blank_index_flat", NET, "BLANK draw index (j * n_post + i) >> 2 (words run across rows)",
      ("idx = pre[:, None] * words + (post // 4)[None, :]",
       "flat = pre[:, None] * n_post + post[None, :]\n        idx = flat // 4"),
      ("byte = (r >> (8 * (post % 4))[None, :]) & 0xFF", "byte = (r >> (8 * (flat % 4))) & 0xFF")),
    m("blank_byte_order", NET, "byte i & 3 of the BLANK draw counted from the top",
      ("byte = (r >> (8 * (post % 4))[None, :]) & 0xFF",
       "byte = (r >> (8 * (3 - post % 4))[None, :]) & 0xFF")),
    m("events_transmitted_only", NET, "synaptic events count transmitted synapses only",
      ("        self.events += pre.size * n_post\n",
       "        self.events += pre.size * n_post if self._p(l) >= P_ONE or not pre.size "
       "else int(self._transmit_mask(l, t, pre, n_post).sum())\n")),
    # --- samples -------------------------------------------------------------------------------
    m("events_cumulative", NET, "the event count is not reset at the start of a sample",
      ("        self.tick_no = 0\n        self.events = 0\n", "        self.tick_no = 0\n")),
    m("state_carried_over", NET, "dynamic state carries over from sample to sample",
      ("        self._skeys = {}\n        self.reset_state()",
       "        self._skeys = {}\n        self.tick_no = 0\n        self.events = 0\n"
       "        if not self.pops:\n            self.reset_state()")),
    m("train_index_is_samples_seen", NET, "a training sample is keyed by samples_seen, not n",
      ("        if sample is None:\n", "        if sample is None or mode == TRAIN:\n")),
    m("noise_only_in_training", NET, "membrane noise is off in inference",
      ("        if c.noise_prob:\n", "        if c.noise_prob and self.mode == TRAIN:\n")),
    m("prediction_tie_highest", NET, "a tie predicts the highest index",
      ("return int(np.argmax(scores))", "return int(len(scores) - 1 - np.argmax(scores[::-1]))")),
    # --- the readout and the early exit (semantics version 2) ----------------------------------
    m("readout_before_I_update", NET, "R accumulates the output's I from before this tick's update",
      ("        for p in range(c.n_layers):\n            self._neurons(p, t, acc[p])\n"
       "        self._readout()\n",
       "        self._readout()\n"
       "        for p in range(c.n_layers):\n            self._neurons(p, t, acc[p])\n")),
    m("readout_cumulative", NET, "the readout sums are not reset at the start of a sample",
      ("        self.R = np.zeros(c.n_out, dtype=I64)\n",
       "        self.R = self.R if self.R.size else np.zeros(c.n_out, dtype=I64)\n")),
    m("readout_ignored", NET, "the prediction is always the spike count's (readout 1 unused)",
      ("prediction=predict(self.scores())", "prediction=predict(self.pops[-1].count)")),
    m("exit_strict", NET, "the sample ends when the gap is > exit_margin (not >=)",
      ("return int(s[-1]) - int(s[-2]) >= c.exit_margin",
       "return int(s[-1]) - int(s[-2]) > c.exit_margin")),
    m("exit_tie_skipped", NET, "the second score is the highest score below the top (a tie of "
      "two leaders is not a gap of 0)",
      ("s = np.sort(self.scores())",
       "s = np.unique(self.scores())\n        s = np.concatenate([s[:1], s])")),
    m("exit_in_training", NET, "the early exit also ends training samples",
      ("if self.mode != INFER or c.exit_margin == 0:", "if c.exit_margin == 0:")),
    m("exit_margin_zero_exits", NET, "exit_margin 0 exits at once (instead of: no early exit)",
      ("if self.mode != INFER or c.exit_margin == 0:", "if self.mode != INFER:")),
    m("exit_one_tick_late", NET, "the sample ends one tick after the check fires",
      ("        hidden_spikes = input_spikes = 0\n",
       "        hidden_spikes = input_spikes = 0\n        stop = False\n"),
      ("            if self.exit_reached():\n                break\n",
       "            if stop:\n                break\n            stop = self.exit_reached()\n")),
    m("p_infer_in_training", NET, "p_infer also applies in train mode",
      ("return self.cfg.p_transmit[l] if self.mode == TRAIN else self.cfg.p_infer[l]",
       "return self.cfg.p_infer[l]")),
    m("p_transmit_in_inference", NET, "inference uses p_transmit (p_infer unused)",
      ("return self.cfg.p_transmit[l] if self.mode == TRAIN else self.cfg.p_infer[l]",
       "return self.cfg.p_transmit[l]")),
)

# Switched off in every mutant, so that only the vectors catch it (an engine has neither).
_UNGUARD = {
    NET: (("    assert not g.sum(axis=0).any()\n", ""),),
}


# --- making and replaying a mutant ------------------------------------------------------------
def _edit(text: str, old: str, new: str, where: str) -> str:
    n = text.count(old)
    if n != 1:
        raise AssertionError(f"{where}: the text to replace occurs {n} times: {old!r}")
    return text.replace(old, new)


def build(mutant: Mutant | None, into: Path) -> Path:
    """A copy of reference/ with the mutant's edits (None: unchanged) in ``into``; its path."""
    pkg = into / "mutref"
    shutil.copytree(REFERENCE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for file, edits in _UNGUARD.items():
        p = pkg / file
        text = p.read_text()
        for old, new in edits:
            text = _edit(text, old, new, file)
        p.write_text(text)
    for file, old, new in mutant.edits if mutant is not None else ():
        p = pkg / file
        p.write_text(_edit(p.read_text(), old, new, mutant.name))
    return pkg


def load(mutant: Mutant | None, into: Path):
    """Import the mutated copy as a package; returns (Network, NetConfig, modelfile)."""
    build(mutant, into)
    for k in [k for k in sys.modules if k == "mutref" or k.startswith("mutref.")]:
        del sys.modules[k]
    sys.path.insert(0, str(into))
    try:
        importlib.invalidate_caches()
        net = importlib.import_module("mutref.network")
        cfg = importlib.import_module("mutref.config")
        mf = importlib.import_module("mutref.modelfile")
    finally:
        sys.path.remove(str(into))
    return net.Network, cfg.NetConfig, mf


def cases(golden: Path = GOLDEN) -> list[str]:
    return json.loads((golden / "index.json").read_text())["cases"]


def differences(mods, name: str, golden: Path = GOLDEN) -> Iterator[str]:
    """Where a (mutated) reference departs from golden case ``name``: the initial network, each
    tick's full state, each sample's result. Yields one line per difference (the first per
    kind of check)."""
    Network, NetConfig, mf = mods
    manifest = json.loads((golden / f"{name}.json").read_text())
    model = (golden / f"{name}.erbp").read_bytes()
    keys = [k["name"] for k in manifest["keys"]]
    records = np.frombuffer((golden / f"{name}.bin").read_bytes(), "<i4").reshape(
        manifest["records"], -1)
    created = Network.create(NetConfig.from_words(manifest["config_words"]), manifest["seed"])
    created.check = False
    if mf.dumps(created) != model:
        yield "initial network differs from NAME.erbp"
    net = mf.loads(model)
    net.check = False
    row = 0
    for s, (smp, want) in enumerate(zip(manifest["samples"], manifest["results"])):
        recs: list[np.ndarray] = []
        res = net.run_sample(np.array(smp["pixels"]), smp["label"], smp["mode"],
                             sample=smp["index"],
                             on_tick=lambda n: recs.append(np.concatenate(
                                 [n.snapshot()[k].ravel() for k in keys])))
        got = np.array(recs)
        ticks = manifest["ticks"][s]
        if got.shape != records[row:row + ticks].shape:
            yield f"sample {s}: {got.shape[0]} ticks, golden {ticks}"
            return
        bad = np.argwhere(got != records[row:row + ticks])
        if len(bad):
            yield f"sample {s} tick {int(bad[0][0])}: state differs"
            return
        if dict(prediction=res.prediction, counts=res.counts.tolist(), events=res.events,
                ticks=res.ticks) != want:
            yield f"sample {s}: result differs"
            return
        row += ticks


def catchers(mutant: Mutant | None, tmp: Path, first_only: bool,
             golden: Path = GOLDEN) -> dict[str, str]:
    """{case: first difference} over the golden cases (stopping at the first when first_only)."""
    mods = load(mutant, tmp)
    out = {}
    for name in cases(golden):
        why = next(differences(mods, name, golden), None)
        if why:
            out[name] = why
            if first_only:
                break
    return out


# --- tests ----------------------------------------------------------------------------------------
def test_the_unmutated_copy_reproduces_every_case(tmp_path):
    assert catchers(None, tmp_path, first_only=False) == {}


def test_mutant_names_are_unique():
    assert len({x.name for x in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda x: x.name)
def test_the_golden_vectors_catch_the_mutant(mutant, tmp_path):
    caught = catchers(mutant, tmp_path, first_only=True)
    assert caught, f"no golden case catches {mutant.name}: {mutant.why}"


def main(golden: Path = GOLDEN) -> None:
    names = cases(golden)
    print(f"{'mutant':26s} caught by ({len(names)} cases: " + ", ".join(names) + ")")
    survivors = []
    with tempfile.TemporaryDirectory() as d:
        for i, mu in enumerate(MUTANTS):
            sub = Path(d) / str(i)
            sub.mkdir()
            got = catchers(mu, sub, first_only=False, golden=golden)
            if not got:
                survivors.append(mu.name)
            print(f"{mu.name:26s} {len(got)}: " + (", ".join(got) if got else "NOT CAUGHT"))
    print(f"{len(MUTANTS) - len(survivors)} of {len(MUTANTS)} mutants caught"
          + (f"; not caught: {', '.join(survivors)}" if survivors else ""))
    print("command: python tests/test_golden_mutations.py" + ("" if golden == GOLDEN else
                                                           f" {golden}"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN)
