/* erbp_fc_s8.h - an int8 fully connected layer with the arithmetic of TensorFlow Lite's int8
 * reference kernel (and of CMSIS-NN's arm_fully_connected_s8): the int8 MLP that erbp's inference
 * cost is measured against (benchmarks/bench_mlp.py, docs/inference.md). Not part of cport.
 *
 * For each output o of n_out, with x the n_in int8 inputs and w the int8 weights, row-major
 * (n_out, n_in) (each output's n_in weights contiguous):
 *
 *   acc = bias[o] + sum_i (x[i] + input_offset) * w[o * n_in + i]           (int32, exact)
 *   y[o] = SAT(MBQM(acc, multiplier, shift) + output_offset, act_min, act_max)
 *
 * MBQM (TFLite's MultiplyByQuantizedMultiplier for shift <= 0): the high half of the doubled
 * product rounded half up, floor((acc * multiplier + 2^30) / 2^31), then divided by 2^-shift
 * rounding half away from zero. erbp.research.int8_mlp (host/research/int8_mlp.py) is the numpy
 * model of the same numbers and makes the layers (quantize) and the benchmark's model header.
 *
 * With the Arm DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7, M33/M55 with DSP) two outputs are
 * computed at a time, four inputs per step: SXTAB16 widens bytes 0 and 2 (and, rotated, 1 and 3)
 * of four inputs into 16-bit lanes with the offset added, SXTB16 the weights likewise, and SMLAD
 * multiplies and accumulates two lanes at once (the scheme of CMSIS-NN's s8 kernels); otherwise
 * (or with ERBP_NO_DSP) a portable loop. Both give the same numbers. */
#ifndef ERBP_FC_S8_H
#define ERBP_FC_S8_H

#include <stdint.h>

#include "erbp.h" /* erbp_status_t */

/* Bounds under which every accumulator is exact in int32 (|acc| < 2^31). */
#define ERBP_FC_S8_MAX_INPUTS 32768u
#define ERBP_FC_S8_MAX_ABS_BIAS (1L << 30)

typedef struct erbp_fc_s8_params {
    int32_t input_offset;  /* -(zero point of the input), in [-127, 128] */
    int32_t output_offset; /* zero point of the output, in [-128, 127] */
    int32_t multiplier;    /* Q31 requantisation multiplier, in [0, 2^31) */
    int32_t shift;         /* power of two of the requantisation, in [-31, 0] */
    int32_t act_min;       /* output clamp, -128 <= act_min <= act_max <= 127 (a fused ReLU: */
    int32_t act_max;       /* act_min = output_offset) */
} erbp_fc_s8_params_t;

/* One layer: output[o] for o in 0..n_out-1 as above. bias may be NULL (zero); |bias[o]| <
 * ERBP_FC_S8_MAX_ABS_BIAS; 1 <= n_in <= ERBP_FC_S8_MAX_INPUTS. Any alignment. Returns ERBP_OK,
 * ERBP_E_NULL (input, weights, output or p NULL), ERBP_E_SIZE (n_in or n_out out of range) or
 * ERBP_E_ARG (a parameter out of its range); on an error nothing is written. */
erbp_status_t erbp_fc_s8(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                         const int8_t *weights, const int32_t *bias, uint32_t n_out,
                         int8_t *output);

/* MBQM(acc, multiplier, shift) for shift in [-31, 0] (see above); exact for every int32 acc. */
int32_t erbp_fc_s8_requantize(int32_t acc, int32_t multiplier, int32_t shift);

#endif /* ERBP_FC_S8_H */
