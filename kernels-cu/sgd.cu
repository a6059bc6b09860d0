// sgd.cu — one SGD step over the flat parameter buffer (IBackend.SgdStep, SgdSpec), PyTorch semantics:
//
//   parameters, gradients, momentum: flat [n] buffers of equal length (n < 2^31)
//   g = grad[i] + wd·p[i]   for i < decayedCount only (BN and bias parameters laid out after them are exempt)
//   buf[i] = μ·buf[i] + g
//   g = nesterov ? g + μ·buf[i] : buf[i]
//   p[i] -= lr·g
// (With the buffer starting at zero, the first step gives buf = g, as PyTorch's clone does; with
// μ = 0 this is plain SGD and buf just mirrors g.) Updates parameters and momentum in place;
// gradients are read only.
//
// ---- kernel and launch contract (block = 256 threads, 1-D; dynamic shared memory 0) -------------
// sgd_step(float* parameters, const float* gradients, float* momentum, int n, int decayedCount,
//          float lr, float mu, float weightDecay, int nesterov)
//   decayedCount = min(SgdSpec.DecayedCount, n). grid = min(ceil(n / 256), 65535) (grid-stride; any grid >= 1).
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    sgd_step(float* __restrict__ parameters, const float* __restrict__ gradients, float* __restrict__ momentum, int n,
             int decayedCount, float lr, float mu, float weightDecay, int nesterov)
{
    IGC_GRID_LOOP(i, n)
    {
        const float p = parameters[i];
        float g = __ldg(gradients + i);
        if ((int)i < decayedCount) g = fmaf(weightDecay, p, g);
        const float buf = fmaf(mu, momentum[i], g);
        momentum[i] = buf;
        const float step = nesterov ? fmaf(mu, buf, g) : buf;
        parameters[i] = fmaf(-lr, step, p);
    }
}
