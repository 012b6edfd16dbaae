/* 16-float vectors (one AVX-512 register) and the functions the C kernels evaluate on
 * them: exp, log, sigmoid, tanh, 1/d. With AVX-512: exp(x) = 2^n exp(r), n = round(x / ln 2),
 * |r| <= ln(2)/2, exp(r) a polynomial (relative error ~1e-7, float32's own) scaled by 2^n
 * with one instruction (vscalefps); tanh a rational function (odd degree 13 over even
 * degree 6) of x clamped to [-7.9, 7.9], x itself below 4e-4 (largest error 3e-7, 2.5
 * float32 epsilons, near |x| = 5.9; +-0.99999976 past the clamp);
 * 1 / d a 14-bit estimate and one Newton step (~1 ulp). NaN stays NaN. Without AVX-512
 * the same functions one float at a time, which the compiler vectorises.
 *
^ * Included by layers/recurrent/scans.c and layers/transformer/encoder_layer.c
 * compiles them with this folder on the include path).
 */
#ifndef SEQLAB_VECTOR16_H
#define SEQLAB_VECTOR16_H

#include <stdint.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));   /* 16 floats: one AVX-512 register */

static inline v16 load16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
static inline void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline v16 splat(float s) {
    return (v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
}

#ifdef __AVX512F__
#include <immintrin.h>

/* exp(x) for |x| <= 88: 2^n exp(r) */
static inline __m512 vexp(__m512 x) {
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);   /* ln 2 in two */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);  /* parts */
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);                                          /* p 2^n */
}

/* 1 / d: the 14-bit estimate r, then r + r (1 - d r) */
static inline __m512 vrecip(__m512 d) {
    const __m512 r = _mm512_rcp14_ps(d);
    return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
}

/* x clamped to [-c, c]; NaN stays NaN (vminps and vmaxps return their second operand) */
static inline __m512 vclamp(__m512 x, float c) {
    return _mm512_min_ps(_mm512_set1_ps(c), _mm512_max_ps(_mm512_set1_ps(-c), x));
}

static inline v16 vsigmoid(v16 v) {
    const __m512 e = vexp(_mm512_sub_ps(_mm512_setzero_ps(), vclamp((__m512)v, 88.0f)));
    return (v16)vrecip(_mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

static inline v16 vtanh(v16 v) {
    const __m512 x = vclamp((__m512)v, 7.90531110763549805f);
    const __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.00018790482477e-13f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-8.60467152213735e-11f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(5.12229709037114e-08f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.48572235717979e-05f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(6.37261928875436e-04f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(4.89352455891786e-03f));
    p = _mm512_mul_ps(p, x);
    __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(1.18534705686654e-04f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(2.26843463243900e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(4.89352518554385e-03f));
    const __mmask16 tiny = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(4e-4f),
                                              _CMP_LT_OQ);
    return (v16)_mm512_mask_blend_ps(tiny, _mm512_mul_ps(p, vrecip(q)), x);
}

/* exp(x) for x <= 88; below -100 taken as exp(-100) (~4e-44) */
static inline v16 vexp16(v16 x) {
    return (v16)vexp(_mm512_max_ps(_mm512_set1_ps(-100.0f), (__m512)x));  /* NaN stays */
}

/* log(x) for positive normal x: x = 2^e m, m in [1, 2), log m = 2 atanh(r), r = (m - 1) /
   (m + 1) in [0, 1/3), its odd series to r^13 (relative error ~1e-7) */
static inline v16 vlog16(v16 v) {
    const __m512 x = (__m512)v;
    const __m512 e = _mm512_getexp_ps(x);
    const __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    const __m512 r = _mm512_mul_ps(_mm512_sub_ps(m, _mm512_set1_ps(1.0f)),
                                   vrecip(_mm512_add_ps(m, _mm512_set1_ps(1.0f))));
    const __m512 r2 = _mm512_mul_ps(r, r);
    __m512 p = _mm512_set1_ps(2.0f / 13.0f);
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f / 11.0f));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f / 9.0f));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f / 7.0f));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f / 5.0f));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f / 3.0f));
    p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(2.0f));
    return (v16)_mm512_fmadd_ps(e, _mm512_set1_ps(0.693147180559945309f), _mm512_mul_ps(p, r));
}

/* lane by lane max(a, b) (b where either is NaN); the max and the sum of the 16 lanes */
static inline v16 vmax16(v16 a, v16 b) { return (v16)_mm512_max_ps((__m512)a, (__m512)b); }
static inline v16 where_nonneg(v16 z, v16 a, v16 b) {      /* a where z >= 0, else b */
    return (v16)_mm512_mask_blend_ps(_mm512_cmp_ps_mask((__m512)z, _mm512_setzero_ps(),
                                                        _CMP_GE_OQ), (__m512)b, (__m512)a);
}
static inline float lanes_max(v16 v) { return _mm512_reduce_max_ps((__m512)v); }
static inline float lanes_sum(v16 v) { return _mm512_reduce_add_ps((__m512)v); }

#else  /* portable: the same functions one float at a time, vectorised by the compiler */

static inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : x;                    /* exp(-87.3) > FLT_MIN: 2^n stays normal */
    x = x > 88.3f ? 88.3f : x;
    const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    const float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-06f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } two_n;
    two_n.i = ((int32_t)n + 127) << 23;             /* 2^n, built in the exponent bits */
    return p * two_n.f;
}

/* tanh: 1 - 2 / (exp(2|x|) + 1) with x's sign, and near 0, where that loses its digits,
   an odd polynomial x + x^3 P(x^2) (Cephes's tanhf, |x| < 0.625) */
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

static inline v16 vsigmoid(v16 x) {
    for (int j = 0; j < 16; ++j) x[j] = 1.0f / (1.0f + exp_approx(-x[j]));
    return x;
}

static inline v16 vtanh(v16 x) {
    for (int j = 0; j < 16; ++j) x[j] = tanh_approx(x[j]);
    return x;
}
static inline v16 vexp16(v16 x) {
    for (int j = 0; j < 16; ++j) x[j] = exp_approx(x[j]);
    return x;
}

static inline v16 vlog16(v16 x) {
    for (int j = 0; j < 16; ++j) x[j] = __builtin_logf(x[j]);
    return x;
}

static inline v16 vmax16(v16 a, v16 b) {
    for (int j = 0; j < 16; ++j) a[j] = a[j] > b[j] ? a[j] : b[j];
    return a;
}

static inline v16 where_nonneg(v16 z, v16 a, v16 b) {
    for (int j = 0; j < 16; ++j) a[j] = z[j] >= 0.0f ? a[j] : b[j];
    return a;
}

static inline float lanes_max(v16 v) {
    float m = v[0];
    for (int j = 1; j < 16; ++j) m = v[j] > m ? v[j] : m;
    return m;
}

static inline float lanes_sum(v16 v) {
    float s = 0.0f;
    for (int j = 0; j < 16; ++j) s += v[j];
    return s;
}
#endif

/* The first n floats (n <= 16; zeros after) at p, and the first n lanes of v to p; no
   other memory is touched. With AVX-512 one masked load / store. */
#ifdef __AVX512F__
static inline v16 load_part(const float *p, int n) {
    if (n >= 16) return load16(p);
    return (v16)_mm512_maskz_loadu_ps((__mmask16)((1u << (n < 0 ? 0 : n)) - 1u), p);
}

static inline void store_part(float *p, v16 v, int n) {
    if (n >= 16) { store16(p, v); return; }
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n < 0 ? 0 : n)) - 1u), (__m512)v);
}
#else
static inline v16 load_part(const float *p, int n) {
    if (n >= 16) return load16(p);
    if (n <= 0) return (v16){0};
    float tmp[16] = {0};
    memcpy(tmp, p, sizeof(float) * n);
    return load16(tmp);
}

static inline void store_part(float *p, v16 v, int n) {
    if (n >= 16) { store16(p, v); return; }
    if (n <= 0) return;
    float tmp[16];
    store16(tmp, v);
    memcpy(p, tmp, sizeof(float) * n);
}
#endif

#endif
