/* kernel_bound.c - the bare kernel bound of the C engine's training speed (bench_engines.py
 * compiles it with the binding's flags and runs it beside the engine).
 *
 * It does only the work no engine can avoid: for every synaptic event, read one int8 weight,
 * update it (w = SAT(w + dw) with a per-post-neuron dw) and add it to the post neuron's int32
 * accumulator, over rows of the same lengths and in the same numbers per tick as the measured run
 * (random presynaptic rows of n_pre x n_post matrices; the accumulators are cleared every tick).
 * No input generation, no neuron dynamics, no random numbers, no feedback.
 *
 *   kernel_bound TICKS N_PRE:N_POST:ROWS_PER_TICK ...     prints "events SECONDS"
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BLOCK 16u

static void row_learn(int8_t *restrict w, const int16_t *restrict dw, int32_t *restrict acc,
                      uint32_t n, int16_t lo, int16_t hi)
{
    size_t o, k, i;
    for (o = 0; o + BLOCK <= n; o += BLOCK)
        for (k = 0; k < BLOCK; k++) {
            int16_t x = (int16_t)(w[o + k] + dw[o + k]);
            x = x < lo ? lo : x;
            x = x > hi ? hi : x;
            w[o + k] = (int8_t)x;
            acc[o + k] += x;
        }
    for (i = o; i < n; i++) {
        int16_t x = (int16_t)(w[i] + dw[i]);
        x = x < lo ? lo : x;
        x = x > hi ? hi : x;
        w[i] = (int8_t)x;
        acc[i] += x;
    }
}

typedef struct layer {
    uint32_t n_pre, n_post;
    double rows_per_tick, carry;
    int8_t *w;
    int16_t *dw;
    int32_t *acc;
} layer_t;

int main(int argc, char **argv)
{
    layer_t layers[8];
    int n_layers = argc - 2, l;
    long ticks, t;
    uint64_t events = 0;
    uint32_t rng = 12345u, i;
    int64_t check = 0;
    struct timespec a, b;
    if (argc < 3 || n_layers > 8) {
        fprintf(stderr, "usage: %s TICKS N_PRE:N_POST:ROWS_PER_TICK ...\n", argv[0]);
        return 2;
    }
    ticks = atol(argv[1]);
    for (l = 0; l < n_layers; l++) {
        layer_t *y = &layers[l];
        if (sscanf(argv[l + 2], "%u:%u:%lf", &y->n_pre, &y->n_post, &y->rows_per_tick) != 3)
            return 2;
        y->carry = 0.0;
        y->w = (int8_t *)malloc((size_t)y->n_pre * y->n_post);
        y->dw = (int16_t *)malloc(sizeof(int16_t) * y->n_post);
        y->acc = (int32_t *)malloc(sizeof(int32_t) * y->n_post);
        if (!y->w || !y->dw || !y->acc)
            return 3;
        for (i = 0; i < y->n_pre * y->n_post; i++)
            y->w[i] = (int8_t)((int32_t)(i * 7u % 61u) - 30);
        for (i = 0; i < y->n_post; i++)
            y->dw[i] = (int16_t)((int32_t)(i % 3u) - 1);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (t = 0; t < ticks; t++) {
        for (l = 0; l < n_layers; l++) {
            layer_t *y = &layers[l];
            long rows;
            for (i = 0; i < y->n_post; i++)
                y->acc[i] = 0;
            y->carry += y->rows_per_tick;
            rows = (long)y->carry;
            y->carry -= (double)rows;
            for (; rows > 0; rows--) {
                rng = rng * 1103515245u + 12345u;
                row_learn(y->w + (size_t)((rng >> 8) % y->n_pre) * y->n_post, y->dw, y->acc,
                          y->n_post, -128, 127);
                events += y->n_post;
            }
            check += y->acc[t % y->n_post];
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    printf("%llu %.6f %lld\n", (unsigned long long)events,
           (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec),
           (long long)check);
    return 0;
}
