/* Bias + activation on a layer's output, and back through them, for channels-last float32 rows.
 *
 * y (rows, c) in place: y = act(y + b). Backward: g = gz * act'(out), db += column sums of g
 * (double accumulators, as PyTensor's Sum). ReLU's derivative is read from its output (out > 0).
 * NumPy took 3-4 passes for these (a boolean temporary, a reduction along the long axis).
 */
#include <stddef.h>

void bias_act(float *restrict y, size_t rows, int c, const float *restrict b, int relu) {
    for (size_t r = 0; r < rows; r++, y += c) {
        if (relu)
            for (int e = 0; e < c; e++) { float v = y[e] + b[e]; y[e] = v < 0 ? 0 : v; }  /* NaN stays NaN */
        else
            for (int e = 0; e < c; e++) y[e] += b[e];
    }
}

void bias_act_backward(const float *restrict gz, const float *restrict out, size_t rows, int c, int relu,
                       float *restrict g, double *restrict db) {
    size_t n = rows * c;
    if (relu)  /* a branch-free select, so the loop vectorizes */
        for (size_t e = 0; e < n; e++) g[e] = out[e] > 0 ? gz[e] : 0.0f;
    else
        for (size_t e = 0; e < n; e++) g[e] = gz[e];
    for (int e = 0; e < c; e++) db[e] = 0;
    for (size_t r = 0; r < rows; r++)
        for (int e = 0; e < c; e++) db[e] += g[r * c + e];
}
