"""The int8 MLP that erbp's inference is measured against: a float baseline
(:mod:`erbp.research.baselines`) quantised as TensorFlow Lite Micro and CMSIS-NN run it, with a
bit-exact numpy model of their int8 arithmetic and the C header the benchmark firmware
(firmware/mlp/) is built with.

**Quantisation** (the TFLite int8 scheme, post-training, per tensor):

* *input*: the baseline's input is ``pixel / 255``; as int8 with scale 1/255 and zero point -128
  it is exactly ``pixel - 128``;
* *weights*: symmetric, scale ``s_w = max|W| / 127``, ``q = round(W / s_w)`` in [-127, 127]
  (zero point 0), stored ``(n_out, n_in)`` row-major (each output's weights contiguous, the
  layout of TFLite's and CMSIS-NN's fully connected layers);
* *bias*: int32, scale ``s_in * s_w``, zero point 0;
* *layer outputs*: asymmetric int8, range ``[min(0, lo), max(0, hi)]`` of the float layer over a
  calibration set (TFLite's min/max calibration), ``scale = (max - min) / 255``, ``zero_point =
  round(-128 - min / scale)``; a ReLU layer's range starts at 0, so its zero point is -128 and
  the fused ReLU is the clamp to ``[zero_point, 127]``;
* *requantisation*: ``M = s_in * s_w / s_out = m * 2^shift`` with ``m`` a Q31 integer in
  ``[2^30, 2^31)`` (TFLite's QuantizeMultiplier); the kernels require ``shift <= 0`` (M < 1,
  true of every layer here by orders of magnitude).

**Arithmetic** (TFLite's reference FullyConnected for int8, which CMSIS-NN's
``arm_fully_connected_s8`` reproduces): for each output ``o``,

    acc = bias[o] + sum_i (x[i] + input_offset) * w[o, i]            (int32, exact)
    y = clamp(MBQM(acc, m, shift) + output_offset, act_min, act_max)  (int8)

with ``input_offset = -zero_point_in``, ``output_offset = zero_point_out`` and MBQM
(MultiplyByQuantizedMultiplier) = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc, m),
-shift): the high product rounds half up (``floor((acc * m + 2^30) / 2^31)``), the division by
``2^-shift`` rounds half away from zero. The prediction is the first largest int8 output
(TFLite's ArgMax). :func:`requantize` and :meth:`Int8MLP.forward` compute exactly this with
numpy int64; tests/test_int8_mlp.py checks the firmware's kernels against them.
"""
from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ErbpError
from .baselines import MLP

#: Exactness bounds of the kernels (firmware/mlp/erbp_fc_s8.h): |acc| < 2^31 needs
#: n_in * 255 * 128 + |bias| < 2^31.
MAX_INPUTS = 32768
MAX_ABS_BIAS = 1 << 30


class QuantizationError(ErbpError, ValueError):
    """A network the int8 scheme here cannot represent (an activation other than ReLU, a layer
    whose requantisation multiplier is not below 1, a bias out of the kernels' bounds)."""


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: ``real = m * 2^shift / 2^31`` with ``m`` in [2^30, 2^31)
    (0 gives (0, 0)). ``real`` must be positive and finite."""
    if real == 0.0:
        return 0, 0
    if not (real > 0.0 and math.isfinite(real)):
        raise QuantizationError(f"requantisation scale {real} is not a positive number")
    q, shift = math.frexp(real)  # real = q * 2^shift, q in [0.5, 1)
    m = round(q * (1 << 31))
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:  # below the smallest representable scale: TFLite flushes to zero
        return 0, 0
    return int(m), int(shift)


def requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier of TFLite (int8 reference kernels) on int32 accumulators,
    exactly: ``shift`` in [-31, 0], ``multiplier`` in [0, 2^31). Returns int64 values."""
    if not (-31 <= shift <= 0 and 0 <= multiplier < 1 << 31):
        raise QuantizationError(f"multiplier {multiplier}, shift {shift}: the kernels need "
                                f"shift in [-31, 0] and 0 <= multiplier < 2^31")
    x = np.asarray(acc, dtype=np.int64)
    hi = (x * multiplier + (1 << 30)) >> 31  # SaturatingRoundingDoublingHighMul (never saturates)
    e = -shift
    mask = (1 << e) - 1
    threshold = (mask >> 1) + (hi < 0)
    return (hi >> e) + ((hi & mask) > threshold)


@dataclass(frozen=True)
class Int8Layer:
    """One fully connected int8 layer. ``weights`` int8 (n_out, n_in); ``bias`` int32 (n_out,);
    ``input_offset`` = -zero point of the input; ``output_offset`` = zero point of the output;
    ``multiplier``/``shift``: the requantisation (Q31, shift <= 0); ``act_min``/``act_max``:
    the output clamp (a fused ReLU: act_min = output_offset). Scales are for people."""

    weights: np.ndarray
    bias: np.ndarray
    input_offset: int
    output_offset: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int
    input_scale: float = 0.0
    weight_scale: float = 0.0
    output_scale: float = 0.0

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's int8 outputs (n, n_out) for int8 inputs (n, n_in)."""
        acc = x.astype(np.int64) @ self.weights.T.astype(np.int64)  # exact in int64
        acc += (self.input_offset * self.weights.astype(np.int64).sum(axis=1)
                + self.bias.astype(np.int64))
        y = requantize(acc, self.multiplier, self.shift) + self.output_offset
        return np.clip(y, self.act_min, self.act_max).astype(np.int8)


@dataclass(frozen=True)
class Int8MLP:
    """An int8 MLP: layers in order; the input is ``pixel - 128`` (int8)."""

    layers: tuple[Int8Layer, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].n_in,) + tuple(l.n_out for l in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference."""
        return sum(l.n_in * l.n_out for l in self.layers)

    @property
    def model_bytes(self) -> int:
        """Bytes of weights and biases (what the firmware keeps in flash)."""
        return sum(l.n_in * l.n_out + 4 * l.n_out for l in self.layers)

    @property
    def activation_bytes(self) -> int:
        """RAM for the activations: the input and every layer's outputs (what
        firmware/mlp/mlp_bench.c keeps; ping-pong buffers would need less for deep networks)."""
        return sum(self.sizes)

    def forward(self, pixels: np.ndarray, chunk: int = 2000) -> list[np.ndarray]:
        """Every layer's int8 outputs for pixels 0..255 of shape (n, n_in): [input, h1, ...,
        logits], each int8 (n, width)."""
        x = to_int8_input(pixels)
        outs = [x]
        for layer in self.layers:
            outs.append(np.concatenate([layer.forward(outs[-1][i:i + chunk])
                                        for i in range(0, len(x), chunk)])
                        if len(x) else np.zeros((0, layer.n_out), np.int8))
        return outs

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """The first largest int8 output of every sample (TFLite's ArgMax)."""
        return self.forward(pixels)[-1].argmax(axis=1)


def to_int8_input(pixels: np.ndarray) -> np.ndarray:
    """Pixels 0..255 as the int8 input (scale 1/255, zero point -128): ``pixel - 128``."""
    return (np.asarray(pixels, dtype=np.int16) - 128).astype(np.int8)


def _out_range(a: np.ndarray) -> tuple[float, float]:
    return min(0.0, float(a.min())), max(0.0, float(a.max()))


def quantize(model: MLP, calibration: np.ndarray) -> Int8MLP:
    """Quantise a float baseline (ReLU hidden units, or one layer) with the layer ranges
    measured on ``calibration`` pixels (n, 784) in 0..255; see the module docstring."""
    if len(model.W) > 1 and model.activation != "relu":
        raise QuantizationError(f"hidden units {model.activation!r}: the int8 MLP fuses ReLU "
                                f"into the requantisation clamp (train with --activation relu)")
    h = calibration.astype(np.float64) / 255.0
    s_in, zp_in = 1.0 / 255.0, -128
    layers = []
    for l, (w, b) in enumerate(zip(model.W, model.b)):
        w = w.astype(np.float64)
        b = b.astype(np.float64) if model.bias else np.zeros(w.shape[1])
        a = h @ w + b
        last = l == len(model.W) - 1
        h = a if last else np.maximum(a, 0.0)
        lo, hi = _out_range(h)
        s_out = (hi - lo) / 255.0 or 1.0
        zp_out = int(np.clip(round(-128 - lo / s_out), -128, 127))
        s_w = float(np.abs(w).max()) / 127.0 or 1.0
        qw = np.clip(np.round(w.T / s_w), -127, 127).astype(np.int8)
        qb = np.round(b / (s_in * s_w))
        if np.abs(qb).max(initial=0) >= MAX_ABS_BIAS or w.shape[0] > MAX_INPUTS:
            raise QuantizationError(f"layer {l}: bias or width beyond the kernels' bounds")
        m, shift = quantize_multiplier(s_in * s_w / s_out)
        if shift > 0:
            raise QuantizationError(f"layer {l}: requantisation scale {s_in * s_w / s_out} >= 1")
        layers.append(Int8Layer(weights=qw, bias=qb.astype(np.int32), input_offset=-zp_in,
                                output_offset=zp_out, multiplier=m, shift=shift,
                                act_min=-128 if last else zp_out, act_max=127,
                                input_scale=s_in, weight_scale=s_w, output_scale=s_out))
        s_in, zp_in = s_out, zp_out
    return Int8MLP(tuple(layers))


def random_int8_mlp(sizes: tuple[int, ...], seed: int, relu: bool = True) -> Int8MLP:
    """A random int8 MLP that exercises every path of the kernels (for tests): weights over the
    whole int8 range (-128 included), biases of both signs, offsets across their ranges, and
    requantisation scales that spread the outputs over the int8 range (some clamp)."""
    rng = np.random.default_rng(seed)
    layers = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = l == len(sizes) - 2
        zp_out = int(rng.integers(-128, 128))
        spread = 7400.0 * math.sqrt(n_in)  # about the accumulators' standard deviation
        shift = -int(np.clip(round(math.log2(spread / 60.0)) + 1 + rng.integers(-1, 2), 0, 31))
        layers.append(Int8Layer(
            weights=rng.integers(-128, 128, size=(n_out, n_in)).astype(np.int8),
            bias=rng.integers(-2 * spread, 2 * spread, size=n_out).astype(np.int32),
            input_offset=int(rng.integers(-127, 129)), output_offset=zp_out,
            multiplier=int(rng.integers(1 << 30, 1 << 31)), shift=shift,
            act_min=zp_out if (relu and not last) else -128, act_max=127))
    return Int8MLP(tuple(layers))


# --- the firmware's model header (firmware/mlp/mlp_bench.c includes it) ------------------------
def _c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 24) -> str:
    vals = [str(int(v)) for v in np.asarray(values).ravel()]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};\n"


def c_header(net: Int8MLP, pixels: np.ndarray) -> str:
    """``mlp_model.h``: the layers (weights, biases, requantisation) and the samples (pixels
    0..255, (n, n_in)) that firmware/mlp/mlp_bench.c runs, as const data."""
    pixels = np.asarray(pixels, dtype=np.uint8).reshape(len(pixels), net.sizes[0])
    out = ["/* Generated by erbp.research.int8_mlp.c_header: do not edit. */",
           "#ifndef MLP_MODEL_H", "#define MLP_MODEL_H", "#include <stdint.h>",
           '#include "mlp_bench.h"', "",
           f"#define MLP_LAYERS {len(net.layers)}u", f"#define MLP_N_IN {net.sizes[0]}u",
           f"#define MLP_N_OUT {net.sizes[-1]}u", f"#define MLP_SUM_WIDTHS {sum(net.sizes[1:])}u",
           f"#define MLP_SAMPLES {len(pixels)}u", ""]
    for l, layer in enumerate(net.layers):
        out.append(_c_array("int8_t", f"mlp_w{l}", layer.weights))
        out.append(_c_array("int32_t", f"mlp_b{l}", layer.bias))
    out.append("static const mlp_layer_t mlp_layers[MLP_LAYERS] = {")
    for l, layer in enumerate(net.layers):
        out.append(f"    {{mlp_w{l}, mlp_b{l}, {layer.n_in}u, {layer.n_out}u, "
                   f"{{{layer.input_offset}, {layer.output_offset}, {layer.multiplier}, "
                   f"{layer.shift}, {layer.act_min}, {layer.act_max}}}}},")
    out.append("};\n")
    out.append(_c_array("uint8_t", "mlp_pixels", pixels) if len(pixels) else
               "static const uint8_t mlp_pixels[1] = {0};\n")
    out.append("#endif")
    return "\n".join(out) + "\n"


# --- the benchmark firmware (firmware/mlp/): build, run, read back ------------------------------
@dataclass(frozen=True)
class FirmwareRun:
    """What the benchmark app printed: per sample its prediction, its cycle-counter ticks (under
    QEMU -icount shift=0, 1e9 / counter_hz instructions each) and every layer's int8 outputs
    (concatenated, (n, sum of widths))."""

    predictions: np.ndarray
    ticks: np.ndarray
    outputs: np.ndarray


#: The app's kernels (``make mlp MLP_KERNEL=...``, firmware/mlp/mlp.mk): ``erbp`` runs the layers
#: through erbp_fc_s8, ``cmsis-nn`` through CMSIS-NN's arm_fully_connected_s8 (vendored in
#: firmware/mlp/third_party/cmsis-nn).
KERNELS = ("erbp", "cmsis-nn")


def build_firmware(net: Int8MLP, pixels: np.ndarray, board: str, out_dir: str | Path,
                   cflags: str = "", kernel: str = "erbp") -> Path:
    """Write ``out_dir/mlp_model.h`` and build the app for ``board`` (a board of the board table,
    or "host": the PC build with the sanitizers) with make, its layers through ``kernel`` (one
    of :data:`KERNELS`); returns the image."""
    from ..boards.emulators import EmulatorError
    from ..boards.table import FIRMWARE, board as board_spec

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    header = out / "mlp_model.h"
    text = c_header(net, pixels)
    if not header.exists() or header.read_text() != text:
        header.write_text(text)
    if kernel not in KERNELS:
        raise ValueError(f"kernel {kernel!r}: one of {', '.join(KERNELS)}")
    spec = board_spec(board)
    tools = ["make", spec.arch.cc]
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise EmulatorError(f"{', '.join(missing)} not found, needed to build the int8 MLP app for "
                            f"{board}: install {spec.arch.debian} (`make setup`)")
    cmd = ["make", "-s", "-C", str(FIRMWARE), "mlp", f"MLP_BOARD={board}", f"MLP_MODEL={out}",
           f"MLP_KERNEL={kernel}"]
    if cflags:
        cmd.append(f"MLP_CFLAGS={cflags}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EmulatorError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    suffix = "" if kernel == "erbp" else f"-{kernel}"
    return out / (f"mlp-host{suffix}" if spec.kind == "host" else f"mlp-{board}{suffix}.elf")


def parse_output(text: str, net: Int8MLP, n: int) -> FirmwareRun:
    """The app's lines (firmware/mlp/mlp_bench.c) as arrays; raises ValueError on anything else
    (a refused layer, a missing or garbled sample)."""
    width = sum(net.sizes[1:])
    preds, ticks, outs = [], [], []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "S" and len(f) == 5 and int(f[1]) == len(preds) and len(f[4]) == 2 * width:
            preds.append(int(f[2]))
            ticks.append(int(f[3]))
            outs.append(np.frombuffer(bytes.fromhex(f[4]), dtype=np.int8))
        elif f[0] == "E" and len(f) == 2 and int(f[1]) == n == len(preds):
            return FirmwareRun(np.array(preds), np.array(ticks, dtype=np.int64),
                               np.array(outs).reshape(n, width))
        else:
            raise ValueError(f"unexpected line from the int8 MLP app: {line[:120]!r}")
    raise ValueError(f"the int8 MLP app ended after {len(preds)} of {n} samples")


def run_firmware(image: Path, board: str, net: Int8MLP, n: int, timeout: float = 120.0
                 ) -> FirmwareRun:
    """Run a built app (:func:`build_firmware`) on ``board`` (QEMU with -icount where the board
    table allows it, or the host build) until its end line."""
    from ..boards.emulators import start_board
    from ..boards.table import board as board_spec

    if board_spec(board).kind == "host":
        r = subprocess.run([str(image)], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise ValueError(f"{image} failed ({r.returncode}):\n{r.stderr[-2000:]}")
        return parse_output(r.stdout, net, n)
    with start_board(board, image, qmp=False) as emu:
        host, port = emu.url.removeprefix("socket://").rsplit(":", 1)
        buf = b""
        deadline = time.monotonic() + timeout
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            while not re.search(rb"(^|\n)E \d+\n", buf):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the int8 MLP app on {board} did not finish in {timeout} s")
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    return parse_output(buf.decode(errors="replace"), net, n)
