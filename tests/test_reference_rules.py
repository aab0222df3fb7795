"""The reference engine's dynamics against hand-computed cases (docs/semantics.md section 7)."""
import numpy as np
import pytest

from erbp.reference import INFER, TRAIN, Network, predict, rng
from erbp.reference.golden import explicit_config
from erbp.reference.network import stream
from erbp.reference.constants import STREAM_INPUT


def tiny(**kw):
    """2 inputs -> 2 outputs, no hidden layer; silent by default (no noise, pixels decide)."""
    base = dict(noise_prob=0, noise_weight=0, in_gain=257, burn_in=0, label_period=1,
                ticks_train=50, ticks_infer=50)
    base.update(kw)
    return Network.create(explicit_config((2, 2), **base), seed=3)


def test_leaks_and_integration_by_hand():
    net = tiny(syn_shift=2, mem_shift=2, i2v_shift=1, threshold=1000)
    net.begin_sample(np.zeros(2, np.int64), -1, INFER, 0)
    out = net.pops[-1]
    out.I[:] = 100
    net.tick()
    assert out.I.tolist() == [75, 75] and out.V.tolist() == [37, 37]
    net.tick()
    assert out.I.tolist() == [56, 56] and out.V.tolist() == [55, 55]
    out.I[:] = -100  # negative current: ASR floors, DECAY rounds toward zero
    out.V[:] = -3
    net.tick()
    assert out.I.tolist() == [-75, -75] and out.V.tolist() == [-2 + (-38), -2 - 38]


def test_threshold_is_inclusive_then_reset_and_refractory():
    net = tiny(mem_shift=15, syn_shift=2, i2v_shift=1, threshold=1000, refractory=2)
    net.begin_sample(np.zeros(2, np.int64), -1, INFER, 0)
    out = net.pops[-1]
    out.V[:] = [990, 993]
    out.I[:] = [22, 22]
    net.tick()  # I 22->16, V = 990-1+8 = 997 / 993-1+8 = 1000 (== threshold: spikes)
    assert out.I.tolist() == [16, 16]
    assert out.V.tolist() == [997, 0] and out.spk.tolist() == [False, True]
    assert out.ref.tolist() == [0, 2]
    net.tick()  # I 16 -> 12; V0 = 997 - 1 + 6 = 1002 spikes; neuron 1 refractory
    assert out.spk.tolist() == [True, False] and out.V.tolist() == [0, 0]
    assert out.ref.tolist() == [2, 1]
    net.tick()
    assert out.ref.tolist() == [1, 0] and out.V.tolist() == [0, 0]
    net.tick()  # neuron 1 integrates again: I = 12 -> 9 -> 6, V = DECAY(0) + ASR(6, 1) = 3
    assert out.I.tolist() == [6, 6]
    assert out.ref.tolist() == [0, 0] and out.V.tolist() == [0, 3]
    assert out.count.tolist() == [1, 1]


def test_input_spikes_follow_the_draws_and_zero_pixels_never_spike():
    net = tiny(in_gain=100)
    px = np.array([0, 200], np.int64)
    net.begin_sample(px, -1, INFER, 9)
    for t in range(40):
        net.tick()
        r = rng.draws(rng.key(net.seed, stream(STREAM_INPUT), 9, t), 2).astype(np.int64)
        assert net.in_spk.tolist() == [False, bool((r[1] >> 16) < 200 * 100)]


def test_input_refractory():
    net = tiny(in_refractory=2)
    net.begin_sample(np.array([255, 0], np.int64), -1, INFER, 0)
    seen = []
    for _ in range(12):
        net.tick()
        seen.append(int(net.in_spk[0]))
    # p = 65535/65536 per allowed tick: spike, 2 silent ticks, spike, ...
    assert seen == [1, 0, 0] * 4


def test_learning_gate_is_strict_and_update_is_fused_before_transmission():
    # lr_shift 0, lr_mult 1: dw = SAT(U) exactly (SRS with k = 0 never rounds)
    net = tiny(lr_mult=(1,), lr_shift=(0,), gate_lo=(-50,), gate_hi=(50,), w_shift=(0,),
               syn_shift=15, init_amp=(0,), weight_bits=8)
    net.begin_sample(np.array([255, 0], np.int64), 0, TRAIN, 0)
    out = net.pops[-1]
    out.U[:] = [7, 300]
    out.I[:] = [49, -49]          # both strictly inside the gate
    net.tick()
    assert net.in_spk.tolist() == [True, False]
    assert net.W[0].tolist() == [[7, 127], [0, 0]]   # 300 saturates to 127; input 1 silent
    # I = DECAY(I, 15) + acc: the updated weights are transmitted
    assert out.I.tolist() == [48 + 7, -48 + 127]
    net.begin_sample(np.array([255, 0], np.int64), 0, TRAIN, 1)
    net.W[0][:] = 0
    out = net.pops[-1]
    out.U[:] = [7, 7]
    out.I[:] = [50, -50]          # on the gate edges: excluded
    net.tick()
    assert net.W[0].tolist() == [[0, 0], [0, 0]]


def test_no_learning_before_burn_in_and_in_inference():
    net = tiny(lr_mult=(1,), lr_shift=(0,), burn_in=2, init_amp=(0,))
    for mode in (TRAIN, INFER):
        net.W[0][:] = 0
        net.begin_sample(np.array([255, 255], np.int64), 1, mode, 0)
        for t in range(2 if mode == TRAIN else 5):
            net.pops[-1].U[:] = 40
            net.tick()
        assert not net.W[0].any()


def test_error_neurons_and_feedback_by_hand():
    net = tiny(err_threshold=100, err_label_w=60, err_pred_w=100, fb_out=500, dend_shift=1,
               label_period=2, threshold=30000)
    net.begin_sample(np.zeros(2, np.int64), 1, TRAIN, 0)
    trace = []
    for _ in range(4):
        net.tick()
        trace.append((net.ep.tolist(), net.en.tolist(), net.ep_spk.tolist(),
                      net.pops[-1].U.tolist()))
    # t=0: label spike: ep1 = 60, en1 = max(-60, 0) = 0
    assert trace[0] == ([0, 60], [0, 0], [False, False], [0, 0])
    # t=1: no label spike
    assert trace[1][0] == [0, 60]
    # t=2: ep1 = 120 >= 100 -> spike, ep1 = 20; U1 = DECAY(0,1) + 500
    assert trace[2] == ([0, 20], [0, 0], [False, True], [0, 500])
    # t=3: U1 decays by half
    assert trace[3][3] == [0, 250]


def test_output_spikes_drive_the_negative_error_neuron():
    net = tiny(err_threshold=100, err_label_w=0, err_pred_w=100, fb_out=-7, dend_shift=15,
               threshold=1, mem_shift=0, i2v_shift=0, refractory=0)
    net.begin_sample(np.zeros(2, np.int64), 0, TRAIN, 0)
    net.pops[-1].I[:] = [0, 4000]
    net.tick()  # output 1 spikes (V = ASR(I) >= 1) -> en1 = 100 -> E-1 spikes, U1 -= fb_out
    assert net.pops[-1].spk.tolist() == [False, True]
    assert net.en_spk.tolist() == [False, True] and net.en.tolist() == [0, 0]
    assert net.pops[-1].U.tolist() == [0, 7]


def test_hidden_dendrites_receive_G_columns():
    cfg = explicit_config((3, 4, 2), noise_prob=0, label_period=1, err_threshold=10,
                          err_label_w=10, err_pred_w=10, dend_shift=15, burn_in=0, g_amp=100)
    net = Network.create(cfg, seed=11)
    assert not net.G[0].sum(axis=0).any()  # zero-sum per hidden neuron
    net.begin_sample(np.zeros(3, np.int64), 1, TRAIN, 0)
    net.tick()
    assert net.ep_spk.tolist() == [False, True]
    assert net.pops[0].U.tolist() == net.G[0][1].tolist()


def test_blanked_synapses_still_learn_and_p0_transmits_nothing():
    net = tiny(p_transmit=(0,), lr_mult=(1,), lr_shift=(0,), init_amp=(0,), syn_shift=15)
    net.begin_sample(np.array([255, 255], np.int64), 0, TRAIN, 0)
    net.pops[-1].U[:] = [3, -4]
    net.tick()
    assert net.W[0].tolist() == [[3, -4], [3, -4]]
    assert net.pops[-1].I.tolist() == [0, 0]


@pytest.mark.parametrize("mode, p_transmit, p_infer, p", [
    (TRAIN, 64, 192, 0.25), (INFER, 64, 192, 0.75), (INFER, 192, 64, 0.25),
    (TRAIN, 192, 64, 0.75)])
def test_transmission_probability_is_p_over_256(mode, p_transmit, p_infer, p):
    """p_transmit / 256 in train mode, p_infer / 256 in infer mode (the same BLANK draws)."""
    net = tiny(p_transmit=(p_transmit,), p_infer=(p_infer,), init_amp=(0,), syn_shift=0,
               w_shift=(0,), lr_mult=(0,))
    net.W[0][:] = 1
    tot = n = 0
    for s in range(300):
        net.begin_sample(np.array([255, 255], np.int64), 0, mode, s)
        net.tick()
        tot += int(net.pops[-1].I.sum())
        n += 2 * int(net.in_spk.sum())
    assert abs(tot / n - p) < 0.05


def test_noise_always_on_at_probability_one():
    net = tiny(noise_prob=65536, noise_weight=-9, mem_shift=15)
    net.begin_sample(np.zeros(2, np.int64), -1, INFER, 0)
    net.tick()
    assert net.pops[-1].V.tolist() == [-9, -9]
    net.tick()  # DECAY(-9, 15) = -8: a nonzero value always decays by at least one unit
    assert net.pops[-1].V.tolist() == [-17, -17]


def test_sample_start_resets_state_but_keeps_weights():
    net = tiny(init_amp=(20,))
    w = net.W[0].copy()
    net.run_sample(np.array([200, 100], np.int64), 1, TRAIN)
    assert net.samples_seen == 1
    net.begin_sample(np.array([0, 0], np.int64), -1, INFER, 0)
    s = net.snapshot()
    assert all(not s[k].any() for k in s if not k.startswith(("W", "G")))
    assert net.W[0].shape == w.shape


def test_prediction_tie_rule():
    assert predict(np.array([0, 3, 3, 1])) == 1
    assert predict(np.zeros(10, np.int64)) == 0


@pytest.mark.parametrize("bad", [dict(pixels=np.zeros(3)), dict(pixels=np.full(2, 256)),
                                 dict(label=2, mode=TRAIN), dict(mode="learn"),
                                 dict(sample=-1)])
def test_bad_sample_inputs_raise(bad):
    net = tiny()
    args = dict(pixels=np.zeros(2, np.int64), label=0, mode=INFER, sample=0)
    args.update(bad)
    with pytest.raises(ValueError):
        net.begin_sample(args["pixels"], args["label"], args["mode"], args["sample"])
