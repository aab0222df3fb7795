/* mlp_cmsis.c - erbp_fc_s8's layer as a call of CMSIS-NN's arm_fully_connected_s8 (mlp_cmsis.h):
 * the arguments put into CMSIS-NN's structures, nothing else. */
#include "mlp_cmsis.h"

#include <stddef.h>

#include "arm_nnfunctions.h"

erbp_status_t mlp_cmsis_fc(const erbp_fc_s8_params_t *p, const int8_t *input, uint32_t n_in,
                           const int8_t *weights, const int32_t *bias, uint32_t n_out,
                           int8_t *output)
{
    const cmsis_nn_context ctx = {NULL, 0};
    const cmsis_nn_fc_params fc = {p->input_offset, 0, p->output_offset,
                                   {p->act_min, p->act_max}};
    const cmsis_nn_per_tensor_quant_params quant = {p->multiplier, p->shift};
    /* input [1, n_in], filter [n_in, n_out] (accumulation depth, output depth), output
     * [1, n_out] */
    const cmsis_nn_dims in_dims = {1, 1, 1, (int32_t)n_in};
    const cmsis_nn_dims filter_dims = {(int32_t)n_in, 1, 1, (int32_t)n_out};
    const cmsis_nn_dims bias_dims = {1, 1, 1, (int32_t)n_out};
    const cmsis_nn_dims out_dims = {1, 1, 1, (int32_t)n_out};
    arm_cmsis_nn_status st =
        arm_fully_connected_s8(&ctx, &fc, &quant, &in_dims, input, &filter_dims, weights,
                               &bias_dims, bias, &out_dims, output);
    return st == ARM_CMSIS_NN_SUCCESS ? ERBP_OK : ERBP_E_ARG;
}
