"""Talk to an erbp board over a serial link: the host side of docs/protocol.md (version 2).

A board is anything that speaks the protocol: firmware on a microcontroller (a device path such as
``/dev/ttyACM0``), the same firmware under QEMU (``socket://127.0.0.1:PORT``, see
:mod:`erbp.boards.emulators`), or the host build on a pseudo-terminal (``/dev/pts/N``). Any URL that
pyserial's ``serial_for_url`` accepts works.

Every frame is COBS-encoded (PyPI ``cobs``), delimited by 0x00 and closed by a CRC-32 (zlib). Every
request gets one answer: a reply or a typed error. The client retransmits on a timeout or a CRC
error; the board recognises a retransmitted state-changing request (same sequence number, same
frame CRC) and re-sends its answer instead of applying it twice, so a training sample is never
learned twice however the link misbehaves.

    with Board("socket://127.0.0.1:4321") as b:
        caps = b.hello()                  # checks protocol and semantics versions
        b.deploy(Path("model.erbp").read_bytes())
        r = b.run(index=0, mode="infer", label=-1, pixels=image)
        model = b.read_model()
"""
from __future__ import annotations

import os
import random
import select
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from cobs import cobs

from ..errors import ErbpError
from ..reference.constants import SEMANTICS_VERSION  # docs/semantics.md (what boards must run)
from ..reference.modelfile import max_file_size

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

PROTOCOL_VERSION = 2

HDR = struct.Struct("<BBHI")  # version, type, flags, seq
CRC = struct.Struct("<I")

MSG_HELLO = 0x01
MSG_LOAD_BEGIN = 0x02
MSG_LOAD_CHUNK = 0x03
MSG_LOAD_END = 0x04
MSG_SAMPLE = 0x05
MSG_MODEL_READ = 0x06
MSG_STATE_READ = 0x07
MSG_RESET = 0x08
MSG_REPLY = 0x80
MSG_ERROR = 0xFF

ERR_CRC = 1
ERR_FRAMING = 2
ERR_TOO_LONG = 3
ERR_VERSION = 4
ERR_UNKNOWN_TYPE = 5
ERR_LENGTH = 6
ERR_NO_MODEL = 7
ERR_OFFSET = 8
ERR_NOT_LOADING = 9
ERR_MODEL = 10
ERR_NO_MEMORY = 11
ERR_ARGUMENT = 12
ERR_FLAGS = 13

ERROR_NAMES = {
    ERR_CRC: "CRC", ERR_FRAMING: "FRAMING", ERR_TOO_LONG: "TOO_LONG", ERR_VERSION: "VERSION",
    ERR_UNKNOWN_TYPE: "UNKNOWN_TYPE", ERR_LENGTH: "LENGTH", ERR_NO_MODEL: "NO_MODEL",
    ERR_OFFSET: "OFFSET", ERR_NOT_LOADING: "NOT_LOADING", ERR_MODEL: "MODEL",
    ERR_NO_MEMORY: "NO_MEMORY", ERR_ARGUMENT: "ARGUMENT", ERR_FLAGS: "FLAGS",
}
#: Errors about the frame itself (it was damaged on the way): the request is sent again.
LINK_ERRORS = (ERR_CRC, ERR_FRAMING, ERR_TOO_LONG)

MIN_CHUNK = 64  # chunks of model data shrink down to this on a noisy link
#: The shortest wait for an answer (seconds): the adaptive timeout never goes below it.
MIN_TIMEOUT = 0.005
#: The longest run of bytes without a delimiter kept while waiting for an answer: no answer of
#: protocol version 1 comes near it (the longest, a MODEL_READ chunk, is ~1.1 kB); longer runs are
#: garbage and are dropped, so a babbling link never grows the buffer without limit.
MAX_ANSWER_BYTES = 16384
#: The most bytes a MODEL_READ or STATE_READ may announce (the largest valid model file).
MAX_READ_BYTES = max_file_size()

MODE_INFER = 0
MODE_TRAIN = 1
SAMPLE_ZRUN = 0x80  # mode-byte flag: pixels coded as zero runs (see zero_runs)
MODES = {"infer": MODE_INFER, "train": MODE_TRAIN}

BOARD_NAME_BYTES = 16  # the board-name and firmware-version fields of a HELLO reply
MAX_CHUNK = 1024  # the largest data chunk of LOAD_CHUNK / MODEL_READ / STATE_READ

CAPS = struct.Struct(f"<HHHHIIIIIIIHH{BOARD_NAME_BYTES}s{BOARD_NAME_BYTES}sI")
RESULT = struct.Struct("<IBBBBIQQI")
READ_REPLY = struct.Struct("<II")
LOAD_END_REPLY = struct.Struct("<IIIHH")
ERROR_HEAD = struct.Struct("<HHI")


class BoardError(ErbpError):
    """Anything that went wrong talking to a board; the message says what and what to do."""


class BoardNotFound(BoardError):
    """The link cannot be opened, or nothing answers on it."""


class ProtocolMismatch(BoardError):
    """The board speaks another protocol or semantics version, or is not an erbp board."""


class LinkError(BoardError):
    """No valid answer after every retry."""


class BoardRefused(BoardError):
    """The board answered with a typed error."""

    def __init__(self, code: int, value: int, message: str, request: str):
        self.code, self.value, self.board_message = code, value, message
        name = ERROR_NAMES.get(code, f"code {code}")
        super().__init__(f"board refused {request}: {name} ({message}; value {value})")


class FrameError(BoardError, ValueError):
    """Bytes between two delimiters that are not a valid frame."""


# --- frames ------------------------------------------------------------------------------------
def encode_frame(msg_type: int, seq: int, body: bytes = b"", version: int = PROTOCOL_VERSION,
                 flags: int = 0) -> bytes:
    """One frame on the wire: a leading delimiter (ends any garbage), COBS(payload + CRC), 0x00."""
    payload = HDR.pack(version, msg_type, flags, seq & 0xFFFFFFFF) + bytes(body)
    payload += CRC.pack(zlib.crc32(payload))
    return b"\x00" + cobs.encode(payload) + b"\x00"


def decode_frame(raw: bytes) -> tuple[int, int, int, int, bytes]:
    """(version, type, flags, seq, body) of the bytes between two delimiters."""
    try:
        payload = cobs.decode(raw)
    except cobs.DecodeError as e:
        raise FrameError(f"not COBS: {e}") from None
    if len(payload) < HDR.size + CRC.size:
        raise FrameError(f"frame of {len(payload)} bytes is shorter than header + CRC")
    (crc,) = CRC.unpack_from(payload, len(payload) - 4)
    if zlib.crc32(payload[:-4]) != crc:
        raise FrameError("CRC mismatch")
    version, msg_type, flags, seq = HDR.unpack_from(payload)
    return version, msg_type, flags, seq, payload[HDR.size:-4]


# --- results -----------------------------------------------------------------------------------
@dataclass
class Caps:
    """What a board says about itself (the HELLO reply)."""

    protocol: int
    semantics: int
    model_format: int
    model_loaded: bool
    loading: bool
    max_frame: int
    arena_bytes: int
    ram_bytes: int
    cycles_hz: int
    boot_id: int
    samples_seen: int
    max_chunk: int
    max_pixels: int
    max_out: int
    board: str
    firmware: str
    max_model_bytes: int
    model_read_only: bool = False  # the model is built into the board's flash: inference only

    @classmethod
    def parse(cls, body: bytes) -> "Caps":
        if len(body) < CAPS.size:
            raise ProtocolMismatch(f"HELLO reply of {len(body)} bytes; expected {CAPS.size}")
        v = CAPS.unpack_from(body)
        return cls(protocol=v[0], semantics=v[1], model_format=v[2], model_loaded=bool(v[3] & 1),
                   loading=bool(v[3] & 2), max_frame=v[4], arena_bytes=v[5], ram_bytes=v[6],
                   cycles_hz=v[7], boot_id=v[8], samples_seen=v[9], max_chunk=v[10],
                   max_pixels=v[11], max_out=v[12],
                   board=v[13].rstrip(b"\0").decode("ascii", "replace"),
                   firmware=v[14].rstrip(b"\0").decode("ascii", "replace"), max_model_bytes=v[15],
                   model_read_only=bool(v[3] & 4))


@dataclass
class BoardResult:
    """The board's answer to one sample."""

    index: int
    mode: str
    prediction: int
    samples_seen: int
    events: int
    ticks: int
    cycles: int
    counts: list[int] = field(default_factory=list)

    @classmethod
    def parse(cls, body: bytes) -> "BoardResult":
        if len(body) < RESULT.size:
            raise FrameError("short sample result")
        index, mode, pred, n_out, _, seen, events, cycles, ticks = RESULT.unpack_from(body)
        if len(body) != RESULT.size + 4 * n_out:
            raise FrameError("sample result length does not match n_out")
        counts = list(struct.unpack_from(f"<{n_out}I", body, RESULT.size))
        return cls(index=index, mode="train" if mode == MODE_TRAIN else "infer", prediction=pred,
                   samples_seen=seen, events=events, ticks=ticks, cycles=cycles, counts=counts)


# --- the client --------------------------------------------------------------------------------
class Board:
    """A protocol client on a pyserial link (``serial_for_url``: device, ``socket://``, pty).

    ``timeout`` is the longest wait for an answer before sending the request again; ``retries``
    how many times to send it at most. ``log`` (optional) receives one line per retransmission.

    The wait adapts to the link (as TCP's retransmission timer, RFC 6298): for each kind of
    request the client keeps a smoothed round-trip time and its variation, measured on requests
    answered at the first sending, and waits ``srtt + 4 * rttvar`` (at least MIN_TIMEOUT, at most
    ``timeout``; ``timeout`` until a round trip has been measured), doubling the wait after each
    request lost in a row. A lost frame on a fast link thus costs milliseconds, not ``timeout``.
    A premature re-send is harmless: the board answers a repeated request from its cache.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 8,
                 baudrate: int = 115200, log: Callable[[str], None] | None = None,
                 connect_timeout: float = 10.0):
        import serial  # pyserial

        self.url, self.timeout, self.retries, self.log = url, timeout, retries, log
        self._buf = bytearray()
        self._seq = random.SystemRandom().randrange(1 << 31)
        self.retransmissions = 0
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                # Non-blocking reads (timeout 0): read() returns what has arrived; waiting is done
                # with select() on the port's descriptor (see _read_frame).
                self.ser = serial.serial_for_url(url, baudrate=baudrate, timeout=0)
                break
            except (serial.SerialException, OSError, ValueError) as e:
                if time.monotonic() > deadline or not url.startswith("socket://"):
                    raise BoardNotFound(f"cannot open {url}: {e}. Is the board connected (or the "
                                        f"emulator started: `erbp board start`)?") from None
                time.sleep(0.1)
        sock = getattr(self.ser, "_socket", None)  # socket://: frames go out at once, not
        if sock is not None:                         # held back by Nagle's algorithm (40 ms)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.caps: Caps | None = None
        #: code the pixels of samples as zero runs when that is shorter (MNIST: ~3x fewer bytes)
        self.zero_runs = True
        #: message type -> (smoothed round-trip time, its mean deviation), seconds
        self._rtt: dict[int, tuple[float, float]] = {}
        #: sendings the last request needed (1: answered at once)
        self.last_attempts = 0
        self._clean = 0  # chunked requests answered at once in a row (see _adaptive)
        self._chunks: dict[int, int] = {}  # message type -> the chunk its last request used

    # context manager
    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.ser.close()
        except Exception:  # noqa: BLE001 - closing a dead link must not mask the real error
            pass

    # --- frames on the link ---------------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        return self._seq

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests use it to send damaged frames)."""
        self.ser.write(data)
        self.ser.flush()

    def _read_frame(self, deadline: float) -> bytes | None:
        """The next non-empty run of bytes between delimiters, or None at the deadline."""
        while True:
            i = self._buf.find(b"\x00")
            while i == 0:
                del self._buf[:1]
                i = self._buf.find(b"\x00")
            if i > 0:
                raw = bytes(self._buf[:i])
                del self._buf[: i + 1]
                return raw
            chunk = self.ser.read(65536)
            if chunk:
                self._buf += chunk
                if len(self._buf) > MAX_ANSWER_BYTES and b"\x00" not in self._buf:
                    del self._buf[:]  # garbage longer than any frame: never kept whole
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._wait_readable(min(left, 0.2))

    def _wait_readable(self, seconds: float) -> None:
        try:
            fd = self.ser.fileno()
        except (AttributeError, NotImplementedError, OSError, ValueError):
            time.sleep(min(seconds, 0.002))  # e.g. loop:// has no descriptor
            return
        select.select([fd], [], [], seconds)

    def wait_for(self, msg_type: int) -> float:
        """The current wait for an answer to a request of ``msg_type`` (see the class docstring)."""
        if msg_type not in self._rtt:
            return self.timeout
        srtt, rttvar = self._rtt[msg_type]
        return min(self.timeout, max(MIN_TIMEOUT, srtt + 4 * rttvar))

    def _observe(self, msg_type: int, rtt: float) -> None:
        """One measured round trip (RFC 6298's gains: 1/8 for the mean, 1/4 for the deviation)."""
        if msg_type not in self._rtt:
            self._rtt[msg_type] = (rtt, rtt / 2)
            return
        srtt, rttvar = self._rtt[msg_type]
        rttvar = 0.75 * rttvar + 0.25 * abs(srtt - rtt)
        self._rtt[msg_type] = (0.875 * srtt + 0.125 * rtt, rttvar)

    def request(self, msg_type: int, body: bytes = b"", *, seq: int | None = None,
                timeout: float | None = None, what: str | None = None,
                retries: int | None = None) -> bytes:
        """Send a request and return the body of its reply; raises BoardRefused on a typed error
        and LinkError when no valid answer arrives after every retry. ``timeout``: a fixed wait
        instead of the adaptive one."""
        seq = self.next_seq() if seq is None else seq & 0xFFFFFFFF
        what = what or f"message 0x{msg_type:02x}"
        frame = encode_frame(msg_type, seq, body)
        adaptive = timeout is None
        wait = self.wait_for(msg_type) if adaptive else timeout
        problems: list[str] = []
        retries = self.retries if retries is None else retries
        attempt = counted = 0
        while counted < retries:
            if attempt:
                self.retransmissions += 1
                if self.log:
                    self.log(f"retransmitting {what} (seq {seq}): {problems[-1]}")
            attempt += 1
            counted += 1
            self.send_raw(frame)
            sent = time.monotonic()
            deadline = sent + wait
            while True:
                raw = self._read_frame(deadline)
                if raw is None:
                    problems.append(f"no answer within {wait:.3g} s")
                    if wait < self.timeout:
                        # a short wait that expired is a probe, not one of the `retries` chances
                        # of a full `timeout` (a slow board is not given up on sooner)
                        counted -= 1
                        wait = min(self.timeout, 2 * wait)  # lost in a row: back off
                    break
                try:
                    version, rtype, _flags, rseq, rbody = decode_frame(raw)
                except FrameError as e:
                    problems.append(f"damaged answer ({e})")
                    break  # our answer may be the damaged one: ask again
                if version != PROTOCOL_VERSION:
                    if rtype == MSG_ERROR and len(rbody) >= ERROR_HEAD.size:
                        raise ProtocolMismatch(self._version_message(rbody))
                    raise ProtocolMismatch(f"{self.url} answers in protocol version {version}; "
                                           f"this erbp speaks version {PROTOCOL_VERSION}")
                if rtype == MSG_ERROR:
                    if len(rbody) < ERROR_HEAD.size:
                        raise ProtocolMismatch(f"an error answer of {len(rbody)} bytes to {what}")
                    code, _, value = ERROR_HEAD.unpack_from(rbody)
                    message = rbody[ERROR_HEAD.size:].decode("ascii", "replace")
                    if code in LINK_ERRORS:
                        problems.append(f"board saw a damaged frame ({message})")
                        if code == ERR_CRC and rseq == seq:
                            break  # our request was damaged: send it again at once
                        # Garbage that preceded our frame (or our frame, damaged beyond
                        # recognition): keep waiting; the timeout re-sends if need be.
                        continue
                    if rseq != seq:
                        continue  # a stale answer to an earlier request
                    if code == ERR_VERSION:
                        raise ProtocolMismatch(self._version_message(rbody))
                    raise BoardRefused(code, value, message, what)
                if rseq != seq:
                    continue  # a duplicate answer to an earlier request: already handled
                if rtype != msg_type | MSG_REPLY:
                    raise ProtocolMismatch(f"answer of type 0x{rtype:02x} to {what}")
                if attempt == 1 and adaptive:
                    self._observe(msg_type, time.monotonic() - sent)  # Karn: first sendings only
                self.last_attempts = attempt
                return rbody
        raise LinkError(f"no valid answer to {what} from {self.url} after {attempt} "
                        f"attempts ({'; '.join(problems[-3:])})")

    def _version_message(self, rbody: bytes) -> str:
        _, _, value = ERROR_HEAD.unpack_from(rbody)
        return (f"the board at {self.url} speaks protocol version {value}; this erbp speaks "
                f"version {PROTOCOL_VERSION}: update the firmware (`erbp board flash`) or erbp")

    # --- requests ---------------------------------------------------------------------------------
    def hello(self, *, check: bool = True, timeout: float | None = None) -> Caps:
        """Ask the board who it is; with ``check``, refuse other protocol/semantics versions."""
        try:
            # Short first waits: a board that just booted may have missed the first frame.
            body = self.request(MSG_HELLO, what="HELLO",
                                timeout=min(self.timeout, 1.0) if timeout is None else timeout)
        except LinkError as e:
            raise BoardNotFound(f"no erbp board answers on {self.url}: {e}. Check the port, that "
                                f"the board runs the erbp firmware, and the baud rate.") from None
        caps = Caps.parse(body)
        if check and caps.protocol != PROTOCOL_VERSION:
            raise ProtocolMismatch(f"board speaks protocol {caps.protocol}, erbp {PROTOCOL_VERSION}")
        if check and caps.semantics != SEMANTICS_VERSION:
            raise ProtocolMismatch(
                f"board {caps.board} implements semantics version {caps.semantics}; this erbp "
                f"implements version {SEMANTICS_VERSION}: flash matching firmware "
                f"(`erbp board flash`) so that results stay bit-exact")
        self.caps = caps
        return caps

    def deploy(self, model: bytes, *, progress: Callable[[int], None] | None = None) -> dict:
        """Upload a model file (chunked); the board validates it whole (sizes, configuration,
        weight ranges, CRC) and makes it live. Returns the board's summary."""
        caps = self.caps or self.hello()
        chunk = limit = max(16, min(caps.max_chunk, MAX_CHUNK))
        self.request(MSG_LOAD_BEGIN, struct.pack("<I", len(model)), what="LOAD_BEGIN")
        off = 0
        while off < len(model):
            try:
                body, chunk = self._adaptive(
                    MSG_LOAD_CHUNK, lambda c: struct.pack("<I", off) + model[off: off + c],
                    f"LOAD_CHUNK at {off}", chunk, limit)
            except BoardRefused as e:
                if e.code != ERR_OFFSET:
                    raise
                body = struct.pack("<I", e.value)  # the board says where to go on
            (nxt,) = struct.unpack_from("<I", body)
            if progress:
                progress(nxt - off)
            off = nxt
        size, arena, seen, n_in, n_out = LOAD_END_REPLY.unpack(self.request(MSG_LOAD_END,
                                                                            what="LOAD_END"))
        return {"model_bytes": size, "arena_bytes": arena, "samples_seen": seen, "n_in": n_in,
                "n_out": n_out}

    def run(self, index: int, mode: str, label: int, pixels: ArrayLike, *, seq: int | None = None,
            timeout: float | None = None) -> BoardResult:
        """Run one sample on the board. ``seq`` fixes the sequence number (a stream derives it from
        the sample's position so a resumed stream's re-sent sample is recognised). ``timeout``: a
        fixed wait instead of the adaptive one, for a sample whose instruction count is measured
        (a premature re-send arriving while the board computes adds its receive interrupts to
        the count)."""
        px = bytes(bytearray(pixels))
        lab = 255 if label is None or label < 0 else int(label)
        flag, data = 0, px
        if self.zero_runs:
            code = zero_runs(px)
            max_frame = self.caps.max_frame if self.caps else 0
            if len(code) < len(px) and len(px) + len(code) + 16 <= max_frame:
                flag, data = SAMPLE_ZRUN, code
        body = struct.pack("<IBBH", index & 0xFFFFFFFF, MODES[mode] | flag, lab, len(px)) + data
        return BoardResult.parse(self.request(MSG_SAMPLE, body, seq=seq, timeout=timeout,
                                              what=f"sample {index} ({mode})"))

    def _adaptive(self, msg_type: int, make_body: Callable[[int], bytes], what: str,
                  chunk: int, limit: int) -> tuple[bytes, int]:
        """A chunked request whose chunk adapts to the link: halved (down to MIN_CHUNK) when the
        request needed more than one sending, doubled (up to ``limit``) after four answered at
        once; a chunk that gets no answer after a few sendings is halved at once, and MIN_CHUNK
        gets every retry. Returns (reply body, the chunk for the next request)."""
        while True:
            retries = self.retries if chunk <= MIN_CHUNK else min(self.retries, 4)
            try:
                body = self.request(msg_type, make_body(chunk), what=what, retries=retries)
            except LinkError:
                if chunk <= MIN_CHUNK:
                    raise
                chunk //= 2
                continue
            if self.last_attempts > 1:  # damaged or lost on the way: smaller frames fare better
                self._clean, chunk = 0, max(MIN_CHUNK, chunk // 2)
            else:
                self._clean += 1
                if self._clean >= 4:
                    self._clean, chunk = 0, min(limit, 2 * chunk)
            return body, chunk

    def _read_all(self, msg_type: int, what: str,
                  progress: Callable[[int], None] | None = None) -> bytes:
        out = bytearray()
        total = None
        limit = (self.caps.max_chunk if self.caps else MAX_CHUNK) or MAX_CHUNK
        chunk = min(limit, self._chunks.get(msg_type, limit))  # where the last read ended
        while total is None or len(out) < total:
            body, chunk = self._adaptive(msg_type, lambda c: struct.pack("<IH", len(out), c),
                                         f"{what} at {len(out)}", chunk, limit)
            total, off = READ_REPLY.unpack_from(body)
            data = body[READ_REPLY.size:]
            if total > MAX_READ_BYTES:
                raise ProtocolMismatch(f"{what}: the board announces {total} bytes, more than "
                                       f"any model ({MAX_READ_BYTES})")
            if off != len(out) or (not data and len(out) < total) or off + len(data) > total:
                raise LinkError(f"{what}: board answered offset {off} for {len(out)}")
            out += data
            self._chunks[msg_type] = chunk
            if progress:
                progress(len(data))
        return bytes(out)

    def read_model(self, *, progress: Callable[[int], None] | None = None) -> bytes:
        """The live network as a model file (weights after every sample learned on the board)."""
        data = self._read_all(MSG_MODEL_READ, "MODEL_READ", progress)
        if len(data) < 8 or zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
            raise LinkError("the model read back fails its CRC")
        return data

    def model_crc(self) -> int:
        """The CRC-32 that closes the live model file (identifies the model without pulling it)."""
        total, _ = READ_REPLY.unpack_from(self.request(MSG_MODEL_READ, struct.pack("<IH", 0, 0),
                                                       what="MODEL_READ size"))
        body = self.request(MSG_MODEL_READ, struct.pack("<IH", total - 4, 4), what="MODEL_READ crc")
        return struct.unpack_from("<I", body, READ_REPLY.size)[0]

    def read_state(self) -> list[int]:
        """The dynamic state after the last sample as int32 words (docs/protocol.md)."""
        data = self._read_all(MSG_STATE_READ, "STATE_READ")
        return list(struct.unpack(f"<{len(data) // 4}i", data))

    def reset(self) -> None:
        """Reset the board (the model is gone afterwards)."""
        self.request(MSG_RESET, what="RESET")
        self.caps = None


def zero_runs(px: bytes) -> bytes:
    """Pixels coded as zero runs (docs/protocol.md): token t < 0x80 is followed by t + 1 literal
    pixels; t >= 0x80 stands for t - 0x7F zero pixels."""
    out = bytearray()
    i, n = 0, len(px)
    while i < n:
        j = i
        if px[i] == 0:
            while j < n and px[j] == 0 and j - i < 128:
                j += 1
            out.append(0x7F + j - i)
        else:
            while j < n and px[j] != 0 and j - i < 128:
                j += 1
            out.append(j - i - 1)
            out += px[i:j]
        i = j
    return bytes(out)


def seq_for_position(position: int) -> int:
    """The sequence number of the sample at ``position`` of a stream (deterministic, so that a
    stream resumed by a new process re-sends an unanswered sample under the same number)."""
    return (0x5A000000 + position) & 0xFFFFFFFF


def default_url() -> str | None:
    """The board URL from $ERBP_BOARD, if set."""
    return os.environ.get("ERBP_BOARD") or None
