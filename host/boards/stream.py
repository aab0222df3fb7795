"""Stream a data set through a board, resumably: one JSON line per answered sample.

The results file is the stream's memory. A line is written (and flushed to disk) as soon as the
board answers, so an interrupted stream continues at the first position without a line: no sample is
lost, none is recorded twice. Sample requests carry a sequence number derived from their position
(:func:`erbp.boards.client.seq_for_position`), so a sample the board applied but whose answer never
arrived is answered again from the board's cache, not learned twice.

The first line of a results file is its header, ``{"stream": {...}}``: everything that defines the
stream (mode, number of samples, the first sample index, the SHA-256 of the samples and labels,
the SHA-256 and CRC-32 of the model on the board when the stream began, and what the caller adds:
data set, split, first row). A stream continues a results file only under the same definition;
otherwise it refuses with one line naming what differs, so a file never mixes two streams.

A board that loses its model (reset, power cycle) answers NO_MODEL. The stream then re-deploys its
last checkpoint (a model file pulled from the board every ``checkpoint_every`` training samples,
kept beside the results as ``<results>.ckpt.erbp``), re-runs the training samples recorded since
that checkpoint (checking that the board answers exactly as before) and goes on. Samples are pure
functions of the weights and the sample index (docs/semantics.md section 4), so the results and
the final weights equal those of an undisturbed run.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..fileio import MAX_JSON_BYTES, read_limited, write_bytes_atomic
from ..provenance import now
from ..reference import modelfile
from .client import (ERR_NO_MODEL, ERR_NOT_LOADING, ERR_OFFSET, Board, BoardError, BoardRefused,
                    BoardResult, seq_for_position)

#: The result fields a stream records and compares (the per-sample cost included).
RESULT_KEYS = ("prediction", "counts", "events", "ticks")
#: Version of the results file's header (the first line, ``{"stream": {...}}``).
STREAM_VERSION = 1
#: Header fields that are records, not the stream's definition (never compared on resume).
NOT_IDENTITY = ("created",)


class StreamError(BoardError):
    """A stream that cannot go on (the message says why and how to continue)."""


def checkpoint_path(results: Path) -> Path:
    return results.with_name(results.name + ".ckpt.erbp")


def model_samples_seen(model: bytes) -> int:
    """samples_seen from a model file's header (docs/semantics.md section 9)."""
    return struct.unpack_from("<I", model, 16)[0]


def data_sha256(x: np.ndarray, y: np.ndarray | None) -> str:
    """SHA-256 (hex) of a stream's samples: the pixels as uint8 rows, then the labels as
    little-endian int64 (nothing for an unlabelled stream)."""
    h = hashlib.sha256(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
    if y is not None:
        h.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return h.hexdigest()


def read_stream(path: Path) -> tuple[dict | None, list[dict]]:
    """(header, result lines) of a results file ((None, []) if there is none). A torn last line
    (the writer was killed mid-line) is cut off the file; any other line that is not what a
    stream writes is refused (StreamError)."""
    path = Path(path)
    if not path.exists():
        return None, []
    raw = read_limited(path, MAX_JSON_BYTES, "results file")
    keep = raw[: raw.rfind(b"\n") + 1]
    if len(keep) != len(raw):
        with open(path, "r+b") as f:
            f.truncate(len(keep))
    lines = []
    for i, s in enumerate(keep.split(b"\n")[:-1]):
        try:
            line = json.loads(s)
        except ValueError as e:
            raise StreamError(f"{path}: line {i + 1} is corrupt ({e})") from None
        if not isinstance(line, dict):
            raise StreamError(f"{path}: line {i + 1} is not a JSON object")
        lines.append(line)
    if not lines:
        return None, []
    header = lines.pop(0).get("stream")
    if not isinstance(header, dict):
        raise StreamError(f"{path} has no stream header (an older erbp wrote it, or it is not a "
                          f"results file): stream into another file")
    for i, line in enumerate(lines):
        if line.get("pos") != i:
            raise StreamError(f"{path}: line {i + 2} records position {line.get('pos')}, expected "
                              f"{i}: not a results file of one stream")
    return header, lines


def read_results(path: Path) -> list[dict]:
    """The result lines of a results file (its header skipped; see :func:`read_stream`)."""
    return read_stream(path)[1]


def _differences(recorded: dict, now_: dict) -> list[str]:
    keys = sorted((set(recorded) | set(now_)) - set(NOT_IDENTITY))
    return [f"{k} {recorded.get(k)!r} -> {now_.get(k)!r}" for k in keys
            if recorded.get(k) != now_.get(k)]


def run_stream(board: Board, x: np.ndarray, y: np.ndarray | None, mode: str, out: Path, *,
               first_index: int | None = None, checkpoint_every: int = 100, progress: bool = False,
               on_result: Callable[[dict], None] | None = None,
               max_recoveries: int = 5, log: Callable[[str], None] | None = None,
               identity: dict | None = None) -> list[dict]:
    """Stream samples ``x[pos]`` (uint8 rows) with labels ``y[pos]`` through ``board``.

    ``checkpoint_every``: pull the model every N training samples (and once at the start, also in
    inference) so that a board reset can be recovered from; 0 disables checkpoints and recovery.
    ``mode``: "train" or "infer". Sample indices: in training ``samples_seen`` of the board when
    the stream starts, plus the position (the convention of docs/semantics.md section 7); in
    inference ``first_index + pos`` (default: the position). ``identity``: what else defines the
    stream (JSON values, e.g. data set, split, first row), recorded in the header and compared
    on resume. Returns every result line of the results file.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    header, lines = read_stream(out)
    n = len(x)
    define = {"version": STREAM_VERSION, "mode": mode, "count": n,
              "first_index": None if mode == "train" else (first_index or 0),
              "data_sha256": data_sha256(x, y),
              **(identity or {})}
    if header is not None:
        recorded = {k: v for k, v in header.items() if not k.startswith("model_")}
        diff = _differences(recorded, define)
        if diff:
            raise StreamError(f"{out} holds another stream ({'; '.join(diff)}): continue it with "
                              f"its own arguments or stream into another file")
    if len(lines) > n:
        raise StreamError(f"{out} has {len(lines)} results but the stream has {n} samples")
    caps = board.hello()
    ckpt = checkpoint_path(out)
    if not caps.model_loaded and not ckpt.exists():
        raise StreamError(f"no model on the board {caps.board}: deploy one first "
                          f"(`erbp board deploy MODEL`)")
    if header is None:
        if not caps.model_loaded:
            raise StreamError(f"no model on the board {caps.board}: deploy one first "
                              f"(`erbp board deploy MODEL`)")
        model = board.read_model()
        header = {**define, "model_sha256": hashlib.sha256(model).hexdigest(),
                  "model_crc32": zlib.crc32(model[:-4]), "model_samples_seen":
                  model_samples_seen(model), "created": now()}
        if checkpoint_every > 0:
            write_bytes_atomic(ckpt, model)
        with open(out, "w", encoding="utf-8") as f:
            f.write(json.dumps({"stream": header}) + "\n")
            f.flush()
            os.fsync(f.fileno())
    if mode == "train":
        base = header["model_samples_seen"]
    else:
        base = header["first_index"]
    if checkpoint_every > 0 and not ckpt.exists() and caps.model_loaded:
        write_bytes_atomic(ckpt, board.read_model())
    recoveries = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, initial=len(lines), unit="sample", desc=f"{mode} on {caps.board}")

    def record(pos: int, r: BoardResult) -> dict:
        return {"pos": pos, "label": int(y[pos]) if y is not None else -1, **asdict(r)}

    with open(out, "a", encoding="utf-8") as f:
        pos = len(lines)
        if mode == "infer" and lines and caps.model_loaded:
            if board.model_crc() != header["model_crc32"]:
                raise StreamError(f"the board holds another model than the one {out} was "
                                  f"streamed with: deploy {ckpt} to continue this stream")
        if mode == "train" and lines and caps.model_loaded:
            expect = lines[-1]["samples_seen"]
            if caps.samples_seen not in (expect, expect + 1):
                raise StreamError(
                    f"the board has seen {caps.samples_seen} training samples but {out} ends "
                    f"after {expect}: it was retrained or reset in between; deploy the checkpoint "
                    f"{ckpt} and stream again")
        while pos < n:
            label = int(y[pos]) if y is not None else -1
            index = (base + pos) & 0xFFFFFFFF
            try:
                r = board.run(index, mode, label, x[pos], seq=seq_for_position(pos))
            except BoardRefused as e:
                if e.code != ERR_NO_MODEL or not ckpt.exists():
                    raise
                while True:  # the board may be reset again while it is being restored
                    recoveries += 1
                    if recoveries > max_recoveries:
                        raise StreamError(f"the board lost its model {recoveries - 1} times; "
                                          f"giving up at position {pos} (run again to resume)")
                    if log:
                        log(f"board lost its model at position {pos} (reset?): restoring {ckpt}")
                    try:
                        _recover(board, ckpt, lines, x, y, mode, base, pos, log)
                        break
                    except BoardRefused as again:
                        if again.code not in (ERR_NO_MODEL, ERR_NOT_LOADING, ERR_OFFSET):
                            raise
                continue
            line = record(pos, r)
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
            lines.append(line)
            if on_result:
                on_result(line)
            if bar:
                bar.update(1)
            pos += 1
            if mode == "train" and checkpoint_every > 0 and pos % checkpoint_every == 0 and pos < n:
                write_bytes_atomic(ckpt, board.read_model())
    if bar:
        bar.close()
    return lines


def _recover(board: Board, ckpt: Path, lines: list[dict], x, y, mode: str, base: int, pos: int,
             log: Callable[[str], None] | None) -> None:
    """Re-deploy the checkpoint and replay the recorded training samples after it."""
    model = modelfile.read_bytes(ckpt)
    board.caps = None
    board.deploy(model)
    if mode != "train":
        return
    start = (model_samples_seen(model) - base) & 0xFFFFFFFF
    if start > pos:
        raise StreamError(f"checkpoint {ckpt} is ahead of the results ({start} > {pos})")
    for p in range(start, pos):
        # A fresh sequence number: the board's cache must not answer for the lost weights.
        r = board.run((base + p) & 0xFFFFFFFF, mode, int(y[p]), x[p])
        old = lines[p]
        if [getattr(r, k) for k in RESULT_KEYS] != [old[k] for k in RESULT_KEYS]:
            raise StreamError(f"replaying position {p} after a reset gave another result "
                              f"({r.prediction} {r.counts} vs {old['prediction']} "
                              f"{old['counts']}): the board is not deterministic")
    if log:
        log(f"replayed positions {start}..{pos - 1} from the checkpoint")


def load_split(dataset: str, split: str, first: int, count: int | None,
               data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows [first, first + count) of a data set split as (uint8 pixels [N, n_in], labels [N]);
    all rows from ``first`` if count is None. Rows outside the split are refused (StreamError):
    a stream never silently streams fewer samples, or none."""
    from ..data.datasets import load_dataset

    ds = load_dataset(dataset, data_dir)
    x, y = (ds.train_x, ds.train_y) if split == "train" else (ds.test_x, ds.test_y)
    if not 0 <= first < len(x):
        raise StreamError(f"--first {first} is outside the {split} split of {dataset} (rows "
                          f"0..{len(x) - 1})")
    if count is not None and (count < 1 or first + count > len(x)):
        raise StreamError(f"--count {count} from --first {first} is outside the {split} split "
                          f"of {dataset} ({len(x)} rows: at most --count {len(x) - first})")
    end = len(x) if count is None else first + count
    return x[first:end], y[first:end]


def compare(lines: Iterable[dict], expected: Iterable[dict]) -> list[int]:
    """Positions where a stream's results differ from expected ones (RESULT_KEYS)."""
    bad = []
    for a, b in zip(lines, expected):
        if [a[k] for k in RESULT_KEYS] != [list(b[k]) if k == "counts" else b[k]
                                           for k in RESULT_KEYS]:
            bad.append(a["pos"])
    return bad


def replay_on_pc(model: str | Path | bytes, lines: list[dict], x: np.ndarray,
                 y: np.ndarray | None, mode: str, first_index: int | None = None
                 ) -> tuple[list[int], bytes]:
    """Re-run a stream's samples on the PC's C engine from the model deployed before it: the
    positions whose results differ from the board's (RESULT_KEYS: prediction, counts, events,
    ticks run) or whose sample index is not this stream's (:func:`run_stream`'s convention: the
    model's samples_seen plus the position in training, ``first_index`` (default 0) plus the
    position in inference), and the model file the PC holds afterwards (in training: what the
    board must hold, bit for bit)."""
    from ..engines.c import CNetwork

    net = CNetwork.loads(model) if isinstance(model, bytes) else CNetwork.load(model)
    base = net.samples_seen if mode == "train" else (first_index or 0)
    bad = []
    for line in lines:
        p = line["pos"]
        if line["index"] != (base + p) & 0xFFFFFFFF:  # not this stream's sample
            bad.append(p)
            continue
        r = net.run_sample(x[p], int(y[p]) if mode == "train" and y is not None else -1, mode,
                           line["index"])
        pc = [[int(c) for c in v] if k == "counts" else int(v)
              for k, v in ((k, getattr(r, k)) for k in RESULT_KEYS)]
        if pc != [line[k] for k in RESULT_KEYS]:
            bad.append(p)
    return bad, net.dumps()
