# erbp_mp -- eRBP learning on MicroPython, bit-exact with the erbp reference engine.
#
# Implements docs/semantics.md (integer semantics version 2): the same model file as
# erbp.reference.modelfile (load, validate, save byte for byte), samples in train and infer mode
# (the readout, the early exit, the inference transmission), predictions, output spike counts,
# synaptic events, ticks run, and the full state for verification (the fields of
# erbp.reference.Network.snapshot, in the order of tests/golden/README.md).
#
# The per-tick work runs in kernels: erbp_mp_viper (@micropython.viper native code) when the port
# has the native emitters and the kernels pass a self-test, else erbp_mp_plain (plain Python, the
# same results). Every buffer is allocated when a network is loaded or created; a sample allocates
# nothing on the heap with the viper kernels (and with the plain ones on 64-bit ports).
#
#   import erbp_mp
#   net = erbp_mp.load("model.erbp")          # or erbp_mp.loads(data), erbp_mp.create(words, seed)
#   p = net.run(pixels, label, erbp_mp.TRAIN)  # pixels: bytes of n_in values 0..255
#   p = net.run(pixels)                        # inference; net.counts(), net.events, net.t
#   net.save("model.erbp")
import array
import struct
import sys

try:
    from micropython import const
except ImportError:  # CPython (the plain kernels also run there)
    def const(x):
        return x

try:
    from binascii import crc32 as _crc32
except ImportError:
    _crc32 = None

__version__ = "0.1.0"
SEMANTICS_VERSION = const(2)
FORMAT_VERSION = const(1)
MAGIC = b"ERBP"
MAX_HIDDEN = const(4)
MAX_LAYERS = const(5)
TRAIN = "train"
INFER = "infer"

_HDR = "<4sHHIIII"  # magic, format, semantics, size, seed, samples_seen, n_words
_HDR_SIZE = const(24)
# (no const() above 2^30: those are long ints on 32-bit ports)
_MASK32 = 0xFFFFFFFF
_KEY_IV = 0x6A09E667
_GOLD = 0x9E3779B9
# stream kinds (semantics.md section 5)
_S_INPUT = const(1)
_S_NOISE = const(2)
_S_ROUND = const(3)
_S_BLANK = const(4)
_S_INIT_W = const(5)
_S_INIT_G = const(6)

# The configuration table, in the order of erbp.reference.params.FIELDS:
# (name, lo, hi, slots kind: 0 scalar, 1 one per hidden layer, 2 one per weight layer).
FIELDS = (
    ("n_in", 1, 4096, 0),
    ("n_out", 2, 64, 0),
    ("n_hidden", 0, 4, 0),
    ("hidden_size", 1, 4096, 1),
    ("weight_bits", 2, 16, 0),
    ("state_bits", 8, 16, 0),
    ("ticks_train", 1, 65535, 0),
    ("ticks_infer", 1, 65535, 0),
    ("burn_in", 0, 65535, 0),
    ("in_gain", 0, 257, 0),
    ("in_refractory", 0, 255, 0),
    ("label_period", 1, 255, 0),
    ("syn_shift", 0, 15, 0),
    ("mem_shift", 0, 15, 0),
    ("dend_shift", 0, 15, 0),
    ("i2v_shift", 0, 15, 0),
    ("threshold", 1, 32767, 0),
    ("refractory", 0, 255, 0),
    ("noise_prob", 0, 65536, 0),
    ("noise_weight", -32768, 32767, 0),
    ("err_threshold", 1, 32767, 0),
    ("err_label_w", 0, 32767, 0),
    ("err_pred_w", 0, 32767, 0),
    ("fb_out", -32768, 32767, 0),
    ("g_amp", 0, 32767, 0),
    ("w_shift", 0, 15, 2),
    ("gate_lo", -32768, 32767, 2),
    ("gate_hi", -32768, 32767, 2),
    ("lr_mult", 0, 32767, 2),
    ("lr_shift", 0, 30, 2),
    ("init_amp", 0, 32767, 2),
    ("p_transmit", 0, 256, 2),
    ("readout", 0, 1, 0),
    ("exit_margin", 0, 2147483647, 0),
    ("p_infer", 0, 256, 2),
)


def _slots(kind):
    return MAX_HIDDEN if kind == 1 else MAX_LAYERS if kind == 2 else 1


WORDS = sum(_slots(f[3]) for f in FIELDS)  # int32 configuration words (70)


class ConfigError(ValueError):
    """A configuration that breaks a rule of semantics.md section 3."""


class ModelFileError(ValueError):
    """A model file that cannot be used; the message says why."""


# --- integers (setup only; the per-tick code is in the kernels) -----------------------------
def mix32(x):
    """MIX32 (semantics.md section 5) on Python integers."""
    x &= _MASK32
    x ^= x >> 16
    x = (x * 0x21F0AAAD) & _MASK32
    x ^= x >> 15
    x = (x * 0x735A2D97) & _MASK32
    x ^= x >> 15
    return x


def absorb(h, v):
    """ABSORB(h, v) = MIX32(h xor MIX32(v xor 0x9e3779b9))."""
    return mix32(h ^ mix32((v & _MASK32) ^ _GOLD))


def key(seed, stream, sample, tick):
    """KEY(seed, stream, sample, tick)."""
    return absorb(absorb(absorb(absorb(_KEY_IV, seed), stream), sample), tick)


def draw(k, i):
    """DRAW(key, i)."""
    return mix32(k + i * _GOLD)


def crc32(data, crc=0):
    """CRC-32 (IEEE 802.3, as zlib.crc32); binascii.crc32 where the port has it."""
    if _crc32 is not None:
        return _crc32(data, crc)
    crc ^= _MASK32
    for b in bytes(data):
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ _MASK32


def _zeros(tc, n):
    """A zero-filled array of n elements of typecode tc."""
    a = array.array(tc, [0])
    try:
        return array.array(tc, bytes(n * len(bytes(a))))  # MicroPython: raw bytes
    except TypeError:  # CPython
        return array.array(tc, [0] * n)


def _from_bytes(tc, data):
    """An array of typecode tc holding the little-endian raw data."""
    try:
        return array.array(tc, data)  # MicroPython: raw bytes
    except TypeError:  # CPython
        a = array.array(tc)
        a.frombytes(data)
        return a


# --- configuration ---------------------------------------------------------------------------
class Config:
    """A validated configuration: one attribute per field (per-layer fields are tuples with one
    entry per weight layer, hidden_size one per hidden layer)."""

    def __init__(self, words):
        w = [int(x) for x in words]
        if len(w) != WORDS:
            raise ConfigError("a configuration has %d words, got %d" % (WORDS, len(w)))
        nh = w[2]
        if not 0 <= nh <= MAX_HIDDEN:
            raise ConfigError("n_hidden = %d outside [0, %d]" % (nh, MAX_HIDDEN))
        # every unused slot first, then every range, as the reference (docs/semantics.md
        # section 9 lists the order in which a loader reports the first broken rule)
        off = 0
        for name, lo, hi, kind in FIELDS:
            n = _slots(kind)
            if kind and any(w[off + (nh if kind == 1 else nh + 1): off + n]):
                raise ConfigError("%s: unused slots must be 0" % name)
            off += n
        off = 0
        for name, lo, hi, kind in FIELDS:
            n = _slots(kind)
            if kind:
                vals = tuple(w[off: off + (nh if kind == 1 else nh + 1)])
            else:
                vals = (w[off],)
            for x in vals:
                if not lo <= x <= hi:
                    raise ConfigError("%s = %d outside [%d, %d]" % (name, x, lo, hi))
            setattr(self, name, vals if kind else vals[0])
            off += n
        self._words = w
        self.n_layers = nh + 1
        self.sizes = (self.n_in,) + self.hidden_size + (self.n_out,)
        wb, sb = self.weight_bits, self.state_bits
        self.w_min, self.w_max = -(1 << (wb - 1)), (1 << (wb - 1)) - 1
        self.s_min, self.s_max = -(1 << (sb - 1)), (1 << (sb - 1)) - 1
        self.weight_bytes = 1 if wb <= 8 else 2
        self._check()

    def _check(self):
        if self.threshold > self.s_max:
            raise ConfigError("threshold %d exceeds the state range (max %d)"
                              % (self.threshold, self.s_max))
        if self.err_label_w > self.err_threshold or self.err_pred_w > self.err_threshold:
            raise ConfigError("err_label_w and err_pred_w must not exceed err_threshold")
        if self.burn_in > self.ticks_train:
            raise ConfigError("burn_in exceeds ticks_train")
        if 2 * self.n_out * self.g_amp > 32767:
            raise ConfigError("2 * n_out * g_amp must be <= 32767")
        for l in range(self.n_layers):
            if self.gate_lo[l] >= self.gate_hi[l]:
                raise ConfigError("layer %d: gate_lo must be < gate_hi" % l)
            if self.init_amp[l] > self.w_max:
                raise ConfigError("layer %d: init_amp %d exceeds the weight range"
                                  % (l, self.init_amp[l]))
            if self.sizes[l] * (1 << (self.weight_bits - 1)) * (1 << self.w_shift[l]) > (1 << 30):
                raise ConfigError("layer %d: n_pre * 2^(weight_bits-1) * 2^w_shift exceeds 2^30"
                                  % l)

    def words(self):
        """The WORDS int32 configuration words (params.FIELDS order)."""
        return list(self._words)

    def file_size(self):
        """Size in bytes of the model file of this configuration."""
        s = self.sizes
        n = _HDR_SIZE + 4 * WORDS
        n += sum(s[l] * s[l + 1] for l in range(self.n_layers)) * self.weight_bytes
        n += sum(self.n_out * s[h + 1] for h in range(self.n_hidden)) * 2
        n += (-n) % 4
        return n + 4


# --- kernels -----------------------------------------------------------------------------------
def _selftest(K):
    """Check a kernel module against the test vectors of semantics.md section 5 and the
    sign-extension paths (guards a port whose native code would not be exact)."""
    for x, y in ((0, 0), (1, 0x86D2FA73), (2, 0x0DA7F4E7), (0xFFFFFFFF, 0x99B5E683),
                 (0x12345678, 0x16E776BD)):
        if K.mix32(x) != y:
            raise AssertionError("MIX32(%#x)" % x)
    k = array.array("I", [absorb(absorb(absorb(_KEY_IV, 1), 0x100), 0), 0])
    K.absorb_keys(k, k, 1, k, 1)
    if k[0] != 0xD454544C or K.draw(k, 0, 3) != 0xABC0CDBE:
        raise AssertionError("KEY/DRAW")
    k[1] = 0xF2E4B235
    if K.draw(k, 1, 1000) != 0xAE2825DF:
        raise AssertionError("DRAW(.., 1000)")
    # phase 4 with negative values on both sides of every sign extension
    I = array.array("h", [-300, 300, -1])
    V = array.array("h", [-5, 7, 0])
    acc = array.array("i", [-70000, 3, 0])
    out = array.array("H", [0, 0, 0])
    cnt = array.array("i", [0, 0, 0])
    ns = K.neurons(I, V, bytearray(3), bytearray(3), cnt, out, acc, 3, 1, 2, 2, 1,
                   100, 1, -32768, 32767, 0, 0, k, 0)
    if list(I) != [-32768, 231, 0] or list(V) != [-16387, 0, 0] or ns != 1 or out[0] != 1:
        raise AssertionError("neurons")
    # the readout at its bounds: sums of both signs, a lead past 2^31, ties
    b = 32768 * 65535
    R = array.array("i", [-b + 32768, 7, b - 32767])
    K.readout(R, array.array("h", [-32768, -8, 32767]), 3)
    if list(R) != [-b, -1, b] or K.argmax(R, 3) != 2 or K.argmax(cnt, 3) != 1:
        raise AssertionError("readout")
    R[1] = -b  # a lead of 2b > 2^31: exits even at the largest margin; b + 1 does not
    if not K.exit_check(R, 3, 2147483647) or K.exit_check(array.array("i", [-1, -b, b]), 3,
                                                          2147483647):
        raise AssertionError("exit_check")
    if K.exit_check(array.array("i", [3, 9, 9]), 3, 1):
        raise AssertionError("exit_check")


kernel_error = None  # why "auto" chose the plain kernels (None: it did not)


def kernels(which="auto"):
    """The kernel module: "viper" (native code), "plain" (Python), or "auto" (viper when it
    imports and passes the self-test, else plain)."""
    if which not in ("auto", "viper", "plain"):
        raise ValueError("backend must be auto, viper or plain")
    global kernel_error
    if which != "plain":
        try:
            import erbp_mp_viper as K
            _selftest(K)
            return K
        except Exception as e:  # SyntaxError: no native emitter; ValueError: other .mpy arch
            if which == "viper":
                raise
            kernel_error = "%s: %s" % (type(e).__name__, e)
    import erbp_mp_plain as K
    return K


# --- the network ------------------------------------------------------------------------------
class Net:
    """An eRBP network: configuration, seed, weights W[l] (row-major [n_pre][n_post], array 'b'
    or 'h'), feedback G[h] ([n_out][h_h], array 'h'), samples_seen, and the dynamic state."""

    def __init__(self, cfg, seed, samples_seen, W, G, backend="auto"):
        c = self.cfg = cfg
        self.seed = seed & _MASK32
        self.samples_seen = samples_seen
        self.W = W
        self.G = G
        K = self.K = kernels(backend)
        self.backend = K.KIND
        L = self.n_layers = c.n_layers
        sizes = c.sizes
        post = sizes[1:]
        self.wide = 1 if c.weight_bytes == 2 else 0
        # dynamic state (semantics.md section 4)
        self.I = [_zeros("h", n) for n in post]
        self.V = [_zeros("h", n) for n in post]
        self.U = [_zeros("h", n) for n in post]
        self.ref = [bytearray(n) for n in post]
        self.spk = [bytearray(n) for n in post]
        self.count = [_zeros("i", n) for n in post]
        self.in_ref = bytearray(c.n_in)
        self.in_spk = bytearray(c.n_in)
        self.ep = _zeros("h", c.n_out)
        self.en = _zeros("h", c.n_out)
        self.ep_spk = bytearray(c.n_out)
        self.en_spk = bytearray(c.n_out)
        self.R = _zeros("i", c.n_out)  # readout sums of the outputs
        # the scores of the readout (int32 arrays): spike counts (readout 0) or readout sums
        self.S = self.R if c.readout else self.count[L - 1]
        # work buffers
        self.px = bytearray(c.n_in)
        self.px_idx = _zeros("H", c.n_in)
        self.n_px = 0
        self.in_idx = _zeros("H", c.n_in)
        self.n_inspk = 0
        self.spk_idx = [_zeros("H", n) for n in post]
        self.n_spk = [0] * L
        self.acc = [_zeros("i", n) for n in post]
        self.off = _zeros("i", max(sizes[:-1]))  # deliver's scratch: row offsets of the pre spikes
        self.dw = [_zeros("h", n) for n in post]
        self.n_dw = [0] * L
        self.err_k = bytearray(c.n_out)
        self.err_s = bytearray(c.n_out)
        fb = _zeros("h", c.n_out * c.n_out)
        for k in range(c.n_out):
            fb[k * c.n_out + k] = c.fb_out
        self.G_out = fb
        # keys of the streams [INPUT, NOISE|p.., ROUND|l.., BLANK|l..]: per network (key0),
        # per sample (skeys), per tick (tkeys)
        ns = self.n_streams = 1 + 3 * L
        ids = [_S_INPUT << 8] + [(_S_NOISE << 8) | p for p in range(L)]
        ids += [(_S_ROUND << 8) | l for l in range(L)] + [(_S_BLANK << 8) | l for l in range(L)]
        sk = absorb(_KEY_IV, self.seed)
        self.key0 = array.array("I", [absorb(sk, s) for s in ids])
        self.skeys = _zeros("I", ns)
        self.tkeys = _zeros("I", ns)
        self.u32 = _zeros("I", 1)
        # the sample in progress
        self.mode = INFER
        self.train = False
        self.label = -1
        self.sample = 0
        self.t = 0
        self.T = 0
        self.events = 0
        self.input_spikes = 0
        self.hidden_spikes = 0
        self.prediction = 0
        self.reset_state()

    # --- construction --------------------------------------------------------------------
    @classmethod
    def create(cls, words, seed, backend="auto"):
        """A fresh network whose weights and G are generated from seed (semantics.md section 6).
        words: the WORDS configuration words or a Config."""
        c = words if isinstance(words, Config) else Config(words)
        if not 0 <= seed <= _MASK32:
            raise ValueError("seed must be a uint32")
        K = kernels(backend)
        s = c.sizes
        kb = array.array("I", [0])
        W = []
        for l in range(c.n_layers):
            n = s[l] * s[l + 1]
            w = _zeros("b" if c.weight_bytes == 1 else "h", n)
            kb[0] = key(seed, (_S_INIT_W << 8) | l, 0, 0)
            K.init_uniform(w, c.weight_bytes - 1, n, kb, 0, c.init_amp[l])
            W.append(w)
        G = []
        no = c.n_out
        for h in range(c.n_hidden):
            nh = s[h + 1]
            g = _zeros("h", no * nh)
            kb[0] = key(seed, (_S_INIT_G << 8) | h, 0, 0)
            K.init_uniform(g, 1, no * nh, kb, 0, c.g_amp)
            for i in range(nh):
                tot = 0
                for k in range(no):
                    tot += g[k * nh + i]
                m = tot // no  # floor, also for negative sums
                rem = tot - m * no
                for k in range(no):
                    g[k * nh + i] = g[k * nh + i] - m - (1 if k < rem else 0)
            G.append(g)
        return cls(c, seed, 0, W, G, backend)

    # --- model file ------------------------------------------------------------------------
    def save(self, path):
        """Write the model file (bytes identical to erbp.reference.modelfile.dumps), via a
        temporary file renamed over the target."""
        import os
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            self._write(f)
        try:
            os.rename(tmp, path)
        except OSError:  # file systems whose rename does not replace
            os.remove(path)
            os.rename(tmp, path)

    def dumps(self):
        """The model file as bytes."""
        import io
        f = io.BytesIO()
        self._write(f)
        return f.getvalue()

    def _write(self, f):
        c = self.cfg
        size = c.file_size()
        head = struct.pack(_HDR, MAGIC, FORMAT_VERSION, SEMANTICS_VERSION, size, self.seed,
                           self.samples_seen & _MASK32, WORDS)
        head += struct.pack("<%di" % WORDS, *c.words())
        crc = crc32(head)
        f.write(head)
        for a in self.W + self.G:
            f.write(a)
            crc = crc32(a, crc)
        n = _HDR_SIZE + 4 * WORDS
        n += sum(len(w) for w in self.W) * c.weight_bytes + sum(2 * len(g) for g in self.G)
        pad = bytes(size - 4 - n)
        crc = crc32(pad, crc)
        f.write(pad)
        f.write(struct.pack("<I", crc))

    # --- the sample -------------------------------------------------------------------------
    def reset_state(self):
        """Every dynamic state to 0 (semantics.md section 4); weights are kept."""
        z = self.K.zero
        for p in range(self.n_layers):
            z(self.I[p], 2 * len(self.I[p]))
            z(self.V[p], 2 * len(self.V[p]))
            z(self.U[p], 2 * len(self.U[p]))
            z(self.ref[p], len(self.ref[p]))
            z(self.spk[p], len(self.spk[p]))
            z(self.count[p], 4 * len(self.count[p]))
            self.n_spk[p] = 0
        z(self.in_ref, len(self.in_ref))
        z(self.in_spk, len(self.in_spk))
        z(self.ep, 2 * len(self.ep))
        z(self.en, 2 * len(self.en))
        z(self.ep_spk, len(self.ep_spk))
        z(self.en_spk, len(self.en_spk))
        z(self.R, 4 * len(self.R))
        self.n_inspk = 0
        self.t = 0
        self.events = 0
        self.input_spikes = 0
        self.hidden_spikes = 0

    def begin(self, pixels, label=-1, mode=INFER, sample=None):
        """Start a sample: check the inputs, reset the state, derive the sample keys.

        pixels: bytes, bytearray or memoryview of n_in bytes (anything else goes through
        bytes()); sample: the u32 sample index (default: samples_seen in training, 0 in
        inference)."""
        c = self.cfg
        if mode != TRAIN and mode != INFER:
            raise ValueError("mode must be 'train' or 'infer'")
        if len(pixels) != c.n_in:
            raise ValueError("expected %d pixels, got %d" % (c.n_in, len(pixels)))
        tp = type(pixels)
        if tp is not bytes and tp is not bytearray and tp is not memoryview:
            pixels = bytes(pixels)  # raises on values outside 0..255
        train = mode == TRAIN
        if train and not 0 <= label < c.n_out:
            raise ValueError("training needs a label in [0, %d), got %d" % (c.n_out, label))
        if sample is None:
            sample = self.samples_seen & _MASK32 if train else 0
        if not 0 <= sample <= _MASK32:
            raise ValueError("sample index must be a uint32")
        self.reset_state()
        self.mode = mode
        self.train = train
        self.label = label if train else -1
        self.sample = sample
        self.T = c.ticks_train if train else c.ticks_infer
        self.n_px = self.K.prep_pixels(pixels, self.px, self.px_idx, c.n_in)
        self.u32[0] = sample
        self.K.absorb_keys(self.key0, self.skeys, self.n_streams, self.u32, 0)

    def tick(self):
        """One tick: phases 1-5 of semantics.md section 7.1."""
        # (no tuple assignments of more than 3 names here: they would allocate a tuple)
        K = self.K
        c = self.cfg
        t = self.t
        L = self.n_layers
        self.u32[0] = t
        K.absorb_keys(self.skeys, self.tkeys, self.n_streams, self.u32, 0)
        learn = self.train and t >= c.burn_in
        wmin, wmax = c.w_min, c.w_max
        # phase 1: update factors, from the state at the start of the tick
        if learn:
            for l in range(L):
                self.n_dw[l] = K.update_factors(self.I[l], self.U[l], self.dw[l], c.sizes[l + 1],
                                                self.tkeys, 1 + L + l, c.lr_mult[l],
                                                c.lr_shift[l], c.gate_lo[l], c.gate_hi[l],
                                                wmin, wmax)
        # phase 2: input spikes
        nin = K.input_spikes(self.px, self.px_idx, self.n_px, self.in_ref, self.in_spk,
                             self.in_idx, self.tkeys, 0, c.in_gain, c.in_refractory)
        self.n_inspk = nin
        self.input_spikes += nin
        # phase 3: delivery and learning (pre spikes: this tick's inputs, previous tick's others)
        for l in range(L):
            n_post = c.sizes[l + 1]
            if l == 0:
                pre = self.in_idx
                npre = nin
            else:
                pre = self.spk_idx[l - 1]
                npre = self.n_spk[l - 1]
            self.events += npre * n_post
            upd = 1 if learn and self.n_dw[l] else 0
            p = c.p_transmit[l] if self.train else c.p_infer[l]
            if p < 256:
                K.deliver_blank(self.W[l], self.wide, n_post, pre, npre, self.dw[l], upd,
                                self.acc[l], wmin, wmax, p, self.tkeys, 1 + 2 * L + l)
            else:
                K.deliver(self.off, 0, self.W[l], self.wide, n_post, pre, npre, self.dw[l], upd,
                          self.acc[l], self.off, wmin, wmax)
        # phase 4: neurons, population by population
        for p in range(L):
            ns = K.neurons(self.I[p], self.V[p], self.ref[p], self.spk[p], self.count[p],
                           self.spk_idx[p], self.acc[p], c.sizes[p + 1], c.w_shift[p],
                           c.syn_shift, c.mem_shift, c.i2v_shift, c.threshold, c.refractory,
                           c.s_min, c.s_max, c.noise_prob, c.noise_weight, self.tkeys, 1 + p)
            self.n_spk[p] = ns
            if p < L - 1:
                self.hidden_spikes += ns
        K.readout(self.R, self.I[L - 1], c.n_out)
        # phase 5: label, error neurons, feedback (training only)
        if self.train:
            self._errors(t)
        self.t = t + 1

    def _errors(self, t):
        c = self.cfg
        H = self.n_layers - 1
        ks, es = self.err_k, self.err_s
        ne = self.K.errors(self.spk[H], self.ep, self.en, self.ep_spk, self.en_spk, ks, es,
                           c.n_out, self.label if t % c.label_period == 0 else -1,
                           c.err_label_w, c.err_pred_w, c.err_threshold)
        sizes = c.sizes
        for h in range(H):
            self.K.dendrites(self.U[h], sizes[h + 1], self.G[h], ks, es, ne, c.dend_shift,
                             c.s_min, c.s_max)
        self.K.dendrites(self.U[H], c.n_out, self.G_out, ks, es, ne, c.dend_shift,
                         c.s_min, c.s_max)

    def exit_reached(self):
        """The early exit after the last tick: infer mode, exit_margin > 0, and the highest
        score leads the second highest by exit_margin or more."""
        c = self.cfg
        if self.train or c.exit_margin == 0:
            return False
        return self.K.exit_check(self.S, c.n_out, c.exit_margin) != 0

    def finish(self):
        """End the sample: the prediction (the highest score, lowest index on ties); a
        training sample increments samples_seen."""
        best = self.K.argmax(self.S, self.cfg.n_out)
        self.prediction = best
        if self.train:  # a u32 that wraps (compared, not masked: no long-int result)
            if self.samples_seen == _MASK32:
                self.samples_seen = 0
            else:
                self.samples_seen += 1
        return best

    def run(self, pixels, label=-1, mode=INFER, sample=None, on_tick=None):
        """Run one whole sample: T ticks, or fewer in inference when the early exit ends it;
        returns the prediction (see counts(), events, and t: the ticks run)."""
        self.begin(pixels, label, mode, sample)
        for _ in range(self.T):
            self.tick()
            if on_tick is not None:
                on_tick(self)
            if self.exit_reached():
                break
        return self.finish()

    def counts(self):
        """Output spike counts of the last sample."""
        return list(self.count[self.n_layers - 1])

    # --- observation ------------------------------------------------------------------------
    def snapshot_layout(self):
        """[(name, array)] of the full state, in the order of erbp.reference.Network.snapshot
        and of the golden records (tests/golden/README.md)."""
        out = [("W%d" % l, w) for l, w in enumerate(self.W)]
        out += [("G%d" % h, g) for h, g in enumerate(self.G)]
        for p in range(self.n_layers):
            for name, a in (("I", self.I), ("V", self.V), ("U", self.U), ("ref", self.ref),
                            ("spk", self.spk), ("count", self.count)):
                out.append(("%s%d" % (name, p), a[p]))
        for name in ("in_ref", "in_spk", "ep", "en", "ep_spk", "en_spk", "R"):
            out.append((name, getattr(self, name)))
        return out

    def snapshot(self):
        """{name: list of ints}: every weight and state variable (spikes are 0/1)."""
        return {name: list(a) for name, a in self.snapshot_layout()}

    def record_words(self):
        """Number of int32 words of a snapshot record."""
        return sum(len(a) for _, a in self.snapshot_layout())

    def snapshot_into(self, rec, off=0):
        """Write the snapshot as int32 words into rec (array 'i') at off, in record order;
        returns the offset after it."""
        for _, a in self.snapshot_layout():
            for i in range(len(a)):
                rec[off + i] = a[i]
            off += len(a)
        return off


# --- loading ---------------------------------------------------------------------------------
def _readinto(f, buf, what):
    n = f.readinto(buf)
    if n is None or n < len(buf):
        raise ModelFileError("truncated: the file ends inside the %s" % what)


def _load(f, length, backend):
    if length < _HDR_SIZE + 4:
        raise ModelFileError("truncated: %d bytes is shorter than the header" % length)
    head = f.read(_HDR_SIZE)
    magic, fmt, sem, size, seed, seen, n_words = struct.unpack_from(_HDR, head, 0)
    if magic != MAGIC:
        raise ModelFileError("not an erbp model file (magic %r, expected %r)" % (magic, MAGIC))
    if fmt != FORMAT_VERSION:
        raise ModelFileError("model-file format version %d; this erbp reads version %d"
                             % (fmt, FORMAT_VERSION))
    if sem != SEMANTICS_VERSION:
        raise ModelFileError("model was made for semantics version %d; this erbp implements "
                             "version %d: %s" % (sem, SEMANTICS_VERSION,
                                                 "convert it with `erbp convert OLD.erbp "
                                                 "NEW.erbp` (exact) or retrain it" if sem == 1
                                                 else "retrain it"))
    if length < size:
        raise ModelFileError("truncated: the header declares %d bytes, the file has %d"
                             % (size, length))
    if length > size:
        raise ModelFileError("%d unexpected bytes after the declared end" % (length - size))
    # CRC over everything before the last 4 bytes, streamed in chunks
    buf = bytearray(256)
    crc = crc32(head)
    left = size - 4 - _HDR_SIZE
    while left > 0:
        n = f.readinto(buf)
        if not n:
            raise ModelFileError("truncated: the file ends before its CRC")
        if n > left:  # the chunk reached into the CRC word
            n = left
        crc = crc32(memoryview(buf)[:n], crc) if n < len(buf) else crc32(buf, crc)
        left -= n
    f.seek(size - 4)
    stored = struct.unpack("<I", f.read(4))[0]
    if crc != stored:
        raise ModelFileError("CRC mismatch: the file is corrupt")
    if n_words != WORDS:
        raise ModelFileError("configuration has %d words, expected %d" % (n_words, WORDS))
    if size < _HDR_SIZE + 4 * n_words + 4:
        raise ModelFileError("declared size is smaller than the configuration")
    f.seek(_HDR_SIZE)
    words = struct.unpack("<%di" % WORDS, f.read(4 * WORDS))
    try:
        c = Config(words)
    except ConfigError as e:
        raise ModelFileError("invalid configuration: %s" % e)
    if size != c.file_size():
        raise ModelFileError("size %d does not match the configuration's %d (shapes differ)"
                             % (size, c.file_size()))
    s = c.sizes
    W = []
    for l in range(c.n_layers):
        n = s[l] * s[l + 1]
        w = _zeros("b" if c.weight_bytes == 1 else "h", n)
        _readinto(f, w, "weights W%d" % l)
        if c.weight_bits != 8 * c.weight_bytes:  # narrower than the storage: check the range
            lo, hi = c.w_min, c.w_max
            for x in w:
                if x < lo or x > hi:
                    raise ModelFileError("W%d holds values outside the %d-bit range"
                                         % (l, c.weight_bits))
        W.append(w)
    G = []
    used = _HDR_SIZE + 4 * WORDS + sum(len(w) for w in W) * c.weight_bytes
    for h in range(c.n_hidden):
        g = _zeros("h", c.n_out * s[h + 1])
        _readinto(f, g, "feedback G%d" % h)
        G.append(g)
        used += 2 * len(g)
    pad = f.read(size - 4 - used)
    if any(pad):
        raise ModelFileError("nonzero padding before the CRC")
    return Net(c, seed, seen, W, G, backend)


def loads(data, backend="auto"):
    """A network from model-file bytes (fully validated)."""
    import io
    return _load(io.BytesIO(data), len(data), backend)


def load(path, backend="auto"):
    """A network from a model file (streamed: needs no copy of the whole file in RAM)."""
    import os
    try:
        length = os.stat(path)[6]
        f = open(path, "rb")
    except OSError as e:
        raise ModelFileError("cannot read model file %s: %s" % (path, e))
    try:
        return _load(f, length, backend)
    except ModelFileError as e:
        raise ModelFileError("%s: %s" % (path, e))
    finally:
        f.close()


def create(words, seed, backend="auto"):
    """A fresh network from configuration words and a u32 seed (weights and G drawn as in
    semantics.md section 6)."""
    return Net.create(words, seed, backend)


if sys.byteorder != "little":  # model files and arrays share one byte order only on LE
    raise ImportError("erbp_mp needs a little-endian port")
