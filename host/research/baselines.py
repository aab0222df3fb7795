"""Artificial (non-spiking) baselines of the paper's MNIST table, in float on the CPU with numpy.

The paper compares its spiking eRBP networks with networks of the same shapes trained on a GPU
with back-propagation ("BP") and random back-propagation ("RBP"). This module trains those
baselines with the same data protocol as our spiking runs, so the rows of the table differ only in
the learning machine:

* **Networks**: fully connected, ``sizes = (784, h_0, ..., 10)``; hidden units tanh (default),
  logistic sigmoid or ReLU; softmax output with cross-entropy loss; biases (optional). Initial
  weights uniform in ``+-sqrt(init_scale / (fan_in + fan_out))`` with ``init_scale = 7``, the
  formula of the authors' scripts for the spiking networks (erbp-paper.md, 4.3). Inputs are
  ``pixel / 255``.
* **Rules** (:data:`RULES`):

  - ``bp``: back-propagation, ``delta_l = (delta_{l+1} W_{l+1}^T) * f'(a_l)``;
  - ``fa``: feedback alignment (Lillicrap et al. 2016): the same chain, but each ``W_{l+1}^T`` is
    replaced by a fixed random matrix ``B_{l+1}^T`` of the same shape;
  - ``dfa``: direct feedback alignment (Noekland 2016) = the paper's RBP as eRBP implements it:
    the output error ``e`` goes straight to every hidden layer through one fixed random matrix per
    layer, ``delta_h = (e D_h) * f'(a_h)``, ``D_h`` of shape (n_out, h_h), uniform in
    ``+-sqrt(feedback_scale / (n_out + h_h))`` (eRBP's G formula). ``e`` = softmax - one-hot sums
    to zero, so making ``D_h`` zero-mean over classes, as eRBP does with G, would change nothing.

  FA and DFA coincide for one hidden layer up to the random matrix drawn.
* **Protocol** (the paper's, erbp-paper.md 4.2, and :mod:`erbp.training`'s ``balanced``): epochs
  of 50,000 class-balanced draws with replacement from the 60,000 training images, in the exact
  order our spiking runs use for the same seed (:class:`erbp.training.SampleOrder`); evaluation
  on the 10,000 test images after every epoch; the reported error is the mean over the last 5
  evaluations (the authors' plotting script).
* **Mini-batches**: plain SGD (no momentum, no schedule, as eRBP) on mini-batches of
  ``batch_size`` = 10 samples by default. Online learning (batch 1), which is what eRBP does,
  is supported but 25x slower in numpy (per-sample outer products of 784 x 500 matrices run at
  memory speed); batches of 10 keep the updates almost online (5,000 updates per epoch) while
  vectorising. ``lr`` is the step on the batch-*mean* gradient, so ``lr / batch_size`` is the
  step per sample.
* **Defaults chosen by measurement** (784-100-10 unless said; test error after epochs 1..5 or
  the mean of the last 5 of 10 epochs): the paper's GPU rate "0.4/n_batch" (Table 2, truncated)
  reads as 0.4/n_batch on the batch-summed gradient, i.e. ``lr = 0.4`` here. With sigmoid units
  that reproduces the paper's BP figure for 784-100-10 (2.16 % over epochs 6-10, paper 2.19 %),
  but it is unstable for wide layers (DFA 784-500-500-10: 8.6, 10.6, 6.9 % after epochs 1-3;
  784-500-10: 8.5, 7.7, 8.8 %): the output layer's effective step grows with the number of
  positive sigmoid activities. Zero-centred tanh units with ``lr = 0.05`` (the default) are
  stable at every width: BP 5.4, 4.0, 3.6, 3.0, 2.7 %; DFA 6.2, 4.7, 4.1, 3.7, 3.4 %;
  784-500-500-10 BP 5.0, 3.7 %, DFA 6.3, 4.9 % (``lr = 0.1``: 784-100-10 slightly faster, BP
  2.6 % and DFA 2.9 % after 5 epochs, 784-500-500-10 DFA noisier early: 5.8, 5.7, 6.2, 3.8,
  3.0 %). ReLU with ``lr = 0.05``: BP 2.40 %, DFA 3.28 % (mean of epochs 6-10).

Runs are resumable: a run directory holds ``config.json`` (settings, command lines),
``checkpoint.npz`` (the network after the last finished epoch), ``metrics.jsonl`` (one record per
epoch) and ``summary.json``. A resumed run continues bit-identically on the same machine (the
sample order and the initial state are functions of the seed).
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.datasets import Dataset
from ..errors import ErbpError
from ..fileio import append_jsonl, open_atomic, read_json, read_jsonl, write_json, write_jsonl
from ..provenance import command_line, now
from ..reference.config import parse_sizes
from ..training.order import SampleOrder

RULES = ("bp", "fa", "dfa")

ACTIVATIONS = ("relu", "sigmoid", "tanh")
CONFIG = "config.json"
CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"


class BaselineError(ErbpError, RuntimeError):
    """A baseline run that cannot be started or resumed; the message says why."""


# --- the network ---------------------------------------------------------------------------------
def _act(name: str, a: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(a, 0)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * a))  # the logistic function, without overflow
    return np.tanh(a)


def _act_grad(name: str, a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) given the pre-activation a and the activation h = f(a)."""
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "sigmoid":
        return h * (1 - h)
    return 1 - h * h


class MLP:
    """A fully connected network trained by BP, FA or DFA (see the module docstring).

    ``W[l]`` has shape (n_pre, n_post) like the spiking networks' weight layers; ``b[l]`` (n_post,);
    ``B[l]`` (FA: shape of ``W[l]``, for l >= 1) or ``D[h]`` (DFA: (n_out, h_h)) are the fixed
    feedback matrices. Units: inputs in [0, 1] (pixel / 255); weights dimensionless.
    """

    def __init__(self, sizes: tuple[int, ...] | str, rule: str = "bp", activation: str = "tanh",
                 seed: int = 1, init_scale: float = 7.0, feedback_scale: float = 7.0,
                 bias: bool = True, dtype: str = "float32"):
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.sizes = parse_sizes(sizes)
        self.rule, self.activation, self.bias = rule, activation, bias
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng([seed, 0xBA5E])
        n = self.sizes
        self.W = [self._uniform(rng, (n[l], n[l + 1]), init_scale / (n[l] + n[l + 1]))
                  for l in range(len(n) - 1)]
        self.b = [np.zeros(n[l + 1], dtype=self.dtype) for l in range(len(n) - 1)]
        self.B: list[np.ndarray | None] = [None] * len(self.W)
        self.D: list[np.ndarray] = []
        if rule == "fa":
            self.B = [None] + [self._uniform(rng, w.shape, feedback_scale / sum(w.shape))
                               for w in self.W[1:]]
        elif rule == "dfa":
            self.D = [self._uniform(rng, (n[-1], h), feedback_scale / (n[-1] + h))
                      for h in n[1:-1]]

    def _uniform(self, rng: np.random.Generator, shape: tuple[int, ...], amp2: float) -> np.ndarray:
        a = np.sqrt(amp2)
        return rng.uniform(-a, a, size=shape).astype(self.dtype)

    # --- computation --------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``a[l]`` and layer outputs ``h[l]`` (h[0] = x, h[-1] = logits)."""
        hs, pre = [x], []
        for l, (w, b) in enumerate(zip(self.W, self.b)):
            a = hs[-1] @ w
            if self.bias:
                a += b
            pre.append(a)
            hs.append(a if l == len(self.W) - 1 else _act(self.activation, a))
        return pre, hs

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Output pre-activations for a batch x (n, n_in) in [0, 1]."""
        return self.forward(x)[1][-1]

    def predict(self, x: np.ndarray, chunk: int = 2000) -> np.ndarray:
        """Predicted classes of a batch (evaluated in chunks of ``chunk`` rows)."""
        return np.concatenate([self.logits(x[i:i + chunk]).argmax(axis=1)
                               for i in range(0, len(x), chunk)]) if len(x) else \
            np.zeros(0, dtype=np.int64)

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, int]:
        """One SGD step on the batch mean of the cross-entropy; returns (summed loss, number of
        correct predictions), both measured before the update."""
        pre, hs = self.forward(x)
        z = hs[-1]
        z = z - z.max(axis=1, keepdims=True)
        ez = np.exp(z)
        s = ez.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float((np.log(s[:, 0]) - z[rows, y]).sum())
        correct = int((z.argmax(axis=1) == y).sum())
        e = ez / s
        e[rows, y] -= 1  # dLoss/dlogits
        deltas: list[np.ndarray] = [e]
        for l in range(len(self.W) - 2, -1, -1):  # hidden layers, top down
            if self.rule == "bp":
                back = deltas[0] @ self.W[l + 1].T
            elif self.rule == "fa":
                back = deltas[0] @ self.B[l + 1].T  # type: ignore[union-attr]
            else:
                back = e @ self.D[l]
            deltas.insert(0, back * _act_grad(self.activation, pre[l], hs[l + 1]))
        k = self.dtype.type(lr / len(y))
        for l, d in enumerate(deltas):  # all deltas use the weights before this step
            self.W[l] -= k * (hs[l].T @ d)
            if self.bias:
                self.b[l] -= k * d.sum(axis=0)
        return loss, correct

    # --- state ----------------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Every array (weights, biases, feedback matrices) by name."""
        s = {f"W{l}": w for l, w in enumerate(self.W)} | {f"b{l}": b for l, b in enumerate(self.b)}
        s |= {f"B{l}": b for l, b in enumerate(self.B) if b is not None}
        return s | {f"D{h}": d for h, d in enumerate(self.D)}

    def load_state(self, s: dict[str, np.ndarray]) -> None:
        """Replace every array with those of :meth:`state` (shapes must match)."""
        for name, arr in self.state().items():
            new = np.asarray(s[name], dtype=self.dtype)
            if new.shape != arr.shape:
                raise BaselineError(f"{name}: shape {new.shape}, the network needs {arr.shape}")
            arr[...] = new


# --- runs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineConfig:
    """Everything that defines a baseline run (see the module docstring).

    ``lr``: SGD step on the batch-mean gradient. ``epoch_size``: training draws per epoch.
    ``test_samples``: the first N test images (None: all). ``average_last``: evaluations in the
    reported mean error. ``protocol``: "balanced" (the paper's) or "sequential".
    """

    topology: str = "784-100-10"
    rule: str = "bp"
    activation: str = "tanh"
    lr: float = 0.05
    batch_size: int = 10
    epochs: int = 60
    epoch_size: int = 50_000
    protocol: str = "balanced"
    seed: int = 1
    init_scale: float = 7.0
    feedback_scale: float = 7.0
    bias: bool = True
    dtype: str = "float32"
    test_samples: int | None = None
    average_last: int = 5

    def make_model(self) -> MLP:
        return MLP(self.topology, self.rule, self.activation, self.seed, self.init_scale,
                   self.feedback_scale, self.bias, self.dtype)


#: Fields a resumed run may change (the others define the run).
CHANGEABLE = ("epochs", "average_last")


@dataclass
class BaselineResult:
    """A finished (or partial) baseline run: per-epoch records, the summary and the model."""

    config: BaselineConfig
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    model: MLP | None = None


def final_error(records: list[dict[str, Any]], last: int = 5) -> float:
    """Mean test error (fraction) over the last ``last`` evaluations (NaN if there are none)."""
    errs = [r["test_error"] for r in records if r.get("test_error") is not None][-last:]
    return float(np.mean(errs)) if errs else float("nan")


def evaluate(model: MLP, data: Dataset, n: int | None = None) -> float:
    """Test error (fraction) on the first ``n`` test images (all if None)."""
    x, y = data.test_x[:n], data.test_y[:n]
    return float((model.predict(_scale(x, model.dtype)) != y).mean()) if len(y) else float("nan")


def _scale(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Pixels 0..255 to inputs in [0, 1]."""
    return x.astype(dtype) * dtype.type(1 / 255)


def train_positions(model: MLP, data: Dataset, order: SampleOrder, start: int, stop: int,
                    batch_size: int, lr: float) -> tuple[int, float]:
    """Train on the samples at positions start .. stop-1 of ``order`` in mini-batches (the
    last one may be shorter); returns (correct predictions, summed loss), each measured on its
    batch before the batch's update."""
    idx = order.indices(start, stop - start)
    loss = 0.0
    correct = 0
    for a in range(0, len(idx), batch_size):
        bi = idx[a:a + batch_size]
        l, c = model.step(_scale(data.train_x[bi], model.dtype), data.train_y[bi], lr)
        loss += l
        correct += c
    return correct, loss


def train_epoch(model: MLP, data: Dataset, order: SampleOrder, epoch: int, cfg: BaselineConfig
                ) -> tuple[float, float]:
    """Train one epoch (positions epoch*epoch_size ...); returns (train error, mean loss), both
    measured on each batch before its update."""
    n = cfg.epoch_size
    correct, loss = train_positions(model, data, order, epoch * n, (epoch + 1) * n,
                                    cfg.batch_size, cfg.lr)
    return 1.0 - correct / n, loss / n


def blas_threads(n: int | None) -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to ``n`` threads inside the block (no limit for None, or without the optional
    threadpoolctl). The matrices here are small (batches of 10): one thread is fastest, and
    several threads spinning on a shared machine are up to 50x slower."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def run_baseline(cfg: BaselineConfig, data: Dataset, out: str | os.PathLike | None = None,
                 log: Callable[[str], None] | None = None, command: str | None = None,
                 stop_after: int | None = None, threads: int | None = 1) -> BaselineResult:
    """Train a baseline for ``cfg.epochs`` epochs, evaluating after each.

    With ``out``, the run lives in that directory: a new one is created, or an existing one with
    the same settings (up to :data:`CHANGEABLE`) is resumed from its last checkpoint. Each epoch
    appends a record to metrics.jsonl: epoch, samples_seen, train_error, train_loss, test_error
    (fractions), test_samples, epoch_s and time_s (wall seconds). ``stop_after``: stop after this
    many epochs of this call (to test resuming). ``log`` gets one line per epoch. ``threads``:
    BLAS threads (see :func:`blas_threads`).
    """
    with blas_threads(threads):
        return _run_baseline(cfg, data, out, log, command, stop_after)


def _run_baseline(cfg: BaselineConfig, data: Dataset, out: str | os.PathLike | None,
                  log: Callable[[str], None] | None, command: str | None,
                  stop_after: int | None) -> BaselineResult:
    model = cfg.make_model()
    if cfg.protocol not in ("balanced", "sequential"):
        raise BaselineError(f"unknown protocol {cfg.protocol!r}")
    if model.sizes[0] != data.n_in or model.sizes[-1] < data.n_classes:
        raise BaselineError(f"topology {cfg.topology} has {model.sizes[0]} inputs and "
                            f"{model.sizes[-1]} outputs; {data.name} has {data.n_in} pixels per "
                            f"sample and {data.n_classes} classes")
    order = SampleOrder(data.train_y, cfg.protocol, cfg.epoch_size, cfg.seed)
    records: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    run = Path(out) if out is not None else None
    if run is not None:
        start, records = _open_run(run, cfg, model, command)
        elapsed = records[-1]["time_s"] if records else 0.0
    n_test = cfg.test_samples
    done = 0
    for epoch in range(start, cfg.epochs):
        if stop_after is not None and done >= stop_after:
            break
        t0 = time.monotonic()
        train_err, loss = train_epoch(model, data, order, epoch, cfg)
        test_err = evaluate(model, data, n_test)
        dt = time.monotonic() - t0
        elapsed += dt
        rec = {"epoch": epoch + 1, "samples_seen": (epoch + 1) * cfg.epoch_size,
               "train_error": round(train_err, 6), "train_loss": round(loss, 6),
               "test_error": round(test_err, 6),
               "test_samples": len(data.test_y[:n_test]), "epoch_s": round(dt, 3),
               "time_s": round(elapsed, 3)}
        records.append(rec)
        done += 1
        if run is not None:
            _save_checkpoint(run, model, epoch + 1)
            append_jsonl(run / METRICS, rec)
        if log is not None:
            log(f"{cfg.topology} {cfg.rule} epoch {epoch + 1}/{cfg.epochs}: "
                f"train {100 * train_err:.2f} %, test {100 * test_err:.2f} % ({dt:.1f} s)")
    summary = summarize(cfg, records)
    if run is not None:
        write_json(run / SUMMARY, summary)
    return BaselineResult(cfg, records, summary, model)


def summarize(cfg: BaselineConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's headline numbers: mean test error over the last evaluations, best, epochs."""
    errs = [r["test_error"] for r in records]
    return {"topology": cfg.topology, "rule": cfg.rule, "epochs_done": len(records),
            "epochs": cfg.epochs, "average_last": cfg.average_last,
            "test_error_last": final_error(records, cfg.average_last) if records else None,
            "test_error_min": min(errs) if errs else None,
            "time_s": records[-1]["time_s"] if records else 0.0,
            "mean_epoch_s": float(np.mean([r["epoch_s"] for r in records])) if records else None,
            "config": asdict(cfg)}


def _open_run(run: Path, cfg: BaselineConfig, model: MLP, command: str | None
              ) -> tuple[int, list[dict[str, Any]]]:
    """Create the run directory, or resume it: returns (epochs done, their records)."""
    cmd = command if command is not None else command_line()
    cfg_path = run / CONFIG
    if not cfg_path.exists():
        run.mkdir(parents=True, exist_ok=True)
        write_json(cfg_path, {"baseline": asdict(cfg), "command": cmd, "created": now(),
                              "resumed": []})
        write_jsonl(run / METRICS, [])
        return 0, []
    saved = read_json(cfg_path)
    old = BaselineConfig(**saved["baseline"])
    fixed = [f.name for f in fields(BaselineConfig)
             if f.name not in CHANGEABLE and getattr(old, f.name) != getattr(cfg, f.name)]
    if fixed:
        raise BaselineError(f"{run} holds a baseline run with other settings ({', '.join(fixed)}"
                            f"): choose another directory")
    epoch = 0
    if (run / CHECKPOINT).exists():
        with np.load(run / CHECKPOINT) as z:
            model.load_state({k: z[k] for k in z.files})
            epoch = int(z["_epoch"])
    records = [r for r in read_jsonl(run / METRICS) if r["epoch"] <= epoch]
    write_jsonl(run / METRICS, records)
    saved["baseline"] = asdict(replace(old, **{k: getattr(cfg, k) for k in CHANGEABLE}))
    saved["resumed"].append({"command": cmd, "time": now(), "epoch": epoch})
    write_json(cfg_path, saved)
    return epoch, records


def _save_checkpoint(run: Path, model: MLP, epoch: int) -> None:
    """checkpoint.npz (every array plus ``_epoch``), atomically."""
    with open_atomic(run / CHECKPOINT) as f:
        np.savez(f, _epoch=np.array(epoch), **model.state())


def load_model(run: str | os.PathLike) -> tuple[MLP, BaselineConfig, int]:
    """The network of a baseline run directory, its configuration and the epochs it has done."""
    run = Path(run)
    cfg = BaselineConfig(**read_json(run / CONFIG)["baseline"])
    model = cfg.make_model()
    with np.load(run / CHECKPOINT) as z:
        model.load_state({k: z[k] for k in z.files})
        epoch = int(z["_epoch"])
    return model, cfg, epoch
