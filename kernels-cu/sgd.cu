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
//          float lr, float mu, float weightDecay, int nesterov, const float* learningRate)
//   decayedCount = min(SgdSpec.DecayedCount, n). grid = min(ceil(n / 256), 65535) (grid-stride; any grid >= 1).
//   learningRate: null, and the rate is lr; or one float in device memory that replaces lr, read when
//   the kernel runs: a step captured once as a CUDA graph replays with the arguments of its capture,
//   and the schedule's rate is written there before each replay.
#include "igc_common.cuh"

extern "C" __global__ void __launch_bounds__(IGC_THREADS)
    sgd_step(float* __restrict__ parameters, const float* __restrict__ gradients, float* __restrict__ momentum, int n,
             int decayedCount, float lr, float mu, float weightDecay, int nesterov, const float* __restrict__ learningRate)
{
    if (learningRate != nullptr) lr = __ldg(learningRate);
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
