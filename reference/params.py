"""The configuration of an eRBP network: one flat table of named 32-bit integer parameters.

This table is the single source of the configuration layout. The model file stores the values in
this order (docs/semantics.md, "Model file"), and ``python -m erbp.reference.gen_c_header`` writes
the same table into ``cport/include/erbp_params.h`` (a test checks that file is up to date).

hidden_size has MAX_HIDDEN slots (one per hidden layer). Per-layer parameters have MAX_LAYERS slots: slot l < n_hidden configures the connection into hidden
layer l (from the input for l = 0, from hidden layer l-1 otherwise); slot n_hidden configures the
connection into the output layer. Unused slots must be 0.
"""
from __future__ import annotations

from dataclasses import dataclass

from .constants import MAX_HIDDEN, MAX_LAYERS


@dataclass(frozen=True)
class Field:
    name: str
    lo: int
    hi: int
    doc: str
    per_layer: bool = False
    per_hidden: bool = False

    @property
    def slots(self) -> int:
        """Words this field takes in a serialised configuration."""
        return MAX_LAYERS if self.per_layer else MAX_HIDDEN if self.per_hidden else 1


# Ranges are inclusive. Cross-field rules are in NetConfig.validate (and erbp_config_check in C).
FIELDS: tuple[Field, ...] = (
    Field("n_in", 1, 4096, "input neurons (pixels)"),
    Field("n_out", 2, 64, "output neurons = classes; also the number of error-neuron pairs"),
    Field("n_hidden", 0, MAX_HIDDEN, "number of hidden layers"),
    Field("hidden_size", 1, 4096, "neurons in each hidden layer (MAX_HIDDEN slots, unused ones 0)",
          per_hidden=True),
    Field("weight_bits", 2, 16, "weight width w: weights live in [-2^(w-1), 2^(w-1)-1]"),
    Field("state_bits", 8, 16, "state width s: I, V, U saturate to [-2^(s-1), 2^(s-1)-1]"),
    Field("ticks_train", 1, 65535, "ticks per sample in training mode"),
    Field("ticks_infer", 1, 65535, "ticks per sample in inference mode"),
    Field("burn_in", 0, 65535, "no learning in ticks t < burn_in of a training sample"),
    Field("in_gain", 0, 257, "input spike probability per tick = pixel * in_gain / 65536"),
    Field("in_refractory", 0, 255, "ticks an input neuron stays silent after a spike"),
    Field("label_period", 1, 255, "the label neuron spikes at ticks t with t % label_period == 0"),
    Field("syn_shift", 0, 15, "synaptic current leak: I decays by (1 - 2^-syn_shift) per tick"),
    Field("mem_shift", 0, 15, "membrane leak: V decays by (1 - 2^-mem_shift) per tick"),
    Field("dend_shift", 0, 15, "dendrite leak: U decays by (1 - 2^-dend_shift) per tick"),
    Field("i2v_shift", 0, 15, "V integrates ASR(I, i2v_shift) per tick"),
    Field("threshold", 1, 32767, "a neuron spikes when V >= threshold"),
    Field("refractory", 0, 255, "ticks a neuron stays silent (V held at 0) after a spike"),
    Field("noise_prob", 0, 65536, "eRBP noise: probability per tick * 65536 that V gets noise_weight"),
    Field("noise_weight", -32768, 32767, "eRBP noise jump added to V"),
    Field("err_threshold", 1, 32767, "error neurons spike when their state >= err_threshold"),
    Field("err_label_w", 0, 32767, "jump of E+ (and -jump of E-) per label spike"),
    Field("err_pred_w", 0, 32767, "jump of E- (and -jump of E+) per output spike"),
    Field("fb_out", -32768, 32767, "one-to-one feedback: output U_k += fb_out per E+_k spike, -= per E-_k"),
    Field("g_amp", 0, 32767, "initial G drawn uniform in [-g_amp, g_amp], then made zero-sum per hidden neuron"),
    Field("w_shift", 0, 15, "transmission gain: I += (sum of weights) * 2^w_shift", per_layer=True),
    Field("gate_lo", -32768, 32767, "boxcar: learning when gate_lo < I < gate_hi", per_layer=True),
    Field("gate_hi", -32768, 32767, "boxcar upper bound (exclusive)", per_layer=True),
    Field("lr_mult", 0, 32767, "update dw = SRS(U * lr_mult, lr_shift)", per_layer=True),
    Field("lr_shift", 0, 30, "learning-rate shift", per_layer=True),
    Field("init_amp", 0, 32767, "initial weights uniform in [-init_amp, init_amp]", per_layer=True),
    Field("p_transmit", 0, 256, "peRBP: a synapse transmits with probability p_transmit/256", per_layer=True),
    Field("readout", 0, 1, "score of output k: 0 its spike count, 1 its readout sum R_k (sum of I_k over the ticks)"),
    Field("exit_margin", 0, 2**31 - 1, "infer mode: stop after a tick whose top score leads the second by >= exit_margin; 0 off"),
    Field("p_infer", 0, 256, "infer mode: a synapse transmits with probability p_infer/256 (train: p_transmit)", per_layer=True),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}


def word_count() -> int:
    """Number of int32 words of a serialised configuration."""
    return sum(f.slots for f in FIELDS)


def field_offsets() -> dict[str, int]:
    """Word offset of every field in the serialised configuration."""
    out, off = {}, 0
    for f in FIELDS:
        out[f.name] = off
        off += f.slots
    return out
