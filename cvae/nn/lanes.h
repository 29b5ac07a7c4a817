/* A vector of LANES floats for the C loops (GCC and Clang vector extensions: the compiler maps it onto
 * the CPU's registers, one AVX-512 register or two AVX2 ones), with unaligned loads and stores. */
#include <string.h>

#define LANES 16
typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));

static inline lanes load(const float *p) {
    lanes v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store(float *p, lanes v) { memcpy(p, &v, sizeof v); }
