using System.Numerics;

namespace Igcv3.Engine.Cpu;

/// <summary>
/// The CPU reference backend: the truth that gradient checks prove and CUDA kernels are tested
/// against. Kernels are readable loops, generic over the floating type (float for training,
/// double for finite-difference checks), parallel over the batch or channels. One partial file
/// per op family, each kernel with the shapes of its buffers written beside it.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public static CpuBackend Instance { get; } = new();

    public string Name => "cpu";

    public override string ToString() => Name;

    // ---- memory -------------------------------------------------------------------------

    /// <summary>Where released storages' arrays wait for the next allocation of their size.</summary>
    public CpuArrayPool Pool { get; } = new();

    public CpuMemoryStatistics MemoryStatistics => Pool.Statistics;

    /// <summary>Zeroed, from the pool where it has an array of the size. Not overridden:
    /// AllocateUninitialized is zeroed too, so that no CPU kernel can see a previous step's values.</summary>
    public Storage Allocate(DType dtype, long length) => dtype switch
    {
        DType.F32 => new CpuStorage<float>(this, dtype, length, Pool),
        DType.F64 => new CpuStorage<double>(this, dtype, length, Pool),
        DType.I32 => new CpuStorage<int>(this, dtype, length, Pool),
        DType.BF16 => new CpuStorage<ushort>(this, dtype, length, Pool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        var dst = Span<T>(destination);
        if (source.Length != dst.Length) throw new ArgumentException($"upload of {source.Length} values into a tensor of {dst.Length}");
        source.CopyTo(dst);
    }

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        var src = Span<T>(source);
        if (src.Length != destination.Length) throw new ArgumentException($"download of a tensor of {src.Length} values into {destination.Length}");
        src.CopyTo(destination);
    }

    public void Fill(Tensor tensor, double value)
    {
        switch (tensor.DType)
        {
            case DType.F32: Span<float>(tensor).Fill((float)value); break;
            case DType.F64: Span<double>(tensor).Fill(value); break;
            case DType.I32: Span<int>(tensor).Fill(checked((int)value)); break;
            case DType.BF16: Span<ushort>(tensor).Fill(BFloat16.FromSingle((float)value)); break;
            default: throw new ArgumentOutOfRangeException(nameof(tensor), tensor.DType, "unknown dtype");
        }
    }

    /// <summary>The reference's way of honouring the overwrite rule for unwritten gradients
    /// (<see cref="Tensor.IsUnwritten"/>): zero them, then accumulate as always. Plain and obviously
    /// right; the CUDA kernels overwrite instead, and the parity tests hold them to this.</summary>
    private void ZeroUnwritten(params ReadOnlySpan<Tensor?> gradients)
    {
        foreach (var g in gradients)
            if (g is not null && g.TakeUnwritten()) Fill(g, 0.0);
    }

    public void Copy(Tensor source, Tensor destination)
    {
        if (source.DType != destination.DType || source.Count != destination.Count)
        {
            throw new ArgumentException($"copy from {source} to {destination}: dtype and count must match");
        }
        switch (source.DType)
        {
            case DType.F32: Span<float>(source).CopyTo(Span<float>(destination)); break;
            case DType.F64: Span<double>(source).CopyTo(Span<double>(destination)); break;
            case DType.I32: Span<int>(source).CopyTo(Span<int>(destination)); break;
            case DType.BF16: Span<ushort>(source).CopyTo(Span<ushort>(destination)); break;
            default: throw new ArgumentOutOfRangeException(nameof(source), source.DType, "unknown dtype");
        }
    }

    public void Synchronize()
    {
    }

    // ---- helpers shared by the kernels ---------------------------------------------------

    /// <summary>The elements of a tensor's view.</summary>
    internal static Span<T> Span<T>(Tensor t) where T : unmanaged => Memory<T>(t).Span;

    /// <summary>The elements of a tensor's view as Memory, which parallel loop bodies can capture.</summary>
    internal static Memory<T> Memory<T>(Tensor t) where T : unmanaged
    {
        if (t.Storage is not CpuStorage<T> storage)
        {
            throw new ArgumentException($"{t} is not a CPU tensor of {typeof(T).Name}");
        }
        return storage.Data.AsMemory((int)t.Offset, (int)t.Count);
    }

    /// <summary>Runs the float or the double instantiation of a generic kernel.</summary>
    internal static void ByType(DType dtype, Action f32, Action f64)
    {
        switch (dtype)
        {
            case DType.F32: f32(); break;
            case DType.F64: f64(); break;
            default: throw new ArgumentException($"CPU kernels compute in F32 or F64, not {dtype}");
        }
    }

    internal static T Cast<T>(double value) where T : IFloatingPointIeee754<T> => T.CreateTruncating(value);
}
