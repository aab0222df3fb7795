"""Constants of the eRBP integer semantics (docs/semantics.md).

Everything here is normative: the C library (cport/include/erbp_params.h, generated from
:mod:`erbp.reference.params`) and the MicroPython port repeat these numbers, and the golden
vectors in tests/golden/ pin them.
"""

#: Version of docs/semantics.md. Any change to a rule, a constant or an order of events bumps it.
#: Model files record it; every engine refuses a model of another semantics version.
SEMANTICS_VERSION = 2

#: Largest number of hidden layers a network may have (fixed so that the model-file header and
#: the C configuration struct have a fixed size).
MAX_HIDDEN = 4
#: Number of weight layers (connections into hidden layers 0..MAX_HIDDEN-1, then the output).
MAX_LAYERS = MAX_HIDDEN + 1

# --- the counter-based random function (semantics.md section "Randomness") -----------------
MIX_M1 = 0x21F0AAAD
MIX_M2 = 0x735A2D97
GOLDEN = 0x9E3779B9
KEY_IV = 0x6A09E667
MASK32 = 0xFFFFFFFF

# Stream kinds. A stream id is (kind << 8) | sub, where sub is a layer or population index.
STREAM_INPUT = 1  #: input-pixel spikes, index = input neuron
STREAM_NOISE = 2  #: eRBP membrane noise, sub = population, index = neuron
STREAM_ROUND = 3  #: stochastic rounding of the update, sub = layer, index = post neuron
STREAM_BLANK = 4  #: peRBP transmission draws, sub = layer, index = pre * ceil(n_post/4) + post//4
STREAM_INIT_W = 5  #: initial weights, sub = layer, index = pre * n_post + post
STREAM_INIT_G = 6  #: initial feedback matrix G, sub = hidden layer, index = class * n_hidden + i

#: The bound of an output's readout sum R (semantics.md section 1.6): |R| <= 32768 * 65535, the
#: largest |I| times the most ticks of a sample; it fits a signed 32-bit integer.
READOUT_BOUND = 32768 * 65535

#: transmission probability denominator for peRBP (p_transmit / 256)
P_ONE = 256
#: probability denominator for pixel rates and noise (x / 65536)
PROB_ONE = 65536
