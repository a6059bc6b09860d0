using Igcv3.Kernels.Cuda;
using Igcv3.Bench.Gpu;
using Igcv3.Engine;
using Igcv3.Engine.Cpu;
using Igcv3.Kernels;

namespace Igcv3.Bench.Benchmarks;

/// <summary>The backend the BenchmarkDotNet classes run on, from IGCV3_BENCH_DEVICE (cpu, the
/// default, or cuda): an environment variable because BenchmarkDotNet runs each benchmark in a
/// child process, which inherits it. On CUDA these wall-clock figures include launch overhead
/// and a synchronization per call: use `gpu-report` for kernel times.</summary>
public static class BenchBackend
{
    private static readonly Lazy<IBackend> s_backend = new(Create);

    public static IBackend Current => s_backend.Value;

    public static string Requested => (Environment.GetEnvironmentVariable("IGCV3_BENCH_DEVICE") ?? "cpu").Trim().ToLowerInvariant();

    private static IBackend Create()
    {
        if (Requested == "cpu") return CpuBackend.Instance;
        if (Requested is not ("cuda" or "cuda:0")) throw new ArgumentException($"IGCV3_BENCH_DEVICE: expected cpu or cuda, got '{Requested}'");
        return CudaBackend.Create(CudaDevice.Open());
    }
}
