"""Model files of semantics version 1: refused with the message that says how to convert them, and
`erbp convert` rewrites them as version 2 files that compute exactly what version 1 computed.

tests/golden/v1/ keeps four golden cases of version 1 as they were (the initial model file, the
manifest with the samples and their results, the records of every tick, gzipped). Converted and
run by the version 2 reference, each reproduces every tick's full state (the version 1 variables;
version 2 adds the readout sums R) and every sample's results."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from erbp.reference import SEMANTICS_VERSION, modelfile

from conftest import GOLDEN

V1 = GOLDEN / "v1"
V1_CASES = sorted(p.stem for p in V1.glob("*.erbp"))


def test_the_v1_fixtures_are_there():
    assert V1_CASES == ["bounds_w16", "erbp_small", "perbp_deep_narrow", "wide_nohidden"]
    assert SEMANTICS_VERSION == 2


@pytest.mark.parametrize("name", V1_CASES)
def test_a_v1_file_is_refused_with_the_conversion_command(name):
    with pytest.raises(modelfile.ModelFileError, match=r"semantics version 1.*erbp convert "
                                                        r"OLD\.erbp NEW\.erbp.*retrain"):
        modelfile.loads((V1 / f"{name}.erbp").read_bytes())


@pytest.mark.parametrize("name", V1_CASES)
def test_a_converted_v1_network_computes_what_v1_computed(name):
    manifest = json.loads((V1 / f"{name}.json").read_text())
    assert manifest["semantics_version"] == 1
    net = modelfile.loads(modelfile.convert_v1((V1 / f"{name}.erbp").read_bytes()))
    c = net.cfg
    assert (c.readout, c.exit_margin, c.p_infer) == (0, 0, c.p_transmit)
    assert c.to_words()[:len(manifest["config_words"])] == manifest["config_words"]
    keys = [(k["name"], int(np.prod(k["shape"]))) for k in manifest["keys"]]
    records = np.frombuffer(gzip.decompress((V1 / f"{name}.bin.gz").read_bytes()),
                            "<i4").reshape(manifest["records"], -1)
    row = 0
    for s, want, ticks in zip(manifest["samples"], manifest["results"], manifest["ticks"]):
        recs: list[np.ndarray] = []
        r = net.run_sample(np.array(s["pixels"]), s["label"], s["mode"], sample=s["index"],
                           on_tick=lambda n: recs.append(np.concatenate(
                               [n.snapshot()[k].ravel() for k, _ in keys])))
        assert r.ticks == ticks == len(recs)
        assert dict(prediction=r.prediction, counts=r.counts.tolist(), events=r.events) == want
        np.testing.assert_array_equal(np.array(recs), records[row:row + ticks])
        row += ticks
    assert row == len(records)


def test_convert_refuses_what_is_not_a_v1_file():
    v1 = (V1 / "erbp_small.erbp").read_bytes()
    v2 = modelfile.convert_v1(v1)
    with pytest.raises(modelfile.ModelFileError, match="needs no conversion"):
        modelfile.convert_v1(v2)
    with pytest.raises(modelfile.ModelFileError, match="CRC"):
        modelfile.convert_v1(v1[:40] + bytes([v1[40] ^ 1]) + v1[41:])
    with pytest.raises(modelfile.ModelFileError, match="declares"):
        modelfile.convert_v1(v1[:-4])
    with pytest.raises(modelfile.ModelFileError, match="magic"):
        modelfile.convert_v1(b"XXXX" + v1[4:])


def test_loads_any_reads_version_1_as_converted_and_version_2_as_is():
    from erbp.reference import modelfile
    v1 = sorted((GOLDEN / "v1").glob("*.erbp"))[0].read_bytes()
    a = modelfile.loads_any(v1)
    b = modelfile.loads(modelfile.convert_v1(v1))
    assert modelfile.dumps(a) == modelfile.dumps(b)
    assert modelfile.dumps(modelfile.loads_any(modelfile.dumps(b))) == modelfile.dumps(b)
    with pytest.raises(modelfile.ModelFileError):
        modelfile.loads_any(b"\0" * 8)


def test_load_any_reads_a_version_1_file_from_disk_and_names_the_path_when_it_refuses(tmp_path):
    from erbp.reference import modelfile
    src = sorted((GOLDEN / "v1").glob("*.erbp"))[0]
    v1 = src.read_bytes()
    assert modelfile.dumps(modelfile.load_any(src)) == modelfile.dumps(modelfile.loads_any(v1))
    with pytest.raises(modelfile.ModelFileError, match="semantics version 1"):
        modelfile.load(src)  # the product's loader still refuses it, with the way out
    bad = tmp_path / "bad.erbp"
    bad.write_bytes(v1[:-4])
    with pytest.raises(modelfile.ModelFileError, match="bad.erbp"):
        modelfile.load_any(bad)
