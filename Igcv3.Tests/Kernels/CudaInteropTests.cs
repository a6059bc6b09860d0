using Igcv3.Kernels;
using Igcv3.Kernels.Compilation;
using Igcv3.Tests.Support;
using Xunit;
using static Igcv3.Kernels.Interop;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The driver and cuBLAS interop against a real GPU: device facts, memory round trips, loading and
/// launching the smoke kernels, error reporting, handle lifetimes. Each test skips with
/// "no CUDA driver/GPU on this machine (reason)" where device 0 does not open. Tagged device=gpu:
/// the GPU session (Igcv3.Bench/gpu-session.sh) runs them.
/// </summary>
[Trait("device", "gpu")]
public sealed unsafe class CudaInteropTests
{
    [Fact]
    public void Device_ReportsPlausibleProperties()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        Assert.False(string.IsNullOrWhiteSpace(device.Name));
        Assert.InRange(device.Architecture.Major, 3, 20);
        Assert.True(device.MultiprocessorCount > 0);
        Assert.True(device.MaxThreadsPerBlock >= 512);
        Assert.True(device.TotalMemoryBytes > 0);
        Assert.True(device.DriverVersion >= 11000, $"driver {device.DriverVersion}");
        var (free, total) = device.MemoryInfo();
        Assert.InRange(free, 1, total);
        Assert.InRange(total, 1, device.TotalMemoryBytes);
        Assert.StartsWith("cuda:0 (", device.ToString());
    }

    [Fact]
    public void Memory_UploadCopyDownload_AndMemset_RoundTrip()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        const int n = 1003;   // odd, not a multiple of any transfer granule
        var random = new Random(7);
        var host = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 20 - 10).ToArray();
        using var stream = CudaStreamHandle.Create(device.Context);
        using var a = DeviceMemoryHandle.Allocate(device.Context, n * sizeof(float));
        using var b = DeviceMemoryHandle.Allocate(device.Context, n * sizeof(float));

        Upload(a, host, stream);
        CudaDriver.MemcpyDtoDAsync(b.Pointer, a.Pointer, n * sizeof(float), stream);
        Assert.Equal(host, Download(b, n, stream));

        CudaDriver.MemsetD32Async(a.Pointer, BitConverter.SingleToUInt32Bits(2.5f), n, stream);
        Assert.All(Download(a, n, stream), v => Assert.Equal(2.5f, v));
    }

    [Fact]
    public void SmokeKernels_LaunchAndMatchTheirCpuFormulas()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        var compiled = CudaRequirements.CompilerOrSkip().Compile("smoke.cu", device.Architecture);
        device.MakeCurrent();
        using var module = CudaModuleHandle.Load(device.Context, compiled.Image);
        var fill = module.GetFunction("fill_f32");
        var relu6 = module.GetFunction("relu6_f32");

        const long n = 4099;
        var random = new Random(11);
        // Values on both sides of 0 and of 6, so both clamps are exercised.
        var x = Enumerable.Range(0, (int)n).Select(_ => (float)random.NextDouble() * 16 - 5).ToArray();
        using var stream = CudaStreamHandle.Create(device.Context);
        using var dx = DeviceMemoryHandle.Allocate(device.Context, n * sizeof(float));
        using var dy = DeviceMemoryHandle.Allocate(device.Context, n * sizeof(float));
        using var start = CudaEventHandle.Create(device.Context);
        using var end = CudaEventHandle.Create(device.Context);
        Upload(dx, x, stream);

        var (_, block) = CudaDriver.OccupancyMaxPotentialBlockSize(relu6);
        Assert.InRange(block, 32, device.MaxThreadsPerBlock);
        Assert.True(CudaDriver.OccupancyMaxActiveBlocksPerMultiprocessor(relu6, block) >= 1);
        // Deliberately fewer blocks than n / block, so the grid-stride loop is exercised.
        var grid = new Dim3(2);

        ulong yPointer = dy.Pointer, xPointer = dx.Pointer;
        float value = -3.25f;
        long count = n;
        void** fillArguments = stackalloc void*[] { &yPointer, &value, &count };
        start.Record(stream);
        CudaDriver.LaunchKernel(fill, grid, new Dim3((uint)block), 0, stream, fillArguments);
        end.Record(stream);
        Assert.All(Download(dy, (int)n, stream), v => Assert.Equal(-3.25f, v));
        end.Synchronize();
        Assert.True(end.MillisecondsSince(start) >= 0);

        void** reluArguments = stackalloc void*[] { &xPointer, &yPointer, &count };
        CudaDriver.LaunchKernel(relu6, grid, new Dim3((uint)block), 0, stream, reluArguments);
        var y = Download(dy, (int)n, stream);
        for (int i = 0; i < n; i++) Assert.Equal(x[i] < 0 ? 0f : x[i] > 6 ? 6f : x[i], y[i]);
    }

    [Fact]
    public void ModuleLoad_OfGarbage_ThrowsNamingTheCall()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        var e = Assert.Throws<CudaException>(() => CudaModuleHandle.Load(device.Context, "not a module\0"u8.ToArray()));
        Assert.StartsWith("cuModuleLoadDataEx", e.Call);
        Assert.StartsWith("CUDA_ERROR_", e.CodeName);
        Assert.Contains(e.CodeName, e.Message);
    }

    [Fact]
    public void GetFunction_OfUnknownName_ThrowsNamingTheCallAndStatus()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        var compiled = CudaRequirements.CompilerOrSkip().Compile("smoke.cu", device.Architecture);
        using var module = CudaModuleHandle.Load(device.Context, compiled.Image);
        var e = Assert.Throws<CudaException>(() => module.GetFunction("no_such_kernel"));
        Assert.Contains("cuModuleGetFunction", e.Call);
        Assert.Equal("CUDA_ERROR_NOT_FOUND", e.CodeName);
    }

    [Fact]
    public void Handles_DisposeTwice_AndRefuseUseAfterDispose()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        var memory = DeviceMemoryHandle.Allocate(device.Context, 256);
        var stream = CudaStreamHandle.Create(device.Context);
        var evt = CudaEventHandle.Create(device.Context);
        foreach (var handle in new System.Runtime.InteropServices.SafeHandle[] { memory, stream, evt })
        {
            handle.Dispose();
            handle.Dispose();
            Assert.True(handle.IsClosed);
        }
        Assert.Throws<ObjectDisposedException>(() => memory.Pointer);
        Assert.Throws<ObjectDisposedException>(() => stream.Synchronize());
    }

    [Fact]
    public void Allocate_RejectsNonPositiveSizes_WithoutTouchingTheDriver()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        Assert.Throws<ArgumentOutOfRangeException>(() => DeviceMemoryHandle.Allocate(device.Context, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeviceMemoryHandle.Allocate(device.Context, -4));
    }

    [Fact]
    public void OutOfMemory_ThrowsCudaExceptionNamingTheCall()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        // Four times the device's memory cannot be allocated.
        var e = Assert.Throws<CudaException>(() => DeviceMemoryHandle.Allocate(device.Context, device.TotalMemoryBytes * 4));
        Assert.Contains("cuMemAlloc_v2", e.Call);
        Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", e.CodeName);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 3, 7)]
    [InlineData(33, 17, 65)]
    public void Cublas_Gemms_MatchANaiveProduct_BitExactOnSmallIntegers(int m, int k, int n)
    {
        using var device = CudaRequirements.DeviceOrSkip();
        if (!NativeLibraries.TryLoad(Libraries.Cublas, out _, out var reason)) Assert.Skip($"cuBLAS cannot be loaded ({reason})");
        const int batches = 3;
        var random = new Random(m * 1000 + k * 10 + n);
        // Row-major A [batches, m, k], B [batches, k, n]; small integers, so every sum is exact.
        var a = Enumerable.Range(0, batches * m * k).Select(_ => (float)random.Next(-3, 4)).ToArray();
        var b = Enumerable.Range(0, batches * k * n).Select(_ => (float)random.Next(-3, 4)).ToArray();
        var expected = new float[batches * m * n];   // C [batches, m, n]
        for (int p = 0; p < batches; p++)
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0;
            for (int q = 0; q < k; q++) sum += a[p * m * k + i * k + q] * b[p * k * n + q * n + j];
            expected[p * m * n + i * n + j] = sum;
        }

        using var stream = CudaStreamHandle.Create(device.Context);
        using var blas = CublasHandle.Create(device.Context);
        Cublas.SetStream(blas, stream);
        Cublas.SetMathMode(blas, Cublas.MathMode.Default);
        Assert.True(Cublas.GetVersion(blas) >= 11_0000);
        using var da = DeviceMemoryHandle.Allocate(device.Context, a.Length * sizeof(float));
        using var db = DeviceMemoryHandle.Allocate(device.Context, b.Length * sizeof(float));
        using var dc = DeviceMemoryHandle.Allocate(device.Context, expected.Length * sizeof(float));
        Upload(da, a, stream);
        Upload(db, b, stream);

        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands, n and m.
        Cublas.Sgemm(blas, Cublas.Operation.N, Cublas.Operation.N, n, m, k, 1f, db.Pointer, n, da.Pointer, k, 0f, dc.Pointer, n);
        Assert.Equal(expected[..(m * n)], Download(dc, m * n, stream));

        CudaDriver.MemsetD32Async(dc.Pointer, 0, expected.Length, stream);
        Cublas.SgemmStridedBatched(blas, Cublas.Operation.N, Cublas.Operation.N, n, m, k,
            1f, db.Pointer, n, k * n, da.Pointer, k, m * k, 0f, dc.Pointer, n, m * n, batches);
        Assert.Equal(expected, Download(dc, expected.Length, stream));

        CudaDriver.MemsetD32Async(dc.Pointer, 0, expected.Length, stream);
        Cublas.GemmEx(blas, Cublas.Operation.N, Cublas.Operation.N, n, m, k, 1f, db.Pointer, Cublas.DataType.R32F, n,
            da.Pointer, Cublas.DataType.R32F, k, 0f, dc.Pointer, Cublas.DataType.R32F, n, Cublas.ComputeType.Compute32F);
        Assert.Equal(expected[..(m * n)], Download(dc, m * n, stream));
    }

    [Fact]
    public void Cublas_InvalidArgument_ThrowsNamingTheCallAndStatus()
    {
        using var device = CudaRequirements.DeviceOrSkip();
        if (!NativeLibraries.TryLoad(Libraries.Cublas, out _, out var reason)) Assert.Skip($"cuBLAS cannot be loaded ({reason})");
        using var blas = CublasHandle.Create(device.Context);
        using var c = DeviceMemoryHandle.Allocate(device.Context, 64);
        // lda smaller than the row count is invalid.
        var e = Assert.Throws<CublasException>(() =>
            Cublas.Sgemm(blas, Cublas.Operation.N, Cublas.Operation.N, 4, 4, 4, 1f, c.Pointer, 1, c.Pointer, 4, 0f, c.Pointer, 4));
        Assert.Equal("CUBLAS_STATUS_INVALID_VALUE", e.CodeName);
        Assert.Contains("cublasSgemm_v2", e.Message);
    }

    static void Upload(DeviceMemoryHandle destination, float[] values, CudaStreamHandle stream)
    {
        // Synchronised inside the fixed block: the copy must finish before the array may move.
        fixed (float* p = values)
        {
            CudaDriver.MemcpyHtoDAsync(destination.Pointer, p, values.Length * sizeof(float), stream);
            stream.Synchronize();
        }
    }

    static float[] Download(DeviceMemoryHandle source, int count, CudaStreamHandle stream)
    {
        var values = new float[count];
        fixed (float* p = values)
        {
            CudaDriver.MemcpyDtoHAsync(p, source.Pointer, count * sizeof(float), stream);
            stream.Synchronize();
        }
        return values;
    }
}
