/* One CBOW step with negative sampling on the CPU: the same update as sgns.py's cbow_step
 * (which writes it with torch's batched products and is the reference it is tested
 * against), made in two passes over the batch's N centers:
 *
 * 1. Read: for each center i with m_i > 0 contexts,
 *      h_i = sum_o x_o (/ m_i with the mean)               the window's input rows
 *      s_c = u_c . h_i        loss -log sigma(s_c)          the center word c
 *      s_n = u_n . h_i        loss -w log sigma(-s_n)       each of its group's S noise
 *                                                           words, w = negative / S
 *    and the SGD steps (the learning rate times the gradient of the log-likelihood):
 *      g_c = lr sigma(-s_c)      g_n = -lr w sigma(s_n)
 *      dh_i = g_c u_c + sum_n g_n u_n      (/ m_i with the sum: word2vec.c's rule)
 *      du_n += g_n h_i                     (summed over the group's centers)
 * 2. Write, every gradient made from the weights as they were before the step:
 *      u_c += g_c h_i,  u_n += du_n,  x_o += dh_i for every context o of window i.
 *
 * Where the time goes. torch's version gathers the window rows into blocks, makes the
 * sums as (B, L) @ (L, E) products and the noise terms as batched products, ~15 kernels
 * a step; here each row is read where it lies in W_in / W_out (the vocabulary's rows stay
 * in L2) and each center costs m + 2 (S + 1) + m passes over E floats.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vector16.h"

/* a . b over E floats */
static inline float dot(int E, const float *restrict a, const float *restrict b) {
    v16 acc = splat(0.0f);
    int e = 0;
    for (; e + 16 <= E; e += 16) acc += load16(a + e) * load16(b + e);
    if (e < E) acc += load_part(a + e, E - e) * load_part(b + e, E - e);
    return lanes_sum(acc);
}

/* y += g x over E floats */
static inline void axpy(int E, float g, const float *restrict x, float *restrict y) {
    const v16 gv = splat(g);
    int e = 0;
    for (; e + 16 <= E; e += 16) store16(y + e, load16(y + e) + gv * load16(x + e));
    if (e < E) store_part(y + e, load_part(y + e, E - e) + gv * load_part(x + e, E - e), E - e);
}

enum { CHUNK = 128 };   /* floats of a row summed in registers: 8 vectors */

/* out = scale * sum_j c[j] rows[j], over E floats, the sums in registers */
static void combine(int E, int n, const float *const *restrict rows, const float *restrict c,
                    float scale, float *restrict out) {
    for (int e0 = 0; e0 < E; e0 += CHUNK) {
        const int len = E - e0 < CHUNK ? E - e0 : CHUNK;
        v16 acc[CHUNK / 16];
        for (int q = 0; q < CHUNK / 16; ++q) acc[q] = splat(0.0f);
        for (int j = 0; j < n; ++j) {
            const v16 c_j = splat(c[j]);
            const float *r = rows[j] + e0;
            for (int q = 0; q < CHUNK / 16 && 16 * q < len; ++q)
                acc[q] += c_j * load_part(r + 16 * q, len - 16 * q);
        }
        for (int q = 0; q < CHUNK / 16 && 16 * q < len; ++q)
            store_part(out + e0 + 16 * q, acc[q] * splat(scale), len - 16 * q);
    }
}

/* For scores z (the logit of the right answer: s_c, or -s_n for a noise word), the loss
 * -log sigma(z) = max(-z, 0) + log(1 + e^-|z|) and the step's factor sigma(-z), with one
 * exp: t = e^-|z|, sigma(-z) = t / (1 + t) for z >= 0, 1 / (1 + t) below. */
static inline void logistic(v16 z, v16 *loss, v16 *sigma_neg) {
    const v16 zero = splat(0.0f), one = splat(1.0f);
    const v16 t = vexp16(-vmax16(z, -z));
    *loss = vmax16(-z, zero) + vlog16(one + t);
    *sigma_neg = where_nonneg(z, t, one) / (one + t);
}

/* W_in, W_out (V, E), updated in place; around (N + 2W) word ids, the centers at W..W+N-1;
 * mask (N, 2W + 1): 1 where offset k - W is a context of center i; noise (N / G, S) the
 * noise words of each group of G centers. Returns the summed loss, or -1 when the scratch
 * memory could not be had (nothing changed then). */
double seqlab_cbow_step(int N, int E, int W, int G, int S, float *restrict W_in,
                        float *restrict W_out, const int64_t *restrict around,
                        const float *restrict mask, const int64_t *restrict noise, float lr,
                        float negative, int mean) {
    const int K = 2 * W + 1;
    float *h = malloc(sizeof(float) * ((size_t)2 * N * E + (size_t)(N / G) * S * E + N));
    if (h == NULL) return -1.0;
    float *dh = h + (size_t)N * E, *du = dh + (size_t)N * E, *g_c = du + (size_t)(N / G) * S * E;
    memset(du, 0, sizeof(float) * (size_t)(N / G) * S * E);
    float *z = malloc(sizeof(float) * (3 * ((size_t)S + K + 16))), *weight = z + S + K + 16;
    float *c = weight + S + K + 16;                 /* a window's mask values */
    const float **rows = malloc(sizeof(float *) * ((size_t)S + K + 1));
    if (z == NULL || rows == NULL) { free(h); free(z); free(rows); return -1.0; }
    for (int j = 0; j <= S; ++j) weight[j] = j == 0 ? 1.0f : negative / (float)S;
    double loss = 0.0;
    for (int i = 0; i < N; ++i) {                                   /* 1. read */
        const float *m_i = mask + (int64_t)i * K;
        float *h_i = h + (int64_t)i * E, *dh_i = dh + (int64_t)i * E;
        int n_ctx = 0;
        float m = 0.0f;
        for (int k = 0; k < K; ++k)                                 /* the window's rows */
            if (m_i[k] != 0.0f) {
                rows[n_ctx] = W_in + around[i + k] * E;
                c[n_ctx++] = m_i[k];
                m += m_i[k];
            }
        g_c[i] = 0.0f;
        if (m == 0.0f) continue;                                    /* no window: no update */
        combine(E, n_ctx, rows, c, mean ? 1.0f / m : 1.0f, h_i);    /* h_i */
        /* the scores z of the right answers: z[0] = u_c . h_i, z[1 + n] = -u_n . h_i */
        const int64_t *n_i = noise + (int64_t)(i / G) * S;
        rows[0] = W_out + around[W + i] * E;
        for (int n = 0; n < S; ++n) rows[1 + n] = W_out + n_i[n] * E;
        for (int j = 0; j <= S; ++j) z[j] = j == 0 ? dot(E, rows[0], h_i) : -dot(E, rows[j], h_i);
        for (int j0 = 0; j0 <= S; j0 += 16) {       /* losses and steps, 16 at a time */
            const int n = S + 1 - j0 < 16 ? S + 1 - j0 : 16;
            v16 l, q;
            logistic(load_part(z + j0, n), &l, &q);
            loss += lanes_sum(l * load_part(weight + j0, n));
            store_part(z + j0, q * load_part(weight + j0, n) * splat(lr), n);  /* z: steps */
        }
        g_c[i] = z[0];                              /* lr sigma(-s_c); g_n = -lr w sigma(s_n) */
        for (int n = 0; n < S; ++n) z[1 + n] = -z[1 + n];
        combine(E, S + 1, rows, z, mean ? 1.0f : 1.0f / m, dh_i);  /* g_c u_c + sum g_n u_n */
        float *du_i = du + (int64_t)(i / G) * S * E;
        for (int n = 0; n < S; ++n) axpy(E, z[1 + n], h_i, du_i + (int64_t)n * E);
    }
    for (int i = 0; i < N; ++i) {                                   /* 2. write */
        if (g_c[i] == 0.0f) continue;
        axpy(E, g_c[i], h + (int64_t)i * E, W_out + around[W + i] * E);
    }
    for (int64_t j = 0; j < (int64_t)(N / G) * S; ++j) axpy(E, 1.0f, du + j * E, W_out + noise[j] * E);
    for (int i = 0; i < N; ++i) {
        const float *m_i = mask + (int64_t)i * K;
        for (int k = 0; k < K; ++k)
            if (m_i[k] != 0.0f) axpy(E, m_i[k], dh + (int64_t)i * E, W_in + around[i + k] * E);
    }
    free(h);
    free(z);
    free(rows);
    return loss;
}
