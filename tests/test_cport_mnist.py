"""A real MNIST run in both engines: the default 784-100-10 network trained on a few hundred
digits ends with identical weights in the reference and the C engine (sample by sample through
the Python API, and in one call through the C batch path), and infers the same predictions."""
from __future__ import annotations

import numpy as np

from erbp.engines.c import CNetwork
from erbp.reference import INFER, TRAIN, NetConfig, Network

N_TRAIN = 300
N_TEST = 50


def test_mnist_training_gives_identical_weights(mnist):
    cfg = NetConfig.default("784-100-10")
    X, y = mnist.train_x[:N_TRAIN], mnist.train_y[:N_TRAIN]
    ref, one, batch = Network.create(cfg, 11), CNetwork.create(cfg, 11), CNetwork.create(cfg, 11)
    ref_pred, one_pred = [], []
    for i in range(N_TRAIN):
        ref_pred.append(ref.run_sample(X[i], int(y[i]), TRAIN).prediction)
        one_pred.append(one.run_sample(X[i], int(y[i]), TRAIN).prediction)
        if i % 100 == 99:  # locate a divergence early
            assert all(np.array_equal(a, b) for a, b in zip(ref.W, one.W)), f"after {i + 1}"
    res = batch.run_samples(X, y, TRAIN, chunk=128)
    assert ref.samples_seen == one.samples_seen == batch.samples_seen == N_TRAIN
    assert ref_pred == one_pred == res.predictions.tolist()
    changed = 0
    for l in range(cfg.n_layers):
        assert np.array_equal(ref.W[l], one.W[l]) and np.array_equal(ref.W[l], batch.W[l]), l
        changed += int((ref.W[l] != Network.create(cfg, 11).W[l]).sum())
    assert changed > 1000  # learning really happened
    Xt = mnist.test_x[:N_TEST]
    inf = batch.run_samples(Xt, mode=INFER)
    assert inf.predictions.tolist() == [ref.run_sample(Xt[i], sample=i).prediction
                                        for i in range(N_TEST)]
    assert batch.dumps() == one.dumps()
