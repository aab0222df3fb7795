/* mlp_cmsis.h - a layer of the int8 MLP benchmark app through CMSIS-NN's arm_fully_connected_s8
 * (third_party/cmsis-nn/, vendored unmodified): the app's build with MLP_KERNEL=cmsis-nn
 * (mlp.mk), the anchor erbp_fc_s8 and erbp are measured against (benchmarks/bench_mlp.py). */
#ifndef MLP_CMSIS_H
#define MLP_CMSIS_H

#include <stdint.h>

#include "erbp_fc_s8.h"

/* The layer of erbp_fc_s8 (the same arguments, the same numbers) computed by
 * arm_fully_connected_s8 with one batch, no filter offset and no scratch buffer (none is needed
 * without MVE). Unlike erbp_fc_s8 it checks nothing, as CMSIS-NN checks nothing (TensorFlow Lite
 * Micro checks a layer once, when it prepares the model): the benchmark's layers come from
 * erbp.research.int8_mlp.quantize, which refuses what the kernels cannot compute exactly.
 * Returns ERBP_OK, or ERBP_E_ARG if CMSIS-NN returned an error. */
erbp_status_t mlp_cmsis_fc(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                           const int8_t *weights, const int32_t *bias, uint32_t n_out,
                           int8_t *output);

#endif /* MLP_CMSIS_H */
