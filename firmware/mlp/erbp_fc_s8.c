/* erbp_fc_s8.c - the int8 fully connected layer of erbp_fc_s8.h: TensorFlow Lite's int8
 * reference arithmetic, a portable loop and an Armv7E-M / Armv8-M DSP path (SXTAB16, SXTB16,
 * SMLAD) with the same numbers. */
#include "erbp_fc_s8.h"

#include <stddef.h>

/* ASR of an int64 by k in 0..63: floor(x / 2^k), also for negative x (no implementation-defined
 * right shift of a negative value). */
static inline int64_t asr64(int64_t x, uint32_t k)
{
    return x >= 0 ? (int64_t)((uint64_t)x >> k) : -1 - (int64_t)((uint64_t)(-1 - x) >> k);
}

int32_t erbp_fc_s8_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    /* SaturatingRoundingDoublingHighMul(acc, multiplier): round(acc * m / 2^31) half up; with
     * 0 <= m < 2^31 the product is below 2^62 in magnitude and the result fits int32 (TFLite's
     * only saturating case, acc = m = INT32_MIN, cannot occur). */
    int32_t hi = (int32_t)asr64((int64_t)acc * multiplier + (1LL << 30), 31u);
    /* RoundingDivideByPOT(hi, -shift): round(hi / 2^e), ties away from zero */
    uint32_t e = (uint32_t)-shift;
    uint32_t mask = (uint32_t)((1ULL << e) - 1u);
    uint32_t threshold = (mask >> 1) + (hi < 0 ? 1u : 0u);
    int32_t q = (int32_t)asr64(hi, e);
    return q + ((((uint32_t)hi & mask) > threshold) ? 1 : 0);
}

static inline int8_t finish(int32_t acc, const erbp_fc_s8_params_t *p)
{
    int32_t y = erbp_fc_s8_requantize(acc, p->multiplier, p->shift) + p->output_offset;
    return (int8_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
}

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(ERBP_NO_DSP)
#define ERBP_FC_DSP 1

static inline uint32_t load4(const int8_t *p) /* any alignment (LDR on v7E-M/v8-M) */
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* bytes 0 and 2 of x, sign-extended, plus the 16-bit lanes of a (SXTAB16); bytes 1 and 3 with
 * x rotated by 8 (SXTAB16 ..., ROR #8); SXTB16 likewise without the addend; SMLAD: acc plus the
 * products of the two lane pairs */
static inline int32_t sxtab16(uint32_t a, uint32_t x)
{
    return __builtin_arm_sxtab16((int32_t)a, (int32_t)x);
}

static inline int32_t sxtab16_ror8(uint32_t a, uint32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

static inline int32_t sxtb16(uint32_t x)
{
    return __builtin_arm_sxtb16((int32_t)x);
}

static inline int32_t sxtb16_ror8(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t smlad(int32_t a, int32_t b, int32_t acc)
{
    return __builtin_arm_smlad(a, b, acc);
}

/* Two outputs at a time, four inputs a step: the inputs are widened once for both rows. Every
 * 16-bit lane is exact (x + offset in [-255, 255], w in [-128, 127]) and SMLAD's sums stay in the
 * accumulator's exact range (erbp_fc_s8.h's bounds), so this is the portable sum reordered. */
static void fc_dsp(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                   const int8_t *weights, const int32_t *bias, uint32_t n_out, int8_t *output)
{
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xffffu) * 0x00010001u;
    const uint32_t n4 = n_in >> 2;
    uint32_t o, i, j;
    for (o = 0; o + 2u <= n_out; o += 2u) {
        const int8_t *x = input, *w0 = weights + (size_t)o * n_in, *w1 = w0 + n_in;
        int32_t a0 = bias ? bias[o] : 0, a1 = bias ? bias[o + 1u] : 0;
        for (j = n4; j != 0u; j--) {
            uint32_t xv = load4(x), wv;
            int32_t x02 = sxtab16(off2, xv), x13 = sxtab16_ror8(off2, xv);
            x += 4;
            wv = load4(w0);
            w0 += 4;
            a0 = smlad(sxtb16_ror8(wv), x13, a0);
            a0 = smlad(sxtb16(wv), x02, a0);
            wv = load4(w1);
            w1 += 4;
            a1 = smlad(sxtb16_ror8(wv), x13, a1);
            a1 = smlad(sxtb16(wv), x02, a1);
        }
        for (i = n4 << 2; i < n_in; i++) {
            int32_t xi = input[i] + p->input_offset;
            a0 += xi * *w0++;
            a1 += xi * *w1++;
        }
        output[o] = finish(a0, p);
        output[o + 1u] = finish(a1, p);
    }
    if (o < n_out) {
        const int8_t *x = input, *w0 = weights + (size_t)o * n_in;
        int32_t a0 = bias ? bias[o] : 0;
        for (j = n4; j != 0u; j--) {
            uint32_t xv = load4(x), wv = load4(w0);
            x += 4;
            w0 += 4;
            a0 = smlad(sxtb16_ror8(wv), sxtab16_ror8(off2, xv), a0);
            a0 = smlad(sxtb16(wv), sxtab16(off2, xv), a0);
        }
        for (i = n4 << 2; i < n_in; i++)
            a0 += (input[i] + p->input_offset) * *w0++;
        output[o] = finish(a0, p);
    }
}
#else
#define ERBP_FC_DSP 0
#endif

#if !ERBP_FC_DSP
static void fc_portable(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                        const int8_t *weights, const int32_t *bias, uint32_t n_out,
                        int8_t *output)
{
    uint32_t o, i;
    for (o = 0; o < n_out; o++) {
        const int8_t *w = weights + (size_t)o * n_in;
        int32_t acc = bias ? bias[o] : 0;
        for (i = 0; i < n_in; i++)
            acc += (input[i] + p->input_offset) * w[i];
        output[o] = finish(acc, p);
    }
}
#endif

erbp_status_t erbp_fc_s8(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                         const int8_t *weights, const int32_t *bias, uint32_t n_out,
                         int8_t *output)
{
    uint32_t o;
    if (!p || !input || !weights || !output)
        return ERBP_E_NULL;
    if (n_in == 0u || n_in > ERBP_FC_S8_MAX_INPUTS || n_out == 0u)
        return ERBP_E_SIZE;
    if (p->input_offset < -127 || p->input_offset > 128 || p->output_offset < -128 ||
        p->output_offset > 127 || p->multiplier < 0 || p->shift < -31 || p->shift > 0 ||
        p->act_min < -128 || p->act_min > p->act_max || p->act_max > 127)
        return ERBP_E_ARG;
    for (o = 0; bias && o < n_out; o++)
        if (bias[o] <= -ERBP_FC_S8_MAX_ABS_BIAS || bias[o] >= ERBP_FC_S8_MAX_ABS_BIAS)
            return ERBP_E_ARG;
#if ERBP_FC_DSP
    fc_dsp(p, input, n_in, weights, bias, n_out, output);
#else
    fc_portable(p, input, n_in, weights, bias, n_out, output);
#endif
    return ERBP_OK;
}
