/* One row's LSTM forward, for inference at batch 1 (layers/recurrent/lstm_row.py).
 *
 * At batch 1 every step is a (4H x H) matrix-vector product and 5H transcendental
 * functions: latency, not arithmetic. torch's CPU kernel (oneDNN) spends ~2.6-4.5 us a
 * step there for H = 64; this loop, vectorised by the compiler, ~1.1 us.
 *
 * The course's equations, gates in Keras's order i, f, g (the candidate c~), o:
 *   a_t = x_t W + b + h_{t-1} U          (xw holds x_t W, made by one matrix product)
 *   i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * tanh(c_t)
 * with exp by range reduction, exp(x) = 2^n exp(r), |r| <= ln(2)/2, exp(r) a polynomial
 * (relative error ~1e-7, as float32's own), and tanh(x) = 1 - 2 / (exp(2x) + 1) away
 * from 0.
 */
#include <stdint.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));   /* 16 floats: one AVX-512 register */

static inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : x;                    /* exp(-87.3) > FLT_MIN: 2^n stays normal */
    x = x > 88.3f ? 88.3f : x;
    const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);   /* round(x / ln 2) */
    const float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-06f;  /* ln 2, in 2 parts */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;                       /* exp(r) */
    union { int32_t i; float f; } two_n;
    two_n.i = ((int32_t)n + 127) << 23;             /* 2^n, built in the exponent bits */
    return p * two_n.f;
}

static inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

/* tanh to float32's precision also near 0, where 1 - 2 / (exp(2x) + 1) would lose its
 * digits: there an odd polynomial, x + x^3 P(x^2) (Cephes's tanhf, |x| < 0.625) */
static inline float tanh_approx(float x) {
    const float ax = x < 0.0f ? -x : x;
    const float s = x * x;
    const float small = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s
                           - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s
                         - 3.33332819422e-1f) * s * x + x;
    float large = 1.0f - 2.0f / (exp_approx(2.0f * ax) + 1.0f);
    large = x < 0.0f ? -large : large;
    return ax < 0.625f ? small : large;
}

/* xw (T, 4H): x_t W for each step; b (4H): the bias; U (H, 4H) the recurrent kernel,
 * Keras layout; h0, c0 (H): the initial state. Written: y (T, H), h_t
 * for each step; h, c (H), the final state; a (4H), scratch for a_t. */
void seqlab_lstm_row(int T, int H, const float *restrict xw, const float *restrict b,
                     const float *restrict U, const float *h0, const float *c0,
                     float *restrict y, float *restrict h, float *restrict c,
                     float *restrict a) {
    const int G = 4 * H;
    memcpy(h, h0, sizeof(float) * H);
    memcpy(c, c0, sizeof(float) * H);
    for (int t = 0; t < T; ++t) {
        const float *restrict xw_t = xw + (int64_t)t * G;
        /* a_t = x_t W + b + h_{t-1} U: 128 columns at a time summed in 8 registers of 16
         * (U, 64 KB at H = 64, streams from L2 once a step), then any last columns */
        int j0 = 0;
        for (; j0 + 128 <= G; j0 += 128) {
            v16 acc[8];
            for (int m = 0; m < 8; ++m) {
                v16 x_m, b_m;
                memcpy(&x_m, xw_t + j0 + 16 * m, sizeof(v16));
                memcpy(&b_m, b + j0 + 16 * m, sizeof(v16));
                acc[m] = x_m + b_m;
            }
            for (int k = 0; k < H; ++k) {
                const float *U_kj = U + (int64_t)k * G + j0;
                const v16 h_k = (v16){0} + h[k];                   /* h_k in all 16 lanes */
                for (int m = 0; m < 8; ++m) {
                    v16 u;
                    memcpy(&u, U_kj + 16 * m, sizeof(v16));
                    acc[m] += h_k * u;
                }
            }
            for (int m = 0; m < 8; ++m) memcpy(a + j0 + 16 * m, &acc[m], sizeof(v16));
        }
        for (int j = j0; j < G; ++j) a[j] = xw_t[j] + b[j];
        for (int k = 0; k < H; ++k) {
            const float h_k = h[k];
            const float *restrict U_k = U + (int64_t)k * G;
            for (int j = j0; j < G; ++j) a[j] += h_k * U_k[j];
        }
        /* i, f: sigmoid; g: tanh; o: sigmoid */
        for (int j = 0; j < 2 * H; ++j) a[j] = sigmoid(a[j]);
        for (int j = 2 * H; j < 3 * H; ++j) a[j] = tanh_approx(a[j]);
        for (int j = 3 * H; j < G; ++j) a[j] = sigmoid(a[j]);
        float *restrict y_t = y + (int64_t)t * H;
        for (int j = 0; j < H; ++j) {
            const float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
            const float c_next = f * c[j] + i * g;
            c[j] = c_next;
            y_t[j] = o * tanh_approx(c_next);
        }
        for (int j = 0; j < H; ++j) h[j] = y_t[j];
    }
}
