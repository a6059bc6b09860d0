using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels.Parity;

/// <summary>Where a parity test runs: one CUDA backend shared by the collection's tests (the first
/// use compiles all kernels, which takes seconds), or a skip (or failure) saying why there is none.
/// A collection runs its tests one at a time: they share the backend's stream and statistics.</summary>
public abstract class DeviceFixture : IDisposable
{
    private readonly CudaBackend? _backend;
    private readonly string _reason;

    protected DeviceFixture((CudaBackend? Backend, string Reason) created) => (_backend, _reason) = created;

    public CudaBackend BackendOrSkip()
    {
        if (_backend is not null) return _backend;
        Unavailable(_reason);
        return null!;
    }

    /// <summary>Skips, or fails where the backend should have been there, saying why not.</summary>
    protected abstract void Unavailable(string reason);

    public void Dispose() => _backend?.Dispose();
}

/// <summary>The GPU. Where one is there but the backend did not start (NVRTC or cuBLAS not found, a
/// kernel that does not compile), the tests fail: a GPU host must never report a green,
/// all-skipped parity suite.</summary>
public sealed class CudaFixture() : DeviceFixture(CudaBackend.TryCreate(out var backend, out var reason) ? (backend, "") : (null, reason))
{
    protected override void Unavailable(string reason)
    {
        if (CudaDevice.TryOpen(out var device, out _))
        {
            device!.Dispose();
            Assert.Fail($"a GPU is present but the CUDA backend did not start: {reason}");
        }
        Assert.Skip($"no CUDA GPU: {reason}");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaCollection : ICollectionFixture<CudaFixture>
{
    public const string Name = "cuda";
}

/// <summary>The same parity tests on the emulated device (<see cref="CudaBackend.TryCreateEmulated"/>):
/// the kernels compiled by g++ and run on the CPU with guarded memory, so CI checks every kernel
/// and launcher on every run. Without a C++ compiler the tests skip, unless
/// IGCV3_REQUIRE_EMULATION=1 (CI sets it) makes that a failure.</summary>
public sealed class EmulatedFixture() : DeviceFixture(CudaBackend.TryCreateEmulated(out var backend, out var reason) ? (backend, "") : (null, reason))
{
    protected override void Unavailable(string reason)
    {
        if (Environment.GetEnvironmentVariable("IGCV3_REQUIRE_EMULATION") == "1") Assert.Fail($"IGCV3_REQUIRE_EMULATION=1 but {reason}");
        Assert.Skip($"no emulated device: {reason}");
    }
}

/// <summary>Its tests run one at a time (one emulated backend), but beside other collections: the
/// device serialises its own launches, and nothing else shares its memory.</summary>
[CollectionDefinition(Name)]
public sealed class EmulatedCollection : ICollectionFixture<EmulatedFixture>
{
    public const string Name = "emulated";
}

/// <summary>
/// The same values on the CPU reference and on the GPU, and the comparison of results. Every
/// comparison is normwise: ‖gpu − cpu‖₂ / ‖cpu‖₂ ≤ tolerance (absolute when cpu is all zeros), and
/// a NaN anywhere in the GPU result fails it, which is how outputs poisoned with NaN before a forward
/// launch catch elements a kernel never wrote.
/// </summary>
public static class Parity
{
    public static IBackend Cpu => CpuBackend.Instance;

    /// <summary>Uniform(low, high) F32 values from a seed, on both backends.</summary>
    public static (Tensor Cpu, Tensor Gpu) Random(IBackend gpu, Shape shape, int seed, double low = -1, double high = 1)
    {
        var cpu = Tensor.RandomUniform(Cpu, shape, new System.Random(seed), low, high, DType.F32);
        return (cpu, Tensor.FromArray(gpu, cpu.ToFloatArray(), shape));
    }

    /// <summary>A GPU output filled with NaN, and a CPU output (zeros) of the same shape.</summary>
    public static (Tensor Cpu, Tensor Gpu) Poisoned(IBackend gpu, Shape shape)
    {
        var g = Tensor.Zeros(gpu, shape);
        gpu.Fill(g, double.NaN);
        return (Tensor.Zeros(Cpu, shape), g);
    }

    /// <summary>Unwritten gradients (<see cref="Tensor.IsUnwritten"/>) holding NaN on both sides: the
    /// backward method that gets one first must overwrite every element without reading any, or a
    /// NaN survives into the comparison.</summary>
    public static (Tensor Cpu, Tensor Gpu) Unwritten(IBackend gpu, Shape shape)
    {
        var (cpu, g) = (Tensor.Zeros(Cpu, shape), Tensor.Zeros(gpu, shape));
        Cpu.Fill(cpu, double.NaN);
        gpu.Fill(g, double.NaN);
        cpu.MarkUnwritten();
        g.MarkUnwritten();
        return (cpu, g);
    }

    /// <summary>Gradients pre-filled with the same random values on both sides: a backward kernel
    /// that overwrote instead of accumulating would lose them and fail the comparison.</summary>
    public static (Tensor Cpu, Tensor Gpu) Prefilled(IBackend gpu, Shape shape, int seed) => Random(gpu, shape, seed, -0.5, 0.5);

    /// <summary>A forward's batch statistics (<see cref="BatchStatistics"/>) on both sides: both
    /// computed, the saved mean and 1/√(σ² + ε) and the running statistics within a long reduction's tolerance.</summary>
    public static void AssertBatchStatistics(string what, BatchStatistics cpu, BatchStatistics gpu, (Tensor Cpu, Tensor Gpu) runningMean, (Tensor Cpu, Tensor Gpu) runningVar)
    {
        Assert.True(cpu.Computed && gpu.Computed, what + ": both backends computed the statistics");
        AssertClose(what + " saveMean", cpu.SaveMean, gpu.SaveMean, LongReduction);
        AssertClose(what + " saveInvStd", cpu.SaveInvStd, gpu.SaveInvStd, LongReduction);
        AssertClose(what + " runningMean", runningMean.Cpu, runningMean.Gpu, LongReduction);
        AssertClose(what + " runningVar", runningVar.Cpu, runningVar.Gpu, LongReduction);
    }

    public static void AssertClose(string what, Tensor cpu, Tensor gpu, double tolerance)
    {
        Assert.Equal(cpu.Shape, gpu.Shape);
        float[] expected = cpu.ToFloatArray(), actual = gpu.ToFloatArray();
        double diff = 0, norm = 0;
        int firstNaN = -1, worst = -1;
        double worstDiff = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(actual[i]) && !float.IsNaN(expected[i]) && firstNaN < 0) firstNaN = i;
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
            if (Math.Abs(d) > worstDiff)
            {
                worstDiff = Math.Abs(d);
                worst = i;
            }
        }
        Assert.True(firstNaN < 0, $"{what}: GPU element {firstNaN} is NaN (never written?), CPU has {(firstNaN >= 0 ? expected[firstNaN] : 0)}");
        double error = norm > 0 ? Math.Sqrt(diff / norm) : Math.Sqrt(diff);
        Assert.True(error <= tolerance,
            $"{what}: relative error {error:G3} > {tolerance:G3} over {expected.Length} elements; worst [{worst}] gpu {(worst >= 0 ? actual[worst] : 0):G9} cpu {(worst >= 0 ? expected[worst] : 0):G9}");
    }

    /// <summary>Single-rounding float ops (add, compare, clamp) must match bit for bit.</summary>
    public const double Exact = 0;

    /// <summary>Short float reductions (dot products of up to a few hundred terms) accumulate in a
    /// different order on the two sides; each rounding is ε = 6e-8, and the normwise error of such
    /// sums stays well below 1e-5.</summary>
    public const double Typical = 1e-5;

    /// <summary>Long reductions (weight gradients over M = N·H·W rows, batch-norm sums): the rounding
    /// error grows with the number of terms (√M·ε typically, M·ε at worst, relative to Σ|terms|),
    /// and random-sign terms cancel, so the result can be √M smaller than Σ|terms|. For the
    /// hundreds to thousands of rows here that is a few 1e-6 typical, allowed 1e-4.</summary>
    public const double LongReduction = 1e-4;
}
