/* erbp_intmath.h - the integer rules and the random function of docs/semantics.md, sections 1
 * and 5, as named static inline functions.
 *
 * Every function is exact and well defined for every argument in its documented range: no signed
 * overflow, no right shift of a negative value, no implementation-defined conversion. No build
 * flag changes a result. Widths: values are int32_t, draws and keys uint32_t (mod 2^32). */
#ifndef ERBP_INTMATH_H
#define ERBP_INTMATH_H

#include <stdint.h>

#include "erbp_params.h"

/* SAT(x, lo, hi) = min(max(x, lo), hi). Requires lo <= hi. */
static inline int32_t erbp_sat(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* ASR(x, k) = floor(x / 2^k) for k in 0..31, also for negative x (rounds toward minus
 * infinity): for x < 0, floor(x / 2^k) = -1 - floor((-1 - x) / 2^k), and -1 - x >= 0. */
static inline int32_t erbp_asr(int32_t x, uint32_t k)
{
    /* written as one select (no branch) so that loops calling it vectorise */
    return x >= 0 ? (int32_t)((uint32_t)x >> k) : -1 - (int32_t)((uint32_t)(-1 - x) >> k);
}

/* DECAY(x, k) = x - sign(x) * ceil(|x| / 2^k), k in 0..15, |x| < 2^31 - 2^15: one tick of leak,
 * the decayed value rounded toward zero (DECAY(5,2) = 3, DECAY(-5,2) = -3, DECAY(x,0) = 0). */
static inline int32_t erbp_decay(int32_t x, uint32_t k)
{
    uint32_t mag = x >= 0 ? (uint32_t)x : 0u - (uint32_t)x;
    int32_t leak = (int32_t)((mag + ((1u << k) - 1u)) >> k); /* ceil(|x| / 2^k) <= |x| */
    return x >= 0 ? x - leak : x + leak;
}

/* SRS(q, k, r) = ASR(q, k) + [ (r mod 2^k) < (q mod 2^k) ], k in 0..30: unbiased stochastic
 * rounding of q / 2^k with the uniform draw r. q mod 2^k is taken on the two's-complement bits
 * (the conversion of a negative int32 to uint32 is defined as adding 2^32). */
static inline int32_t erbp_srs(int32_t q, uint32_t k, uint32_t r)
{
    uint32_t mask = (1u << k) - 1u;
    return erbp_asr(q, k) + (((r & mask) < ((uint32_t)q & mask)) ? 1 : 0);
}

/* UNIFORM(r, a) = (((r >> 16) * (2a + 1)) >> 16) - a, a in 0..32767: an integer in [-a, a]. */
static inline int32_t erbp_uniform(uint32_t r, int32_t a)
{
    uint32_t span = 2u * (uint32_t)a + 1u;
    return (int32_t)(((r >> 16) * span) >> 16) - a;
}

/* MIX32(x): the 32-bit hash (xorshift-multiply), all arithmetic mod 2^32. */
static inline uint32_t erbp_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= ERBP_MIX_M1;
    x ^= x >> 15;
    x *= ERBP_MIX_M2;
    x ^= x >> 15;
    return x;
}

/* ABSORB(h, v) = MIX32(h xor MIX32(v xor 0x9e3779b9)). */
static inline uint32_t erbp_absorb(uint32_t h, uint32_t v)
{
    return erbp_mix32(h ^ erbp_mix32(v ^ ERBP_GOLDEN));
}

/* The per-sample part of KEY: ABSORB(ABSORB(ABSORB(KEY_IV, seed), stream), sample). */
static inline uint32_t erbp_sample_key(uint32_t seed, uint32_t stream, uint32_t sample)
{
    return erbp_absorb(erbp_absorb(erbp_absorb(ERBP_KEY_IV, seed), stream), sample);
}

/* KEY(seed, stream, sample, tick) = ABSORB(sample_key(seed, stream, sample), tick). */
static inline uint32_t erbp_key(uint32_t seed, uint32_t stream, uint32_t sample, uint32_t tick)
{
    return erbp_absorb(erbp_sample_key(seed, stream, sample), tick);
}

/* DRAW(key, i) = MIX32(key + i * 0x9e3779b9), mod 2^32. */
static inline uint32_t erbp_draw(uint32_t key, uint32_t i)
{
    return erbp_mix32(key + i * ERBP_GOLDEN);
}

/* A stream id: (kind << 8) | sub. */
static inline uint32_t erbp_stream(uint32_t kind, uint32_t sub)
{
    return (kind << 8) | sub;
}

#endif /* ERBP_INTMATH_H */
