"""The integer rules of docs/semantics.md section 1, against hand-computed cases."""
import numpy as np
import pytest

from erbp.reference.intmath import RangeError, asr, bounds, check_range, decay, sat, \
    stochastic_round_shift

A = lambda *x: np.array(x, dtype=np.int64)  # noqa: E731


def test_decay_examples_from_the_spec():
    assert decay(A(5, -5, 3, -3, 1, -1, 0), 2).tolist() == [3, -3, 2, -2, 0, 0, 0]


def test_decay_k0_clears_and_large_values():
    assert decay(A(32767, -32768, 7), 0).tolist() == [0, 0, 0]
    # (1 - 1/16) * 32767 = 30719.06 -> toward zero 30719; -32768 -> -30720 exactly
    assert decay(A(32767, -32768), 4).tolist() == [30719, -30720]


def test_decay_is_symmetric_and_reaches_zero():
    x = np.arange(-5000, 5001, dtype=np.int64)
    for k in range(0, 16):
        assert (decay(x, k) == -decay(-x, k)).all()
        assert (np.abs(decay(x, k)) < np.maximum(np.abs(x), 1)).all()  # strictly shrinks
    v = A(32767, -32768)
    for _ in range(32767 * 2):
        v = decay(v, 15)
        if not v.any():
            break
    assert not v.any()


def test_asr_is_floor_for_negatives():
    assert asr(A(-1, -3, 3, -4, 0, 7), 1).tolist() == [-1, -2, 1, -2, 0, 3]
    x = np.arange(-300, 300, dtype=np.int64)
    for k in range(0, 9):
        assert (asr(x, k) == np.floor(x / 2**k)).all()


def test_sat_at_both_bounds():
    lo, hi = bounds(8)
    assert (lo, hi) == (-128, 127)
    assert sat(A(-129, -128, 0, 127, 128, 10**9), lo, hi).tolist() == [-128, -128, 0, 127, 127, 127]


def test_srs_examples_from_the_spec():
    r = np.arange(4, dtype=np.uint32)
    assert stochastic_round_shift(np.full(4, 5, np.int64), 2, r).tolist() == [2, 1, 1, 1]
    assert stochastic_round_shift(np.full(4, -5, np.int64), 2, r).tolist() == [-1, -1, -1, -2]
    assert stochastic_round_shift(np.full(4, -4, np.int64), 2, r).tolist() == [-1] * 4


@pytest.mark.parametrize("k", [0, 1, 3, 8, 12])
def test_srs_is_exactly_unbiased_over_every_remainder(k):
    # Over all r mod 2^k (the only bits SRS reads) the mean is exactly q / 2^k, for both signs.
    r = np.arange(1 << k, dtype=np.uint32) + np.uint32(0xABC00000)
    for q in (-70001, -1025, -5, -1, 0, 1, 5, 1023, 99999):
        s = stochastic_round_shift(np.full(r.size, q, np.int64), k, r)
        assert s.sum() == q  # sum over 2^k draws of SRS(q,k,r) = q exactly
        assert set(s.tolist()) <= {q >> k, (q >> k) + 1}


def test_check_range_raises_with_the_value():
    check_range(A(0, 5), 0, 5, "x")
    with pytest.raises(RangeError, match="x = 6"):
        check_range(A(0, 6), 0, 5, "x")
    with pytest.raises(RangeError, match="-1"):
        check_range(A(-1), 0, 5, "x")
