/* hello_rom.c - inference from flash: the exported model read in place, RAM only for the state.
 *
 *   erbp export runs/first --format c --out cport/examples/model.h --samples 20
 *   cc -std=c99 -O2 -Icport/include -Icport/examples cport/examples/hello_rom.c cport/src/erbp_*.c \
 *      -o hello_rom
 *   ./hello_rom
 *
 * The same header as hello.c: its const model file (flash on a microcontroller) is not copied;
 * erbp_net_init_rom validates it and reads the configuration and weights in place, and the network
 * needs only MODEL_STATE_BYTES of RAM (5,312 for 784-100-10, instead of MODEL_ARENA_BYTES). Prints
 * one line per embedded test digit (index, label, prediction, ticks run and synaptic events: the
 * early exit ends a digit once the readout has decided) and the accuracy.
 */
#include <stdio.h>

#include "erbp.h"
#include "model.h"

static erbp_net_t net;
static uint32_t state[(MODEL_STATE_BYTES + 3u) / 4u]; /* the only RAM the network uses */

int main(void)
{
    unsigned correct = 0, i;
    erbp_status_t s = erbp_net_init_rom(&net, model_file, MODEL_FILE_BYTES, state, sizeof state);
    if (s != ERBP_OK) {
        fprintf(stderr, "model rejected: %s\n", erbp_status_str(s));
        return 1;
    }
    for (i = 0; i < MODEL_N_SAMPLES; i++) {
        erbp_result_t r;
        s = erbp_run_sample(&net, &model_samples[i * MODEL_N_IN], MODEL_N_IN, -1, ERBP_INFER, i,
                            &r);
        if (s != ERBP_OK) {
            fprintf(stderr, "%s\n", erbp_status_str(s));
            return 1;
        }
        printf("%u %u %d %u %lu\n", i, (unsigned)model_labels[i], (int)r.prediction,
               (unsigned)r.ticks, (unsigned long)r.events);
        correct += (r.prediction == (int32_t)model_labels[i]);
    }
    printf("accuracy %u/%u\n", correct, (unsigned)MODEL_N_SAMPLES);
    /* a model in flash does not learn: training is refused */
    s = erbp_run_sample(&net, model_samples, MODEL_N_IN, 0, ERBP_TRAIN, 0, NULL);
    printf("training: %s\n", erbp_status_str(s));
    return 0;
}
