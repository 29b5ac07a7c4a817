/* A vector of LANES floats for the C loops (GCC and Clang vector extensions), as wide as the CPU's
 * vector registers: 16 with AVX-512, 8 with AVX, else 4 (SSE, NEON). Wider than the registers, the
 * compiler keeps such vectors in memory instead (measured on AVX2: the classroom's convolution layers 15x slower).
 * REGISTERS: how many the CPU has, for choosing how many accumulators a block keeps. */
#include <string.h>

#if defined(__AVX512F__)
#define LANES 16
#define REGISTERS 32
#elif defined(__AVX__)
#define LANES 8
#define REGISTERS 16
#else
#define LANES 4
#define REGISTERS 16
#endif
typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));

static inline lanes load(const float *p) {
    lanes v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store(float *p, lanes v) { memcpy(p, &v, sizeof v); }
