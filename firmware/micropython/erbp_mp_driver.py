# erbp_mp_driver -- runs erbp_mp for a host over a line protocol (stdin/stdout of the unix port).
#
# The host (erbp.engines.micropython.MicroPythonEngine) sends one JSON object per line and reads one
# JSON object per line back: {"ok": true, ...} or {"ok": false, "error": "Type: message"}.
# Binary data travel as hex (pixels) or base64 (records, model files). Requests:
#   {"op": "load", "path": P, "backend": "auto"|"viper"|"plain"}     -> info
#   {"op": "create", "words": [WORDS ints], "seed": S, "backend": B} -> info
#   {"op": "run", "mode": M, "label": L, "index": N or null, "pixels": HEX, "records": bool}
#       -> prediction, counts, events, ticks, input_spikes, hidden_spikes, samples_seen
#          [, "records": base64 of int32 LE, one snapshot record per tick run]
#   {"op": "batch", "mode": M, "path": P, "start": N, "count": C}
#       P holds C samples of 1 label byte + n_in pixel bytes; sample indices N .. N+C-1
#       -> predictions, counts, events, ticks (per sample), us (time of the C samples, measured
#          in MicroPython)
#   {"op": "snapshot"} -> record (base64 of the current state as one record)
#   {"op": "dump"} -> model (base64 of the model file);  {"op": "save", "path": P}
#   {"op": "heapcheck", "mode": M, "label": L, "pixels": HEX}: runs the sample with the heap
#       locked -> allocates: whether the sample needed the heap
#   {"op": "selftest"}, {"op": "info"}, {"op": "quit"}
import array
import binascii
import json
import sys
import time

import erbp_mp

_net = None


def _info():
    n = _net
    d = {"backend": n.backend, "sizes": list(n.cfg.sizes), "seed": n.seed,
         "samples_seen": n.samples_seen, "record_words": n.record_words(),
         "module": getattr(erbp_mp, "__file__", "?"), "kernel_error": erbp_mp.kernel_error}
    try:
        import erbp_mp_viper
        d["viper_module"] = getattr(erbp_mp_viper, "__file__", "?")
    except Exception as e:
        d["viper_module"] = "unavailable: %r" % e
    d["layout"] = [[k, len(a)] for k, a in n.snapshot_layout()]
    return d


def _run(req):
    n = _net
    px = binascii.unhexlify(req["pixels"])
    rec = None
    if req.get("records"):
        nw = n.record_words()
        T = n.cfg.ticks_train if req["mode"] == erbp_mp.TRAIN else n.cfg.ticks_infer
        rec = array.array("i", bytes(4 * nw * T))
        pos = [0]

        def on_tick(net):
            pos[0] = net.snapshot_into(rec, pos[0])
    else:
        on_tick = None
    p = n.run(px, req.get("label", -1), req["mode"], req.get("index"), on_tick)
    out = {"prediction": p, "counts": n.counts(), "events": n.events, "ticks": n.t,
           "input_spikes": n.input_spikes, "hidden_spikes": n.hidden_spikes,
           "samples_seen": n.samples_seen}
    if rec is not None:  # the ticks run (an early exit leaves the rest of the buffer unused)
        used = memoryview(rec)[: pos[0]] if pos[0] < len(rec) else rec
        out["records"] = binascii.b2a_base64(used).decode().strip()
    return out


def _batch(req):
    n = _net
    nin = n.cfg.n_in
    mode = req["mode"]
    start = req["start"]
    count = req["count"]
    preds = []
    counts = []
    events = []
    ticks = []
    buf = bytearray(1 + nin)
    px = memoryview(buf)[1:]
    us = 0
    with open(req["path"], "rb") as f:
        for i in range(count):
            if f.readinto(buf) != len(buf):
                raise ValueError("batch file ends at sample %d" % i)
            t0 = time.ticks_us()
            p = n.run(px, buf[0] if mode == erbp_mp.TRAIN else -1, mode, (start + i) & 0xFFFFFFFF)
            us += time.ticks_diff(time.ticks_us(), t0)
            preds.append(p)
            counts.append(n.counts())
            events.append(n.events)
            ticks.append(n.t)
    return {"predictions": preds, "counts": counts, "events": events, "ticks": ticks, "us": us,
            "samples_seen": n.samples_seen}


def _heapcheck(req):
    import micropython
    px = binascii.unhexlify(req["pixels"])
    mode = req["mode"]
    label = req.get("label", -1)
    n = _net
    n.run(px, label, mode)  # warm up (first calls may intern names)
    micropython.heap_lock()
    try:
        n.run(px, label, mode)
        allocates = False
    except MemoryError:
        allocates = True
    finally:
        micropython.heap_unlock()
    return {"allocates": allocates}


def handle(req):
    global _net
    op = req["op"]
    if op == "load":
        _net = erbp_mp.load(req["path"], req.get("backend", "auto"))
        return _info()
    if op == "create":
        _net = erbp_mp.create(req["words"], req["seed"], req.get("backend", "auto"))
        return _info()
    if op == "selftest":
        erbp_mp._selftest(erbp_mp.kernels(req.get("backend", "auto")))
        return {}
    if _net is None:
        raise ValueError("no network loaded")
    if op == "info":
        return _info()
    if op == "run":
        return _run(req)
    if op == "batch":
        return _batch(req)
    if op == "snapshot":
        rec = array.array("i", bytes(4 * _net.record_words()))
        _net.snapshot_into(rec)
        return {"record": binascii.b2a_base64(rec).decode().strip()}
    if op == "dump":
        return {"model": binascii.b2a_base64(_net.dumps()).decode().strip()}
    if op == "save":
        _net.save(req["path"])
        return {}
    if op == "heapcheck":
        return _heapcheck(req)
    raise ValueError("unknown op %r" % op)


def main():
    out = sys.stdout
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get("op") == "quit":
                out.write('{"ok": true}\n')
                break
            res = handle(req)
            res["ok"] = True
        except Exception as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(res))
        out.write("\n")
        try:
            out.flush()
        except AttributeError:
            pass


if __name__ == "__main__":
    main()
