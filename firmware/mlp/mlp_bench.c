/* mlp_bench.c - the int8 MLP benchmark app (benchmarks/bench_mlp.py): runs the samples of the
 * generated mlp_model.h through its layers (erbp_fc_s8; built with -DMLP_CMSIS_NN, CMSIS-NN's
 * arm_fully_connected_s8 through mlp_cmsis.c) on a board of the board table, each
 * inference timed by the board's cycle counter (under QEMU -icount shift=0: instructions), and
 * prints one line per sample, then an end line:
 *
 *   S <sample> <prediction> <counter ticks> <every layer's int8 outputs, two hex digits each>
 *   E <samples>
 *
 * (X <sample> <layer> <status> if a layer refuses its arguments.) An inference is what a device
 * would run on a camera's pixels: pixel - 128 into the int8 input, the layers, the first largest
 * output. The host build (mlp_host.c) prints the same lines with 0 ticks. */
#include "mlp_bench.h"

#include <stddef.h>
#include <string.h>

#include "../src/board.h"
#include "mlp_model.h"
#if defined(MLP_CMSIS_NN)
#include "mlp_cmsis.h"
#endif

/* a 4-byte copy the compiler turns into a load or store (memcpy is a call in a freestanding
 * build) */
#if defined(__GNUC__)
#define COPY4(d, s) __builtin_memcpy((d), (s), 4)
#else
#define COPY4(d, s) memcpy((d), (s), 4)
#endif

#define MLP_ACT_BYTES (MLP_N_IN + MLP_SUM_WIDTHS)

static int8_t acts[MLP_ACT_BYTES]; /* the input, then every layer's outputs */

#if defined(MLP_CMSIS_NN)
#define MLP_FC mlp_cmsis_fc
#else
#define MLP_FC erbp_fc_s8
#endif

static void put(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    board_write((const uint8_t *)s, n);
}

static void put_u32(uint32_t v)
{
    char b[11];
    int i = 10;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    put(&b[i]);
}

static void put_i32(int32_t v)
{
    if (v < 0) {
        put("-");
        put_u32(0u - (uint32_t)v);
    } else {
        put_u32((uint32_t)v);
    }
}

static void put_hex(const int8_t *x, uint32_t n)
{
    static const char digits[] = "0123456789abcdef";
    char b[2];
    uint32_t i;
    for (i = 0; i < n; i++) {
        b[0] = digits[(uint8_t)x[i] >> 4];
        b[1] = digits[(uint8_t)x[i] & 15u];
        board_write((const uint8_t *)b, 2);
    }
}

/* One inference: returns the prediction, or -1 - layer if a layer refused (*status). */
static int32_t infer(const uint8_t *pixels, erbp_status_t *status)
{
    int8_t *x = acts;
    uint32_t i, l;
    int32_t best = 0;
    for (i = 0; i + 4u <= MLP_N_IN; i += 4u) { /* pixel - 128 = pixel XOR 0x80, four at a time */
        uint32_t v;
        COPY4(&v, pixels + i);
        v ^= 0x80808080u;
        COPY4(x + i, &v);
    }
    for (; i < MLP_N_IN; i++)
        x[i] = (int8_t)(pixels[i] ^ 0x80u);
    for (l = 0; l < MLP_LAYERS; l++) {
        const mlp_layer_t *L = &mlp_layers[l];
        *status = MLP_FC(&L->params, x, L->n_in, L->weights, L->bias, L->n_out, x + L->n_in);
        if (*status != ERBP_OK)
            return -1 - (int32_t)l;
        x += L->n_in;
    }
    for (i = 1; i < MLP_N_OUT; i++)
        if (x[i] > x[best])
            best = (int32_t)i;
    return best;
}

int main(void)
{
    uint32_t s;
    erbp_status_t warm;
    board_init();
    /* one untimed inference first: the cycle counter's first reload (SysTick) has passed */
    (void)infer(mlp_pixels, &warm);
    for (s = 0; s < MLP_SAMPLES; s++) {
        erbp_status_t st = ERBP_OK;
        uint64_t t0 = board_cycles();
        int32_t pred = infer(mlp_pixels + (size_t)s * MLP_N_IN, &st);
        uint64_t t1 = board_cycles();
        if (pred < 0) {
            put("X ");
            put_u32(s);
            put(" ");
            put_u32((uint32_t)(-1 - pred));
            put(" ");
            put_i32((int32_t)st);
            put("\n");
            continue;
        }
        put("S ");
        put_u32(s);
        put(" ");
        put_u32((uint32_t)pred);
        put(" ");
        put_u32((uint32_t)(t1 - t0));
        put(" ");
        put_hex(acts + MLP_N_IN, MLP_SUM_WIDTHS);
        put("\n");
    }
    put("E ");
    put_u32(MLP_SAMPLES);
    put("\n");
    return 0;
}
