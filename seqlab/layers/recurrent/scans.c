/* An LSTM on the CPU, any number of rows: the forward pass (inference, or training with
 * every step's gates kept) and the backward pass through time (layers/recurrent/
 * lstm_scan.py drives both and makes the weights' gradients as matrix products).
 *
 * The course's equations, gates in Keras's order i, f, g (the candidate c~), o:
 *   a_t = x_t W + h_{t-1} U + b
 *   i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * tanh(c_t)
 *
 * Where the time goes. A row-step is (D + H) x 4H multiply-adds and 5H transcendental
 * functions: for LSTM(64) on 32 inputs, 1,536 16-lane FMAs and 20 16-lane functions,
 * both on the same two vector ports. torch's CPU kernel (oneDNN) first writes x_t W for
 * every step (B x T x 4H floats, 16 MB for 64 rows of 256 steps), then steps. Here:
 *
 * - Units in blocks of 16 (one 512-bit register): block q holds the four gates of units
 *   16q..16q+15, so its W and U columns (packed (Q, D, 4, 16) and (Q, H, 4, 16), 24 KB for
 *   LSTM(64)) stay in L1 while every row uses them, and a block's pre-activations are a
 *   whole unit's gates: the state update follows in registers, nothing goes to memory.
 * - Rows in blocks of 6: 6 rows x 4 gates = 24 accumulators, each weight load feeds 6
 *   multiply-adds, each broadcast of x_t[k] or h_{t-1}[k] 4.
 * - x_t W inside the same multiply-add loop as h_{t-1} U: x is read where it lies.
 * - sigmoid = 1 / (1 + exp(-x)) and tanh in registers, with the vector functions of
 *   seqlab/vector16.h (exp scaled by 2^n in one instruction, a rational tanh, 1 / d from
 *   a 14-bit estimate; largest tanh error 3e-7, 2.5 float32 epsilons). NaN stays NaN.
 * - Training: the gates and c_t of every step go to memory with streaming stores (read
 *   back only by the backward pass, megabytes later); the backward walks back through
 *   time in the same blocks, dL/dh_{t-1} = da_t U^T in 24 accumulators.
 * - Without AVX-512 (another CPU, or a plain build) the same loops run on the compiler's
 *   vectors, with the scalar functions below in place of the AVX-512 ones.
 *
 * Measured (bench/recurrent_paths.py, one thread): inference on 64 rows of 256 steps
 * 1.15x oneDNN's row-steps/s for LSTM(64), 1.3x for LSTM(128); one row 1.7x and 1.4x;
 * training LSTM(64) 1.25-1.3x.
 */
#include <stdint.h>
#include <string.h>

#include "vector16.h"

/* A store read back only after the whole forward pass (megabytes later): with AVX-512,
   past the caches (a streaming store: no read of the line first), when 64-byte aligned. */
static inline void store_far(float *p, v16 v) {
#ifdef __AVX512F__
    if (((uintptr_t)p & 63) == 0) {
        _mm512_stream_ps(p, (__m512)v);
        return;
    }
#endif
    store16(p, v);
}

/* The loops' bodies are copied for each constant block size (rows, unit blocks), so that
   the accumulators live in registers. Without AVX-512 the compiler splits every 16-lane
   operation in four and those copies take minutes to compile: there, one copy each. */
#ifdef __AVX512F__
#define SPECIALISED static inline __attribute__((always_inline))
#else
#define SPECIALISED static __attribute__((noinline))
#endif

enum { ROWS = 6 };   /* rows per block: 6 x 4 accumulators + 4 weights fit 32 registers */

/* call(R) with R = 1..ROWS a constant (each a specialised copy of the loops) */
#define BY_ROWS(R, call)                                                                    \
    switch (R) {                                                                            \
    case 6: call(6); break;                                                                 \
    case 5: call(5); break;                                                                 \
    case 4: call(4); break;                                                                 \
    case 3: call(3); break;                                                                 \
    case 2: call(2); break;                                                                 \
    default: call(1); break;                                                                \
    }

/* One step of R rows (R <= ROWS, a constant once inlined) for the 16 units of block q:
 * x_r: x_t of the block's first row, rows x_row apart; Wq (D, 4, 16), Uq (H, 4, 16),
 * bq (4, 16) the block's weights; h_prev: h_{t-1} of the rows (Hp apart); c, h_next: the
 * block's 16 units of c (updated in place) and of h_t. */
SPECIALISED void
step_block(const int R, int D, int H, int Hp, const float *restrict x_r, int64_t x_row,
           const float *restrict Wq, const float *restrict Uq, const float *restrict bq,
           const float *restrict h_prev, float *restrict h_next, float *restrict c,
           float *restrict acts, int64_t acts_row, float *restrict cs) {
    v16 a[ROWS][4];                                 /* a[r][gate]: the pre-activations */
    for (int r = 0; r < R; ++r)
        for (int g = 0; g < 4; ++g) a[r][g] = load16(bq + 16 * g);
    for (int k = 0; k < D; ++k) {                   /* + x_t W */
        v16 w[4];
        for (int g = 0; g < 4; ++g) w[g] = load16(Wq + (int64_t)64 * k + 16 * g);
        for (int r = 0; r < R; ++r) {
            const v16 x_k = splat(x_r[r * x_row + k]);
            for (int g = 0; g < 4; ++g) a[r][g] += x_k * w[g];
        }
    }
    for (int k = 0; k < H; ++k) {                   /* + h_{t-1} U */
        v16 u[4];
        for (int g = 0; g < 4; ++g) u[g] = load16(Uq + (int64_t)64 * k + 16 * g);
        for (int r = 0; r < R; ++r) {
            const v16 h_k = splat(h_prev[(int64_t)r * Hp + k]);
            for (int g = 0; g < 4; ++g) a[r][g] += h_k * u[g];
        }
    }
    for (int r = 0; r < R; ++r) {                   /* the gates */
        a[r][0] = vsigmoid(a[r][0]);
        a[r][1] = vsigmoid(a[r][1]);
        a[r][2] = vtanh(a[r][2]);
        a[r][3] = vsigmoid(a[r][3]);
    }
    for (int r = 0; r < R; ++r) {                   /* c_t = f c + i g;  h_t = o tanh(c_t) */
        float *restrict c_r = c + (int64_t)r * Hp;
        const v16 c_t = a[r][1] * load16(c_r) + a[r][0] * a[r][2];
        store16(c_r, c_t);
        store16(h_next + (int64_t)r * Hp, a[r][3] * vtanh(c_t));
        if (acts) {                                 /* training: kept for the backward */
            for (int g = 0; g < 4; ++g) store_far(acts + r * acts_row + 16 * g, a[r][g]);
            store_far(cs + (int64_t)r * Hp, c_t);
        }
    }
}

/* x (B, T, D) rows of inputs; W (Q, D, 4, 16), U (Q, H, 4, 16), b (Q, 4, 16) the packed
 * weights (Q = ceil(H / 16) blocks, units past H zero); h (2, B, Hp) two state buffers,
 * h[0] holding h_0, c (B, Hp) holding c_0, Hp = 16 Q, the padding lanes 0 (they stay 0).
 * Written: y (B, T, H) the h_t of every step unless y is NULL; h[T % 2] holds h_T, c c_T;
 * for training (else NULL) acts (T, B, Q, 4, 16) the gates i, f, g, o and cs (T, B, Hp)
 * the c_t of every step, as the backward pass reads them. */
void seqlab_lstm_forward(int B, int T, int D, int H, const float *restrict x,
                         const float *restrict W, const float *restrict U,
                         const float *restrict b, float *restrict h, float *restrict c,
                         float *restrict y, float *restrict acts, float *restrict cs) {
    const int Q = (H + 15) / 16, Hp = 16 * Q;
    const int64_t x_row = (int64_t)T * D, state = (int64_t)B * Hp;
    for (int t = 0; t < T; ++t) {
        const float *h_prev = h + (t % 2) * state;
        float *h_next = h + ((t + 1) % 2) * state;
        for (int q = 0; q < Q; ++q) {
            const float *Wq = W + (int64_t)q * D * 64, *Uq = U + (int64_t)q * H * 64;
            const float *bq = b + 64 * q;
#define STEP(R, r0) step_block(R, D, H, Hp, x + (r0) * x_row + (int64_t)t * D, x_row, Wq, Uq, \
                               bq, h_prev + (r0) * Hp, h_next + (r0) * Hp + 16 * q,          \
                               c + (r0) * Hp + 16 * q,                                       \
                               acts ? acts + ((int64_t)t * B + (r0)) * 4 * Hp + 64 * q : 0,   \
                               4 * Hp, cs ? cs + ((int64_t)t * B + (r0)) * Hp + 16 * q : 0)
            for (int64_t r0 = 0; r0 < B; r0 += ROWS) {
                const int R = B - r0 < ROWS ? (int)(B - r0) : ROWS;
#define STEP_ROWS(n) STEP(n, r0)
                BY_ROWS(R, STEP_ROWS)
#undef STEP_ROWS
            }
#undef STEP
        }
        if (y)
            for (int64_t r = 0; r < B; ++r)
                memcpy(y + (r * T + t) * H, h_next + r * Hp, sizeof(float) * H);
    }
#ifdef __AVX512F__
    if (acts) _mm_sfence();                         /* the streaming stores, visible */
#endif
}

/* ------------------------------------------------------------------ backward */
/* Back-propagation through time, step T-1 down to 0, with d_h = dL/dh_t (from the output
 * y_t and from step t+1) and d_c = dL/dc_t:
 *   d_c += d_h o (1 - tanh(c_t)^2)
 *   da_i = d_c g i (1 - i)      da_f = d_c c_{t-1} f (1 - f)
 *   da_g = d_c i (1 - g^2)      da_o = d_h tanh(c_t) o (1 - o)
 *   dL/dc_{t-1} = d_c f         dL/dh_{t-1} = da_t U^T
 * The weights' gradients are sums over all steps of products with da (dW = x^T da,
 * dU = h_{t-1}^T da): the caller makes them as whole matrix products; db is summed here. */

/* Rows times a matrix whose columns come in blocks of 16 (the weights, packed), the
 * products of both networks' loops: for R rows of x (K values each, x_row apart) and the
 * output blocks q = 0..Q-1, M = 4 blocks at a time (R x 4 accumulators):
 *   out[r][16 q + l] = act(out[r][16 q + l] + sum_k x[r][k] Wb[q][k][l])
 * Wb (Q, K, 16); out rows out_row apart, the first n lanes real (the rest neither read
 * nor written). Used for the SimpleRNN's step (act tanh or relu, out = x_t W + b in), and
 * for dL/dh_{t-1} = da_t U^T of both backward passes (LINEAR, out = 0 in). */
enum { TANH = 0, RELU = 1, LINEAR = 2 };

static inline v16 activate(v16 a, int act) {
    if (act == TANH) return vtanh(a);
    if (act == RELU)
        for (int j = 0; j < 16; ++j) a[j] = a[j] < 0.0f ? 0.0f : a[j];   /* NaN stays NaN */
    return a;
}

SPECIALISED void
product_blocks(const int R, const int M, int K, const float *restrict x, int64_t x_row,
               const float *restrict Wb, float *restrict out, int64_t out_row, int n,
               int act) {
    v16 acc[ROWS][4];
    for (int r = 0; r < R; ++r)
        for (int m = 0; m < M; ++m) acc[r][m] = load_part(out + r * out_row + 16 * m, n - 16 * m);
    for (int k = 0; k < K; ++k) {
        v16 w[4];
        for (int m = 0; m < M; ++m) w[m] = load16(Wb + ((int64_t)m * K + k) * 16);
        for (int r = 0; r < R; ++r) {
            const v16 x_k = splat(x[r * x_row + k]);
            for (int m = 0; m < M; ++m) acc[r][m] += x_k * w[m];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int m = 0; m < M; ++m)
            store_part(out + r * out_row + 16 * m, activate(acc[r][m], act), n - 16 * m);
}

SPECIALISED void
product(const int R, int Q, int K, const float *restrict x, int64_t x_row,
        const float *restrict Wb, float *restrict out, int64_t out_row, int n, int act) {
    const int64_t block = (int64_t)K * 16;          /* one output block of Wb */
    int q = 0;
    for (; q + 4 <= Q; q += 4)
        product_blocks(R, 4, K, x, x_row, Wb + q * block, out + 16 * q, out_row, n - 16 * q, act);
    switch (Q - q) {
    case 3: product_blocks(R, 3, K, x, x_row, Wb + q * block, out + 16 * q, out_row, n - 16 * q, act); break;
    case 2: product_blocks(R, 2, K, x, x_row, Wb + q * block, out + 16 * q, out_row, n - 16 * q, act); break;
    case 1: product_blocks(R, 1, K, x, x_row, Wb + q * block, out + 16 * q, out_row, n - 16 * q, act); break;
    default: break;
    }
}


/* Steps t_hi - 1 down to t_lo (the caller walks the sequence back in chunks, and makes
 * the weights' products of each chunk while its da is still in cache). acts, cs: as
 * seqlab_lstm_forward wrote them; c0 (B, Hp) the initial c; dy (B, T, H) the outputs'
 * gradient, or NULL (none); Ut (Q, 4 Hp, 16): Ut[p][(q, g, l)][m] = U[16 p + m][g H +
 * 16 q + l], zero past H. In and out: dh, dc (B, Hp), the gradient of the state after
 * step t_hi - 1 in, before step t_lo out. Written: da (t_hi - t_lo, B, 4H) the
 * pre-activations' gradient, time-major, Keras's gate layout; db (Q, 4, 16) += its sum
 * over rows and steps. dA (ROWS, 4 Hp): scratch. */
void seqlab_lstm_backward(int B, int T, int t_lo, int t_hi, int H, const float *restrict Ut,
                          const float *restrict acts, const float *restrict cs,
                          const float *restrict c0, const float *restrict dy,
                          float *restrict dh, float *restrict dc, float *restrict da,
                          float *restrict db, float *restrict dA) {
    const int Q = (H + 15) / 16, Hp = 16 * Q;
    for (int t = t_hi - 1; t >= t_lo; --t) {
        for (int64_t r0 = 0; r0 < B; r0 += ROWS) {
            const int R = B - r0 < ROWS ? (int)(B - r0) : ROWS;
            for (int r = 0; r < R; ++r) {
                const int64_t row = r0 + r;
                const float *a_t = acts + ((int64_t)t * B + row) * 4 * Hp;
                const float *c_t = cs + ((int64_t)t * B + row) * Hp;
                const float *c_p = t > 0 ? cs + ((int64_t)(t - 1) * B + row) * Hp : c0 + row * Hp;
                float *da_t = da + ((int64_t)(t - t_lo) * B + row) * 4 * H;
                float *dA_r = dA + (int64_t)r * 4 * Hp;
                for (int q = 0; q < Q; ++q) {
                    const int n = H - 16 * q;       /* real units in this block */
                    const float *a_q = a_t + 64 * q;
                    const v16 i = load16(a_q), f = load16(a_q + 16);
                    const v16 g = load16(a_q + 32), o = load16(a_q + 48);
                    const v16 tc = vtanh(load16(c_t + 16 * q));
                    v16 d_h = load16(dh + row * Hp + 16 * q);
                    if (dy) d_h += load_part(dy + (row * T + t) * H + 16 * q, n);
                    const v16 d_c = load16(dc + row * Hp + 16 * q) + d_h * o * (1.0f - tc * tc);
                    const v16 d_a[4] = {d_c * g * i * (1.0f - i),
                                        d_c * load16(c_p + 16 * q) * f * (1.0f - f),
                                        d_c * i * (1.0f - g * g),
                                        d_h * tc * o * (1.0f - o)};
                    store16(dc + row * Hp + 16 * q, d_c * f);
                    for (int k = 0; k < 4; ++k) {
                        store16(dA_r + 64 * q + 16 * k, d_a[k]);
                        store_part(da_t + k * H + 16 * q, d_a[k], n);
                        store16(db + 64 * q + 16 * k, load16(db + 64 * q + 16 * k) + d_a[k]);
                    }
                }
            }
            for (int64_t j = 0; j < R * (int64_t)Hp; ++j) dh[r0 * Hp + j] = 0.0f;
#define LSTM_BACK(n) product(n, Q, 4 * Hp, dA, 4 * Hp, Ut, dh + r0 * Hp, Hp, Hp, LINEAR)
            BY_ROWS(R, LSTM_BACK)                   /* dL/dh_{t-1} of these rows */
#undef LSTM_BACK
        }
    }
}

/* ================================================================== SimpleRNN
 * h_t = act(a_t), a_t = x_t W + b + h_{t-1} U, act tanh or relu (layers/recurrent/
 * rnn_scan.py makes x W + b for all steps in one matrix product, into the buffer that
 * then receives h_1..h_T, and the weights' gradients). One gate: the loops take 4 blocks
 * of 16 units at once, for 6 rows x 4 blocks = 24 accumulators. Layout: hs (T + 1, B, H)
 * time-major, hs[0] = h_0; U packed (Q, H, 16): Up[q][k][l] = U[k][16 q + l]. */

/* hs (T + 1, B, H): hs[0] = h_0, hs[t] = x_t W + b for t >= 1 in; h_1..h_T out. */
void seqlab_rnn_forward(int B, int T, int H, int relu, const float *restrict Up,
                        float *restrict hs) {
    const int64_t step = (int64_t)B * H;
    for (int t = 1; t <= T; ++t)
        for (int64_t r0 = 0; r0 < B; r0 += ROWS) {
            const int R = B - r0 < ROWS ? (int)(B - r0) : ROWS;
            const float *h_prev = hs + (t - 1) * step + r0 * H;
            float *a = hs + t * step + r0 * H;
#define RNN_ROWS(n) product(n, (H + 15) / 16, H, h_prev, H, Up, a, H, H, relu ? RELU : TANH)
            BY_ROWS(R, RNN_ROWS)
#undef RNN_ROWS
        }
}

/* Back through time: da_t = (dL/dh_t) act'(a_t) (act' = 1 - h^2, or h > 0), dL/dh_{t-1}
 * = da_t U^T. hs as the forward left it; dy (T, B, H) the outputs' gradient or NULL; dh
 * (B, H) in, dL/dh_T, out, dL/dh_0; written: da (T, B, H). Ut (Q, H, 16): Ut[q][k][l] =
 * U[16 q + l][k]. */
void seqlab_rnn_backward(int B, int T, int H, int relu, const float *restrict Ut,
                         const float *restrict hs, const float *restrict dy,
                         float *restrict dh, float *restrict da) {
    const int64_t step = (int64_t)B * H;
    for (int t = T; t >= 1; --t)
        for (int64_t r0 = 0; r0 < B; r0 += ROWS) {
            const int R = B - r0 < ROWS ? (int)(B - r0) : ROWS;
            float *da_t = da + (t - 1) * step + r0 * H;
            for (int64_t j = 0; j < R * (int64_t)H; ++j) {
                const float h = hs[t * step + r0 * H + j];
                const float g = dh[r0 * H + j] + (dy ? dy[(t - 1) * step + r0 * H + j] : 0.0f);
                da_t[j] = relu ? (h > 0.0f ? g : 0.0f) : g * (1.0f - h * h);
            }
            for (int64_t j = 0; j < R * (int64_t)H; ++j) dh[r0 * H + j] = 0.0f;
#define RNN_BACK(n) product(n, (H + 15) / 16, H, da_t, H, Ut, dh + r0 * H, H, H, LINEAR)
            BY_ROWS(R, RNN_BACK)
#undef RNN_BACK
        }
}
