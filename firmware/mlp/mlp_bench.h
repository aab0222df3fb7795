/* mlp_bench.h - a layer of the int8 MLP benchmark app (mlp_bench.c); the model header
 * (mlp_model.h, written by erbp.research.int8_mlp.c_header) is an array of these. */
#ifndef MLP_BENCH_H
#define MLP_BENCH_H

#include <stdint.h>

#include "erbp_fc_s8.h"

typedef struct mlp_layer {
    const int8_t *weights; /* (n_out, n_in) row-major */
    const int32_t *bias;   /* n_out */
    uint32_t n_in, n_out;
    erbp_fc_s8_params_t params;
} mlp_layer_t;

#endif /* MLP_BENCH_H */
