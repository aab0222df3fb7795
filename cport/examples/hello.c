/* hello.c - the C hello world: classify (and keep learning on) digits with an exported model.
 *
 *   erbp export runs/first --format c --out hello --samples 20   # model.h, this file, cport, Makefile
 *   make -C hello && ./hello/hello
 *
 * (By hand: cc -std=c99 -O2 -I$(python -m erbp.cport --include) -I. hello.c
 *  $(python -m erbp.cport --sources) -o hello, with model.h beside this file.)
 *
 * Prints one line per embedded test digit (index, label, prediction, and what it cost: ticks run
 * and synaptic events; the early exit ends a digit once the readout has decided) and how many it
 * gets right, then learns on the same digits once (on-device learning) and prints how many it
 * gets right now. Everything is static: no malloc.
 */
#include <stdio.h>

#include "erbp.h"
#include "model.h"

static erbp_net_t net;
static uint32_t arena[(MODEL_ARENA_BYTES + 3u) / 4u];

/* Inference on every embedded digit (sample index = its position); returns how many are right,
 * or -1 on an error. Prints index, label, prediction, ticks run and synaptic events per digit
 * when verbose. */
static int classify(int verbose) {
    int correct = 0;
    unsigned i;
    for (i = 0; i < MODEL_N_SAMPLES; i++) {
        erbp_result_t r;
        erbp_status_t s = erbp_run_sample(&net, &model_samples[i * MODEL_N_IN], MODEL_N_IN, -1,
                                          ERBP_INFER, i, &r);
        if (s != ERBP_OK) { fprintf(stderr, "%s\n", erbp_status_str(s)); return -1; }
        if (verbose)
            printf("%u %u %d %u %lu\n", i, (unsigned)model_labels[i], (int)r.prediction,
                   (unsigned)r.ticks, (unsigned long)r.events);
        correct += (r.prediction == (int32_t)model_labels[i]);
    }
    return correct;
}

int main(void) {
    erbp_status_t s = erbp_net_load(&net, arena, sizeof arena, model_file, MODEL_FILE_BYTES);
    int correct;
    unsigned i;
    if (s != ERBP_OK) {
        fprintf(stderr, "model rejected: %s\n", erbp_status_str(s));
        return 1;
    }
    if ((correct = classify(1)) < 0) return 1;
    printf("right %d of %u\n", correct, (unsigned)MODEL_N_SAMPLES);
    for (i = 0; i < MODEL_N_SAMPLES; i++) { /* on-device learning: one pass */
        s = erbp_run_sample(&net, &model_samples[i * MODEL_N_IN], MODEL_N_IN,
                            (int32_t)model_labels[i], ERBP_TRAIN,
                            erbp_net_samples_seen(&net), NULL);
        if (s != ERBP_OK) { fprintf(stderr, "%s\n", erbp_status_str(s)); return 1; }
    }
    if ((correct = classify(0)) < 0) return 1;
    printf("after learning on them once: right %d of %u (samples_seen %u)\n", correct,
           (unsigned)MODEL_N_SAMPLES, (unsigned)erbp_net_samples_seen(&net));
    return 0;
}
