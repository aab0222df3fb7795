"""Configuration objects: topologies by name, validation of every rule, serialisation."""
import pytest

from erbp.reference import TOPOLOGIES, ConfigError, NetConfig, parse_sizes
from erbp.reference.params import FIELDS, field_offsets, word_count


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_paper_topologies_by_name(name):
    cfg = NetConfig.default(name)
    assert "-".join(map(str, cfg.sizes)) == name
    assert cfg.n_layers == len(cfg.sizes) - 1
    assert NetConfig.from_words(cfg.to_words()) == cfg


@pytest.mark.parametrize("variant", ["erbp", "perbp"])
def test_custom_sizes_and_variants(variant):
    cfg = NetConfig.default("64-30-20-10-5", variant)
    assert cfg.sizes == (64, 30, 20, 10, 5)
    assert (cfg.noise_prob > 0) == (variant == "erbp")
    assert all((p < 256) == (variant == "perbp") for p in cfg.p_transmit)


@pytest.mark.parametrize("spec", ["784", "784-x-10", "", "784-0-10", "1-2-3-4-5-6-7"])
def test_bad_topologies(spec):
    with pytest.raises(ConfigError):
        NetConfig.default(spec)


def test_unknown_variant():
    with pytest.raises(ConfigError, match="variant"):
        NetConfig.default("784-100-10", "backprop")


BAD = [
    (dict(weight_bits=1), "weight_bits"),
    (dict(weight_bits=17), "weight_bits"),
    (dict(state_bits=17), "state_bits"),
    (dict(threshold=40000), "threshold"),
    (dict(state_bits=10, threshold=600), "exceeds the state range"),
    (dict(err_label_w=300, err_threshold=256), "err_threshold"),
    (dict(err_pred_w=257, err_threshold=256), "err_threshold"),
    (dict(burn_in=101, ticks_train=100), "burn_in"),
    (dict(gate_lo=(5, 0), gate_hi=(5, 10)), "gate_lo must be < gate_hi"),
    (dict(init_amp=(128, 1)), "init_amp"),
    (dict(g_amp=2000), "g_amp"),
    (dict(weight_bits=16, w_shift=(6, 0)), "exceeds 2\\^30"),
    (dict(lr_shift=(31, 1)), "lr_shift"),
    (dict(p_transmit=(257, 256)), "p_transmit"),
    (dict(w_shift=(1,)), "needs 2 entries"),
    (dict(in_gain=258), "in_gain"),
]


@pytest.mark.parametrize("change,msg", BAD)
def test_every_rule_is_enforced(change, msg):
    cfg = NetConfig.default("784-100-10")
    with pytest.raises(ConfigError, match=msg):
        cfg.replace(**change)


def test_config_is_immutable_and_hashable():
    cfg = NetConfig.default("784-100-10")
    with pytest.raises(AttributeError):
        cfg.threshold = 5
    assert hash(cfg) == hash(NetConfig.default("784-100-10"))
    assert cfg.replace(threshold=900).threshold == 900
    assert cfg.threshold != 900


def test_words_layout_and_unused_slots():
    cfg = NetConfig.default("784-200-200-10")
    words = cfg.to_words()
    assert len(words) == word_count() == sum(f.slots for f in FIELDS)
    off = field_offsets()
    assert words[off["n_in"]] == 784 and words[off["hidden_size"] + 1] == 200
    assert words[off["hidden_size"] + 2] == 0
    bad = list(words)
    bad[off["w_shift"] + 4] = 1  # a slot beyond layer 2
    with pytest.raises(ConfigError, match="unused slots"):
        NetConfig.from_words(bad)
    with pytest.raises(ConfigError, match="words"):
        NetConfig.from_words(words[:-1])


def test_parse_sizes_accepts_sequences():
    assert parse_sizes([10, 5, 2]) == (10, 5, 2)
    assert parse_sizes("784-100-10") == (784, 100, 10)
