/* An encoder layer's inference on the CPU, every step real: its self-attention and its
 * Add & Norm (layers/transformer/fused_inference.py drives them; the four projections
 * between are matrix products, which torch runs near the machine's peak).
 *
 * Self-attention, the course's formula, for every head of every row at once from the
 * Q, K, V projections as one matrix:
 *
 *   Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
 *
 * Where the time goes. With d_k = 16 (d_model 64, 4 heads) a score is 16 multiply-adds
 * and a weighted value 16 more: matrix-product kernels (torch's bmm) run such thin
 * products far below their speed, and the softmax between them reads and writes the T x T
 * scores of every head from memory once more. Here, 8 queries at a time:
 *
 * - The head's keys, scaled by 1/sqrt(d_k), are laid out once as K^T (d_k, T'), T' = T
 *   rounded up to 16, and its values side by side (T, d_v): both stay in L1.
 * - Scores 16 keys at a time: each row of K^T loaded feeds the 8 queries (8 x 2 sums).
 * - The 8 rows of scores (in L1) take their max, exp(s - max) (vector16.h) and the sum.
 * - The outputs sum_j p_j v_j / sum_j p_j: each v_j loaded feeds the 8 queries.
 * Denormals are flushed inside (exp of a score far below the max).
 *
 * Add & Norm: y = gamma * (z - mean) / sqrt(var + eps) + beta, z = x + sublayer(x), mean
 * and variance over the d_model features of each step (torch's layer_norm spends more on
 * each call than on 64 features).
 *
 * NaN in a query, key or value makes the outputs it reaches NaN, as the formula does.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vector16.h"

#ifdef __SSE__
#include <xmmintrin.h>
#endif

enum { QUERIES = 8,   /* queries computed together: each key or value loaded feeds 8 */
       KEYS = 2 };    /* blocks of 16 keys whose scores are summed together */

/* The scores of QUERIES queries q[r] (dk values each) against the head's keys:
 * s[r][j] = q[r] . kt[:, j] for j < Tp; kt (dk, Tp), zero past T; s rows Tp apart. */
static void scores(int dk, int Tp, const float *const q[QUERIES],
                   const float *restrict kt, float *restrict s) {
    int j0 = 0;
    for (; j0 + 16 * KEYS <= Tp; j0 += 16 * KEYS) {       /* QUERIES x KEYS sums */
        v16 acc[QUERIES][KEYS];
        for (int r = 0; r < QUERIES; ++r)
            for (int u = 0; u < KEYS; ++u) acc[r][u] = splat(0.0f);
        for (int d = 0; d < dk; ++d) {
            v16 k[KEYS];
            for (int u = 0; u < KEYS; ++u) k[u] = load16(kt + (int64_t)d * Tp + j0 + 16 * u);
            for (int r = 0; r < QUERIES; ++r) {
                const v16 q_d = splat(q[r][d]);
                for (int u = 0; u < KEYS; ++u) acc[r][u] += q_d * k[u];
            }
        }
        for (int r = 0; r < QUERIES; ++r)
            for (int u = 0; u < KEYS; ++u) store16(s + (int64_t)r * Tp + j0 + 16 * u, acc[r][u]);
    }
    for (; j0 < Tp; j0 += 16) {                            /* the last block: one each */
        v16 acc[QUERIES];
        for (int r = 0; r < QUERIES; ++r) acc[r] = splat(0.0f);
        for (int d = 0; d < dk; ++d) {
            const v16 k = load16(kt + (int64_t)d * Tp + j0);
            for (int r = 0; r < QUERIES; ++r) acc[r] += splat(q[r][d]) * k;
        }
        for (int r = 0; r < QUERIES; ++r) store16(s + (int64_t)r * Tp + j0, acc[r]);
    }
}

/* Each row of s (T scores, Tp floats) -> exp(s - max s) in place, zero past T (exp(-100)
 * without flushing, nothing beside 1); total[r] their sum. */
static void softmax_numerators(int T, int Tp, float *restrict s, float total[QUERIES]) {
    v16 past = splat(0.0f);                                /* -inf on the keys past T */
    for (int l = 0; l < 16; ++l) past[l] = Tp - 16 + l < T ? 0.0f : -INFINITY;
    v16 m[QUERIES], sum[QUERIES];
    for (int r = 0; r < QUERIES; ++r) {
        float *last = s + (int64_t)r * Tp + Tp - 16;
        store16(last, load16(last) + past);
        m[r] = load16(s + (int64_t)r * Tp);
        sum[r] = splat(0.0f);
    }
    for (int j = 16; j < Tp; j += 16)                      /* (a NaN score: the sum) */
        for (int r = 0; r < QUERIES; ++r) m[r] = vmax16(m[r], load16(s + (int64_t)r * Tp + j));
    for (int r = 0; r < QUERIES; ++r) m[r] = splat(lanes_max(m[r]));
    for (int j = 0; j < Tp; j += 16)
        for (int r = 0; r < QUERIES; ++r) {
            float *at = s + (int64_t)r * Tp + j;
            const v16 e = vexp16(load16(at) - m[r]);
            store16(at, e);
            sum[r] += e;
        }
    for (int r = 0; r < QUERIES; ++r) total[r] = lanes_sum(sum[r]);
}

/* out[r][:dv] = sum_{j < T} p[r][j] v_j / total[r] (rows of p Tp apart), v_j = v + j v_row
 * (dv values); out[r] NULL: not written. */
static void weighted_values(int T, int Tp, int dv, const float *restrict p,
                            const float total[QUERIES], const float *restrict v,
                            int64_t v_row, float *const out[QUERIES]) {
    for (int d0 = 0; d0 < dv; d0 += 16) {
        const int n = dv - d0 < 16 ? dv - d0 : 16;         /* values in this block */
        v16 acc[QUERIES];
        for (int r = 0; r < QUERIES; ++r) acc[r] = splat(0.0f);
        if (n == 16)
            for (int j = 0; j < T; ++j) {
                const v16 v_j = load16(v + j * v_row + d0);
                for (int r = 0; r < QUERIES; ++r) acc[r] += splat(p[(int64_t)r * Tp + j]) * v_j;
            }
        else
            for (int j = 0; j < T; ++j) {
                const v16 v_j = load_part(v + j * v_row + d0, n);
                for (int r = 0; r < QUERIES; ++r) acc[r] += splat(p[(int64_t)r * Tp + j]) * v_j;
            }
        for (int r = 0; r < QUERIES; ++r)
            if (out[r] != NULL) store_part(out[r] + d0, acc[r] * splat(1.0f / total[r]), n);
    }
}

/* qkv (B, T, 3, nh, dk): each step's queries, keys and values, heads side by side (the
 * output of x W_qkv + b); out (B, T, nh, dk). scale: 1 / sqrt(dk) as a rule. Only the
 * (row, head) pairs p = b nh + h with first <= p < last (several threads share a batch).
 * Returns 0, or -1 when no scratch memory could be had (nothing written then). */
int seqlab_attention(int B, int T, int nh, int dk, float scale, const float *restrict qkv,
                     float *restrict out, int first, int last) {
    const int Tp = (T + 15) / 16 * 16;
    const int64_t step = (int64_t)3 * nh * dk;             /* qkv's stride between steps */
    float *kt = malloc(sizeof(float) * ((size_t)2 * dk * Tp + (size_t)QUERIES * Tp));
    if (kt == NULL) return -1;
    float *vh = kt + (size_t)dk * Tp;                      /* the head's values (T, dk) */
    float *s = vh + (size_t)dk * Tp;                       /* the queries' scores */
#ifdef __SSE__
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);                              /* flush denormals (FTZ, DAZ) */
#endif
    for (int p = first < 0 ? 0 : first; p < last && p < B * nh; ++p) {
        const int b = p / nh, h = p % nh;
        const float *q = qkv + b * T * step + h * dk;  /* step 0's query of head h */
        const float *k = q + nh * dk, *v = k + nh * dk;
        for (int d = 0; d < dk; ++d) {                 /* K^T scaled, zeros past T */
            for (int j = 0; j < T; ++j) kt[(int64_t)d * Tp + j] = scale * k[j * step + d];
            for (int j = T; j < Tp; ++j) kt[(int64_t)d * Tp + j] = 0.0f;
        }
        for (int j = 0; j < T; ++j)                    /* V side by side: in L1 */
            memcpy(vh + (int64_t)j * dk, v + j * step, sizeof(float) * dk);
        for (int i = 0; i < T; i += QUERIES) {
            const float *q_r[QUERIES];                 /* past T: step T-1 again, */
            float *out_r[QUERIES], total[QUERIES];     /* not written */
            for (int r = 0; r < QUERIES; ++r) {
                const int t = i + r < T ? i + r : T - 1;
                q_r[r] = q + t * step;
                out_r[r] = i + r < T ? out + ((int64_t)b * T + t) * nh * dk + h * dk : NULL;
            }
            scores(dk, Tp, q_r, kt, s);
            softmax_numerators(T, Tp, s, total);
            weighted_values(T, Tp, dk, s, total, vh, dk, out_r);
        }
    }
#ifdef __SSE__
    _mm_setcsr(csr);
#endif
    free(kt);
    return 0;
}

/* Add & Norm of rows of D features: z = x + add (add NULL: z = x), then
 *   out = gamma * (z - mean) / sqrt(var + eps) + beta   (mean, biased var over the D)
 * z itself goes to sum when not NULL (a pre-norm layer carries it on). */
void seqlab_add_norm(int rows, int D, const float *restrict x, const float *restrict add,
                     const float *restrict gamma, const float *restrict beta, float eps,
                     float *restrict sum, float *restrict out) {
    v16 last = splat(0.0f);                                /* 1 on the last block's lanes */
    for (int l = 0; l < 16; ++l) last[l] = (D - 1) / 16 * 16 + l < D ? 1.0f : 0.0f;
    for (int64_t i = 0; i < rows; ++i) {
        const float *x_i = x + i * D, *add_i = add != NULL ? add + i * D : NULL;
        float *z = sum != NULL ? sum + i * D : out + i * D, *y = out + i * D;
        v16 total = splat(0.0f);
        for (int d = 0; d < D; d += 16) {                  /* z, and its mean */
            const int n = D - d < 16 ? D - d : 16;
            v16 z_d = load_part(x_i + d, n);
            if (add_i != NULL) z_d += load_part(add_i + d, n);
            store_part(z + d, z_d, n);
            total += z_d;
        }
        const v16 mean = splat(lanes_sum(total) / (float)D);
        v16 squares = splat(0.0f);
        for (int d = 0; d < D; d += 16) {                  /* the variance around it */
            const int n = D - d < 16 ? D - d : 16;
            v16 c = load_part(z + d, n) - mean;
            if (n < 16) c *= last;
            squares += c * c;
        }
        const v16 inv = splat(1.0f / sqrtf(lanes_sum(squares) / (float)D + eps));
        for (int d = 0; d < D; d += 16) {
            const int n = D - d < 16 ? D - d : 16;
            const v16 c = (load_part(z + d, n) - mean) * inv;
            store_part(y + d, c * load_part(gamma + d, n) + load_part(beta + d, n), n);
        }
    }
}
