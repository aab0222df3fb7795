"""The C engine (cport/) from Python: :class:`CNetwork` mirrors :class:`erbp.reference.Network`.

Both engines compute the same integers (docs/semantics.md), so a CNetwork can stand in for a
reference Network anywhere: ``CNetwork.from_network(net)`` / ``.to_network()`` convert, and
``run_sample``, ``begin_sample``, ``tick``, ``snapshot`` and ``samples_seen`` behave the same. The
C engine is ~1000x faster; :meth:`CNetwork.run_samples` runs a whole batch inside C (no Python per
sample), which is what training on the full MNIST uses.

Memory: the network lives in one numpy-owned arena of ``erbp_net_required_bytes`` bytes plus the
fixed-size ``erbp_net_t`` instance. :func:`required_bytes` repeats that arithmetic in pure Python
for code without the binding (board exports, sizing); tests check it equals C's on many
configurations.

Facts of the C engine come from the binding, whose declarations cffi generates from
cport/include/erbp.h: status codes and their names (``erbp_status_t``), variable ids
(``erbp_var_t``), constants. Only the exception each status raises (:data:`STATUS_ERRORS`) and the
layout mirror are written here, and tests check them against C.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

import numpy as np
from numpy.typing import ArrayLike

from ...reference import INFER, MODES, TRAIN, ConfigError, NetConfig, Network, SampleResult
from ...reference import modelfile
from ...reference.modelfile import ModelFileError
from ...reference.network import (check_label, check_labels, check_pixels, check_u32,
                                  is_integer)
from ...reference.params import FIELDS, word_count
from ...errors import ErbpError
from ...fileio import write_bytes_atomic
from ..base import BatchResult

#: Alignment of every array in the arena (ERBP_ARENA_ALIGN in cport/include/erbp.h; mirrored for
#: :func:`required_bytes`, tested equal).
ARENA_ALIGN = 16
#: Neuron arrays are padded to a multiple of this many elements (ERBP_BLOCK, erbp_internal.h;
#: mirrored for :func:`required_bytes`, tested equal).
BLOCK = 16


def _pad(n: int) -> int:
    return -(-n // BLOCK) * BLOCK

_LIB = None


#: "DIR:MODULE" of another build of the binding to use instead of erbp._cport (the sanitizer
#: tests run the suite against one built by erbp.engines.c._build.build).
VARIANT_ENV = "ERBP_CPORT_VARIANT"


def _load():
    """The compiled binding (ffi, lib); built by ``pip install -e .`` (setup.py, cffi)."""
    global _LIB
    if _LIB is None:
        variant = os.environ.get(VARIANT_ENV)
        if variant:
            import importlib
            import sys

            where, name = variant.rsplit(":", 1)
            sys.path.insert(0, where)
            mod = importlib.import_module(name)
            _LIB = (mod.ffi, mod.lib)
            return _LIB
        try:
            from ... import _cport  # type: ignore[attr-defined]
        except ImportError as e:  # pragma: no cover - depends on the installation
            raise ImportError(
                "the C engine binding erbp._cport is not built: reinstall erbp (pip install "
                "--force-reinstall erbp; in a source checkout `pip install -e .`, which needs a "
                "C compiler)") from e
        _LIB = (_cport.ffi, _cport.lib)
    return _LIB


def available() -> bool:
    """Whether the compiled C engine can be imported."""
    try:
        _load()
    except ImportError:
        return False
    return True


class CEngineError(ErbpError, RuntimeError):
    """An error status from the C engine that is not a configuration, file or argument error."""


def _field_at(word: int) -> str:
    off = 0
    for f in FIELDS:
        if off <= word < off + f.slots:
            return f.name if f.slots == 1 else f"{f.name}[{word - off}]"
        off += f.slots
    return "?"


#: The exception each error status of the C engine raises, by its name in ``erbp_status_t``
#: (the codes come from the binding; a test checks that every C status has an entry): bad
#: arguments are ValueError, configurations ConfigError, model files ModelFileError, and what only
#: a bug of this module can cause (alignment, state) CEngineError.
STATUS_ERRORS: dict[str, type[Exception]] = {
    "ERBP_E_NULL": ValueError, "ERBP_E_SIZE": ValueError, "ERBP_E_ALIGN": CEngineError,
    "ERBP_E_ARG": ValueError, "ERBP_E_STATE": CEngineError, "ERBP_E_LABEL": ValueError,
    "ERBP_E_VALUE": ValueError,
    **dict.fromkeys(["ERBP_E_CONFIG_RANGE", "ERBP_E_CONFIG_SLOT", "ERBP_E_CONFIG_THRESHOLD",
                     "ERBP_E_CONFIG_ERR_W", "ERBP_E_CONFIG_BURN_IN", "ERBP_E_CONFIG_G_AMP",
                     "ERBP_E_CONFIG_GATE", "ERBP_E_CONFIG_INIT_AMP", "ERBP_E_CONFIG_GAIN"],
                    ConfigError),
    **dict.fromkeys(["ERBP_E_FILE_TRUNCATED", "ERBP_E_FILE_MAGIC", "ERBP_E_FILE_FORMAT",
                     "ERBP_E_FILE_SEMANTICS", "ERBP_E_FILE_TRAILING", "ERBP_E_FILE_CRC",
                     "ERBP_E_FILE_WORDS", "ERBP_E_FILE_SIZE", "ERBP_E_FILE_WEIGHT",
                     "ERBP_E_FILE_PADDING"], ModelFileError),
}


def statuses() -> dict[int, str]:
    """Every status of the C engine: code -> name (``erbp_status_t`` as the binding declares it)."""
    ffi, _ = _load()
    return dict(ffi.typeof("erbp_status_t").elements)


def _check(status: int, where: int | None = None) -> None:
    """Raise the Python exception of a C status (ERBP_OK passes): STATUS_ERRORS by the status's
    name, with C's message (erbp_status_str)."""
    if status == 0:
        return
    ffi, lib = _load()
    msg = ffi.string(lib.erbp_status_str(status)).decode()
    if where is not None and where >= 0:
        msg += f" (field {_field_at(where)})"
    raise STATUS_ERRORS.get(status_name(status), CEngineError)(msg)


def status_name(status: int) -> str:
    """The enum name of a C status code, e.g. ``ERBP_E_FILE_CRC`` ("unknown status" for a code
    outside ``erbp_status_t``)."""
    return statuses().get(int(status), "unknown status")


def var_id(name: str) -> int:
    """The ``erbp_var_t`` id of a state variable named as in ``Network.snapshot`` without its
    layer index (``"W"``, ``"in_ref"``, ...): ``ERBP_VAR_`` + the name in capitals."""
    _, lib = _load()
    try:
        return int(getattr(lib, "ERBP_VAR_" + name.upper()))
    except AttributeError:
        raise ValueError(f"no state variable {name!r}") from None


def _c_config(cfg: NetConfig):
    ffi, lib = _load()
    c = ffi.new("erbp_config_t *")
    words = ffi.new("int32_t[]", cfg.to_words())
    _check(lib.erbp_config_from_words(c, words, word_count()))
    return c


def config_check(words: Iterable[int]) -> tuple[int, int]:
    """Run the C validator on raw configuration words: (status, offending word or -1)."""
    ffi, lib = _load()
    w = [int(x) for x in words]
    if len(w) != word_count():
        raise ValueError(f"a configuration has {word_count()} words")
    c = ffi.new("erbp_config_t *")
    _check(lib.erbp_config_from_words(c, ffi.new("int32_t[]", w), len(w)))
    where = ffi.new("int32_t *")
    st = lib.erbp_config_check(c, where)
    return int(st), int(where[0])


def required_bytes(cfg: NetConfig) -> int:
    """Arena bytes of a network: the arithmetic of ``erbp__layout`` (cport/src/erbp_config.c)
    in pure Python, for code without the binding (the engine itself asks C); tests check it equals
    ``erbp_net_required_bytes``. Arrays in order, each starting at a multiple of ARENA_ALIGN:
    W_l, G_h; per population of n neurons, with P = n padded to a multiple of BLOCK: I, V, U,
    dw (int16, P), acc (int32, P), count (uint16, P), list (uint16, n), ref, spk (uint8, P);
    with Q = n_in padded: pixels, in_ref, in_spk (uint8, n_in), in_nz (uint16, Q), in_list
    (uint16, n_in), in_thr (uint16, Q), in_hit (uint8, Q); ep, en (int16), ep_spk, en_spk
    (uint8); R (int32, n_out); the blank-out mask (int16, the largest post population rounded up
    to 4)."""
    return _layout_bytes(cfg, rom=False)


def state_required_bytes(cfg: NetConfig) -> int:
    """State-arena bytes of a read-only network (``erbp_net_init_rom``: weights and G read in
    place from its model file), as ``erbp_net_state_required_bytes`` computes them: the layout of
    :func:`required_bytes` without W, G, dw, pixels, in_nz, in_thr and in_hit, and without the
    blank-out mask unless some layer blanks synapses out in inference (p_infer < 256: a read-only
    network only infers). Tested equal to C."""
    return _layout_bytes(cfg, rom=True)


def _layout_bytes(cfg: NetConfig, rom: bool) -> int:
    sizes, n_in, n_out = cfg.sizes, cfg.n_in, cfg.n_out
    a = 0 if rom else 1  # arrays a read-only network does not have take 0 bytes
    blocks = [a * sizes[l] * sizes[l + 1] * cfg.weight_bytes for l in range(cfg.n_layers)]
    blocks += [a * n_out * sizes[h + 1] * 2 for h in range(cfg.n_hidden)]
    for n in sizes[1:]:
        p = _pad(n)
        blocks += [2 * p, 2 * p, 2 * p, a * 2 * p, 4 * p, 2 * p, 2 * n, p, p]
    q = _pad(n_in)
    blocks += [a * n_in, n_in, n_in, a * 2 * q, 2 * n_in, a * 2 * q, a * q]
    blocks += [2 * n_out, 2 * n_out, n_out, n_out, 4 * n_out]
    mask = not rom or any(p < 256 for p in cfg.p_infer[:cfg.n_layers])
    blocks.append(int(mask) * 2 * ((max(sizes[1:]) + 3) // 4 * 4))
    off = 0
    for b in blocks:
        off = -(-(off + b) // ARENA_ALIGN) * ARENA_ALIGN
    return off


def _aligned(nbytes: int) -> np.ndarray:
    """nbytes of zeroed memory owned by numpy, starting at a multiple of ARENA_ALIGN."""
    raw = np.zeros(nbytes + ARENA_ALIGN, dtype=np.uint8)
    start = (-raw.ctypes.data) % ARENA_ALIGN
    return raw[start:start + nbytes]


def _mode(mode: str) -> int:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    _, lib = _load()
    return lib.ERBP_TRAIN if mode == TRAIN else lib.ERBP_INFER


def _pixels(pixels, n_in: int, rows: bool = False) -> np.ndarray:
    """Pixels checked as the reference checks them (check_pixels), as contiguous uint8."""
    return np.ascontiguousarray(check_pixels(pixels, n_in, rows), dtype=np.uint8)


def _label(label: object, mode: str) -> int:
    """The label C gets: a checked training label, -1 in inference (any value is ignored)."""
    return int(label) if mode == TRAIN else -1  # type: ignore[call-overload]


class CNetwork:
    """An eRBP network held and run by the C engine (same API as the reference ``Network``; an
    :class:`erbp.engines.Engine`)."""

    #: Whole batches run inside C.
    max_batch = None

    def __init__(self, cfg: NetConfig, _model: bytes | None = None, _seed: int = 0,
                 _rom: bool = False):
        ffi, lib = _load()
        self._ffi, self._lib = ffi, lib
        self.cfg = cfg
        self._ccfg = _c_config(cfg)
        self._net = ffi.new("erbp_net_t *")
        if _rom:
            nbytes = int(lib.erbp_net_state_required_bytes(self._ccfg))
            self._arena = _aligned(nbytes)
            self._file = _aligned(len(_model))  # read in place by C: kept alive, never written
            self._file[:] = np.frombuffer(_model, dtype=np.uint8)
            _check(lib.erbp_net_init_rom(self._net, ffi.from_buffer(self._file), len(_model),
                                         ffi.from_buffer(self._arena), nbytes))
        else:
            nbytes = int(lib.erbp_net_required_bytes(self._ccfg))
            self._arena = _aligned(nbytes)  # numpy owns the memory
            buf = ffi.from_buffer(self._arena)
            if _model is None:
                _check(lib.erbp_net_init(self._net, buf, nbytes, self._ccfg, _seed))
            else:
                _check(lib.erbp_net_load(self._net, buf, nbytes, _model, len(_model)))
        self._pixels = None  # a read-only network reads the pixels of its sample in place
        self.mode, self.sample, self.label = INFER, 0, -1

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, cfg: NetConfig, seed: int) -> "CNetwork":
        """A fresh network whose weights and G the C engine generates from ``seed`` (uint32)."""
        return cls(cfg, _seed=check_u32(seed, "seed"))

    @classmethod
    def loads(cls, data: bytes, *, rom: bool = False) -> "CNetwork":
        """A network from model-file bytes, validated by the C loader. With ``rom``, a read-only
        network (``erbp_net_init_rom``): C reads the configuration, weights and G in place from
        an aligned copy of the file and keeps only the neuron and input state
        (:func:`state_required_bytes`) in its arena, as a board does with a model in flash.
        Inference only: training and writes of W or G raise ValueError (ERBP_E_ARG)."""
        ffi, lib = _load()
        data = bytes(data)
        c = ffi.new("erbp_config_t *")
        _check(lib.erbp_model_check(data, len(data), c, ffi.NULL, ffi.NULL))
        words = ffi.new("int32_t[]", word_count())
        _check(lib.erbp_config_to_words(c, words, word_count()))
        return cls(NetConfig.from_words(list(words)), _model=data, _rom=rom)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CNetwork":
        """A network from a model file (read with the bound of modelfile.read_bytes)."""
        return cls.loads(modelfile.read_bytes(path))

    @classmethod
    def loads_rom(cls, data: bytes) -> "CNetwork":
        """``loads(data, rom=True)``: a read-only network over model-file bytes."""
        return cls.loads(data, rom=True)

    @property
    def read_only(self) -> bool:
        """Whether this is a read-only network (:meth:`loads_rom`)."""
        return bool(self._lib.erbp_net_is_rom(self._net))

    @classmethod
    def from_network(cls, net: Network) -> "CNetwork":
        """The C twin of a reference network (weights, G, seed, samples_seen; state reset)."""
        return cls.loads(modelfile.dumps(net))

    def to_network(self) -> Network:
        """A reference Network with the same configuration, seed, weights, G and samples_seen."""
        return modelfile.loads(self.dumps())

    def dumps(self) -> bytes:
        """The network as model-file bytes, written by the C engine."""
        n = self._lib.erbp_model_bytes(self._ccfg)
        out = self._ffi.new("uint8_t[]", n)
        written = self._ffi.new("size_t *")
        _check(self._lib.erbp_net_save(self._net, out, n, written))
        return bytes(self._ffi.buffer(out, written[0]))

    def save(self, path: str | os.PathLike) -> None:
        """Write a model file atomically."""
        write_bytes_atomic(path, self.dumps())

    # --- properties -----------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return int(self._lib.erbp_net_seed(self._net))

    @property
    def samples_seen(self) -> int:
        return int(self._lib.erbp_net_samples_seen(self._net))

    @samples_seen.setter
    def samples_seen(self, value: int) -> None:
        _check(self._lib.erbp_net_set_samples_seen(self._net, check_u32(value, "samples_seen")))

    @property
    def W(self) -> list[np.ndarray]:
        """Copies of the weight matrices W[l][pre, post] (int64)."""
        return [self._read("W", l) for l in range(self.cfg.n_layers)]

    @property
    def G(self) -> list[np.ndarray]:
        """Copies of the feedback matrices G[h][class, i] (int64)."""
        return [self._read("G", h) for h in range(self.cfg.n_hidden)]

    @property
    def tick_no(self) -> int:
        return int(self._lib.erbp_tick_count(self._net))

    @property
    def events(self) -> int:
        return int(self._lib.erbp_events(self._net))

    @property
    def ticks(self) -> int:
        return self.cfg.ticks_train if self.mode == TRAIN else self.cfg.ticks_infer

    # --- samples ----------------------------------------------------------------------------------
    def reset_state(self) -> None:
        _check(self._lib.erbp_net_reset_state(self._net))

    def _sample_args(self, pixels, label: int, mode: str, sample: int) -> tuple[int, np.ndarray]:
        """Check a sample's arguments as the reference does: (C mode, uint8 pixels)."""
        m = _mode(mode)
        px = _pixels(pixels, self.cfg.n_in)
        check_label(label, mode, self.cfg.n_out)
        check_u32(sample, "sample index")
        return m, px

    def begin_sample(self, pixels: ArrayLike, label: int, mode: str, sample: int) -> None:
        """Start a sample: check inputs, reset state. ``sample`` (uint32) keys the randomness."""
        m, px = self._sample_args(pixels, label, mode, sample)
        _check(self._lib.erbp_begin_sample(self._net, self._ffi.from_buffer("uint8_t[]", px),
                                           px.size, _label(label, mode), m,
                                           int(sample)))
        self._pixels = px  # kept until the next sample: a read-only network reads them per tick
        self.mode, self.sample = mode, int(sample)
        self.label = int(label) if is_integer(label) else -1  # type: ignore[call-overload]

    def tick(self) -> None:
        """Advance the sample by one tick."""
        _check(self._lib.erbp_tick(self._net))

    def output_counts(self) -> np.ndarray:
        out = np.zeros(self.cfg.n_out, dtype=np.uint32)
        _check(self._lib.erbp_output_counts(self._net, self._ffi.from_buffer("uint32_t[]", out),
                                            out.size))
        return out.astype(np.int64)

    def run_sample(self, pixels: ArrayLike, label: int = -1, mode: str = INFER,
                   sample: int | None = None,
                   on_tick: Callable[["CNetwork"], None] | None = None) -> SampleResult:
        """Run one whole sample (as ``Network.run_sample``: in training ``samples_seen`` is the
        default sample index and is incremented afterwards)."""
        if sample is None:
            sample = self.samples_seen if mode == TRAIN else 0
        if on_tick is None:
            m, px = self._sample_args(pixels, label, mode, sample)
            res = self._ffi.new("erbp_result_t *")
            _check(self._lib.erbp_run_sample(self._net, self._ffi.from_buffer("uint8_t[]", px),
                                             px.size, _label(label, mode), m,
                                             int(sample), res))
            self.mode, self.sample = mode, int(sample)
            self.label = int(label) if is_integer(label) else -1  # type: ignore[call-overload]
            return SampleResult(prediction=int(res.prediction), counts=self.output_counts(),
                                events=int(res.events), ticks=int(res.ticks),
                                hidden_spikes=int(res.hidden_spikes),
                                input_spikes=int(res.input_spikes))
        self.begin_sample(pixels, label, mode, sample)
        input_spikes = hidden_spikes = 0
        for _ in range(self.ticks):
            self.tick()
            input_spikes += int(self._read("in_spk", 0).sum())
            hidden_spikes += sum(int(self._read("spk", p).sum()) for p in range(self.cfg.n_hidden))
            on_tick(self)
            if self.exit_reached():
                break
        if mode == TRAIN:
            self.samples_seen = (self.samples_seen + 1) & 0xFFFFFFFF  # a u32 that wraps
        counts = self.output_counts()
        return SampleResult(prediction=int(self._lib.erbp_prediction(self._net)), counts=counts,
                            events=self.events, ticks=self.tick_no, hidden_spikes=hidden_spikes,
                            input_spikes=input_spikes)

    def exit_reached(self) -> bool:
        """Whether the early exit ends the sample after the last tick (``Network.exit_reached``)."""
        return bool(self._lib.erbp_exit_reached(self._net))

    def run_samples(self, X: ArrayLike, labels: ArrayLike | None = None, mode: str = INFER,
                    start_index: int | None = None, chunk: int = 1000,
                    progress: Callable[[int], None] | None = None) -> BatchResult:
        """Run the samples X[s] (N x n_in pixels, 0..255) in order inside C, sample s with index
        ``start_index + s`` (default: samples_seen in training, 0 in inference) and, in training,
        label labels[s]. ``progress(n_done)`` is called after every ``chunk`` samples."""
        m = _mode(mode)
        X = _pixels(X, self.cfg.n_in, rows=True)
        n = X.shape[0]
        lab = check_labels(labels, n, mode, self.cfg.n_out)
        if lab is not None:
            lab = np.ascontiguousarray(lab, dtype=np.int32)
        if start_index is None:
            start_index = self.samples_seen if mode == TRAIN else 0
        check_u32(start_index, "start index")
        check_u32(start_index + max(n - 1, 0), "the last sample index")
        pred = np.zeros(n, dtype=np.int32)
        counts = np.zeros((n, self.cfg.n_out), dtype=np.uint32)
        events = np.zeros(n, dtype=np.uint64)
        ticks = np.zeros(n, dtype=np.uint32)
        ffi, lib = self._ffi, self._lib
        chunk = max(1, int(chunk))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            _check(lib.erbp_run_samples(
                self._net, ffi.from_buffer("uint8_t[]", X[a:b]), b - a, self.cfg.n_in,
                ffi.from_buffer("int32_t[]", lab[a:b]) if lab is not None else ffi.NULL, m,
                start_index + a, ffi.from_buffer("int32_t[]", pred[a:b]),
                ffi.from_buffer("uint32_t[]", counts[a:b]),
                ffi.from_buffer("uint64_t[]", events[a:b]),
                ffi.from_buffer("uint32_t[]", ticks[a:b])))
            if progress is not None:
                progress(b)
        self.mode = mode
        return BatchResult(predictions=pred.astype(np.int64), counts=counts.astype(np.int64),
                           events=events.astype(np.int64), ticks=ticks.astype(np.int64))

    # --- observation ------------------------------------------------------------------------------
    def _shape(self, name: str, index: int) -> tuple[int, ...]:
        s = self.cfg.sizes
        if name == "W":
            return (s[index], s[index + 1])
        if name == "G":
            return (self.cfg.n_out, s[index + 1])
        n = self._ffi.new("uint32_t *")
        _check(self._lib.erbp_var_size(self._net, var_id(name), index, n))
        return (int(n[0]),)

    def _read(self, name: str, index: int) -> np.ndarray:
        shape = self._shape(name, index)
        out = np.zeros(shape, dtype=np.int32)
        _check(self._lib.erbp_read_var(self._net, var_id(name), index,
                                       self._ffi.from_buffer("int32_t[]", out), out.size))
        return out.astype(np.int64)

    def _write(self, name: str, index: int, values) -> None:
        a = np.ascontiguousarray(np.asarray(values).reshape(-1), dtype=np.int64)
        if a.size and (a.min() < -(1 << 31) or a.max() >= (1 << 31)):
            raise ValueError(f"{name}{index}: values outside int32")
        a = a.astype(np.int32)
        _check(self._lib.erbp_write_var(self._net, var_id(name), index,
                                        self._ffi.from_buffer("int32_t[]", a), a.size))

    @staticmethod
    def _key(key: str) -> tuple[str, int]:
        for name in ("in_ref", "in_spk", "ep_spk", "en_spk", "ep", "en", "R"):
            if key == name:
                return name, 0
        head = key.rstrip("0123456789")
        return head, int(key[len(head):])

    def snapshot(self) -> dict[str, np.ndarray]:
        """The full state, with the keys, shapes and int64 dtype of ``Network.snapshot``."""
        c = self.cfg
        keys = [f"W{l}" for l in range(c.n_layers)] + [f"G{h}" for h in range(c.n_hidden)]
        for p in range(c.n_layers):
            keys += [f"{v}{p}" for v in ("I", "V", "U", "ref", "spk", "count")]
        keys += ["in_ref", "in_spk", "ep", "en", "ep_spk", "en_spk", "R"]
        return {k: self._read(*self._key(k)) for k in keys}

    def write_state(self, snap: dict[str, np.ndarray]) -> None:
        """Overwrite every variable named in ``snap`` (keys as in :meth:`snapshot`); values are
        checked against their widths (ValueError, nothing of that key written)."""
        for k, v in snap.items():
            self._write(*self._key(k), v)

    def prediction(self) -> int:
        return int(self._lib.erbp_prediction(self._net))
