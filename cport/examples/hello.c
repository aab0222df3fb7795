/* hello.c - the C hello world: classify (and keep learning on) digits with an exported model.
 *
 *   erbp export runs/first --format c --out cport/examples/model.h --samples 20
 *   cc -std=c99 -O2 -Icport/include -Icport/examples cport/examples/hello.c cport/src/erbp_*.c -o hello
 *   ./hello
 *
 * Prints one line per embedded test digit (index, label, prediction), then trains on the same
 * digits once and prints how many it now gets right. Everything is static: no malloc.
 */
#include <stdio.h>

#include "erbp.h"
#include "model.h"

static erbp_net_t net;
static uint32_t arena[(MODEL_ARENA_BYTES + 3u) / 4u];

int main(void) {
    erbp_status_t s = erbp_net_load(&net, arena, sizeof arena, model_file, MODEL_FILE_BYTES);
    if (s != ERBP_OK) {
        fprintf(stderr, "model rejected: %s\n", erbp_status_str(s));
        return 1;
    }
    unsigned correct = 0, i;
    for (i = 0; i < MODEL_N_SAMPLES; i++) {
        erbp_result_t r;
        s = erbp_run_sample(&net, &model_samples[i * MODEL_N_IN], MODEL_N_IN, -1,
                            ERBP_INFER, i, &r);
        if (s != ERBP_OK) { fprintf(stderr, "%s\n", erbp_status_str(s)); return 1; }
        printf("%u %u %d\n", i, (unsigned)model_labels[i], (int)r.prediction);
        correct += (r.prediction == (int32_t)model_labels[i]);
    }
    printf("accuracy %u/%u\n", correct, (unsigned)MODEL_N_SAMPLES);
    for (i = 0; i < MODEL_N_SAMPLES; i++) { /* on-device learning: one pass */
        s = erbp_run_sample(&net, &model_samples[i * MODEL_N_IN], MODEL_N_IN,
                            (int32_t)model_labels[i], ERBP_TRAIN,
                            erbp_net_samples_seen(&net), NULL);
        if (s != ERBP_OK) { fprintf(stderr, "%s\n", erbp_status_str(s)); return 1; }
    }
    printf("samples_seen %u\n", (unsigned)erbp_net_samples_seen(&net));
    return 0;
}
