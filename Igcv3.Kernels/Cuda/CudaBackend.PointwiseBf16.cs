using Igcv3.Engine;
using Igcv3.Engine.Cpu;

namespace Igcv3.Kernels.Cuda;

// pointwise_bf16.cu: the grouped 1x1 convolution of pointwise.cu on bf16 tensor cores (forward,
// data and weight gradients): x [M, Cin] BF16, w [Cout, Kg] F32 (rounded to bf16 in the kernel),
// y [M, Cout] BF16 and/or yFloat [M, Cout] F32, fp32 accumulation. Not reached by training yet: the bf16
// path (issue 15) calls it once activations are stored in bf16.
public sealed partial class CudaBackend
{
    /// <summary>The bf16 tensor-core tile of pointwise_bf16.cu along M (8 warps x 16 rows).</summary>
    private const int Bf16RowTile = 128;

    /// <summary>y = P(Gout)·conv1x1_groups(P(Gin)·x) on bf16 tensor cores (overwrite), into
    /// <paramref name="y"/> (BF16, rounded once from the fp32 sum) and/or <paramref name="yFloat"/>
    /// (F32, the sum itself). Needs sm_80 or newer. Matches <see cref="CpuBackend.PointwiseForwardBf16"/>.</summary>
    public void PointwiseForwardBf16(Tensor x, Tensor w, Tensor? y, Tensor? yFloat, PointwiseSpec spec)
    {
        Enter();
        var output = CpuBackend.CheckPointwiseBf16(x, w, y, yFloat, spec);
        RequireBf16TensorCores();
        var g = CheckPointwise(x, w, output, spec);
        if (g.M == 0 || g.Cout == 0) return;
        // grid = (ceil(M / 128), ceil(Ng / BN), groups), BN = tile(Ng); Kg = 0 writes zeros (an empty sum).
        int bn = GemmTiles.Tile(g.Ng);
        Launch(CudaKernels.PointwiseBf16Forward[bn], new Dim3((uint)GemmTiles.CeilDiv(g.M, Bf16RowTile), (uint)GemmTiles.CeilDiv(g.Ng, bn), (uint)g.Groups),
            Bf16(x), F32(w), y is null ? DevicePointer.Null : Bf16(y), F32OrNull(yFloat), g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle);
    }

    /// <summary>dx (+)= the data gradient of <see cref="PointwiseForwardBf16"/>: dy [M, Cout] BF16
    /// through P(Gout)⁻¹, times bf16(w), through P(Gin)⁻¹, into <paramref name="dx"/> (BF16) and/or
    /// <paramref name="dxFloat"/> (F32). <paramref name="accumulate"/>: add to what they hold (a
    /// bf16 dx widened, the sum rounded once), else overwrite. Matches
    /// <see cref="CpuBackend.PointwiseBackwardDataBf16"/>.</summary>
    public void PointwiseBackwardDataBf16(Tensor dy, Tensor w, Tensor? dx, Tensor? dxFloat, PointwiseSpec spec, bool accumulate)
    {
        Enter();
        var output = CpuBackend.CheckPointwiseBf16Data(dy, w, dx, dxFloat, spec);
        RequireBf16TensorCores();
        var g = CheckPointwise(output, w, dy, spec);
        if (g.M == 0 || g.Cin == 0) return;
        // grid = (ceil(M / 128), ceil(Kg / BN), groups), BN = tile(Kg); Ng = 0 writes (or adds) zeros.
        int bn = GemmTiles.Tile(g.Kg);
        Launch(CudaKernels.PointwiseBf16BackwardData[bn], new Dim3((uint)GemmTiles.CeilDiv(g.M, Bf16RowTile), (uint)GemmTiles.CeilDiv(g.Kg, bn), (uint)g.Groups),
            Bf16(dy), F32(w), dx is null ? DevicePointer.Null : Bf16(dx), F32OrNull(dxFloat), g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, accumulate ? 1 : 0);
    }

    /// <summary>dw += Σ_m dz[m, ·]ᵀ·x'[m, ·] in fp32 (the master weights' gradient), from BF16 dy and
    /// x through the same permutations; split over the rows and reduced in slice order as the fp32
    /// weight gradient is. Matches <see cref="CpuBackend.PointwiseBackwardWeightBf16"/>.</summary>
    public void PointwiseBackwardWeightBf16(Tensor x, Tensor dy, Tensor dw, PointwiseSpec spec)
    {
        Enter();
        CpuBackend.CheckPointwiseBf16Weight(x, dy, dw, spec);
        RequireBf16TensorCores();
        var g = CheckPointwise(x, dw, dy, spec);
        if (g.M == 0 || g.Cin == 0 || g.Cout == 0)
        {
            ZeroUnwritten(dw); // an empty sum: += 0, or = 0
            return;
        }
        // The tile 128 (Ng) x BN (Kg), BN = tile(Kg); the M rows cut into splits, each writing its own
        // slice of partial [splits, Cout, Kg]; each tile's last split sums them in slice order into dw.
        int bn = GemmTiles.Tile(g.Kg);
        int tilesN = GemmTiles.CeilDiv(g.Ng, Bf16RowTile), tilesK = GemmTiles.CeilDiv(g.Kg, bn);
        var (splits, rowsPerSplit) = GemmTiles.Splits(g.M, tilesN * tilesK, g.Groups, Multiprocessors, GemmTiles.RowTile);
        int count = g.Cout * g.Kg;
        using var partial = Scratch("pointwise bf16 backward weight", (long)splits * count, sizeof(float));
        Launch(CudaKernels.PointwiseBf16BackwardWeight[bn], new Dim3((uint)tilesN, (uint)tilesK, (uint)(g.Groups * splits)),
            Bf16(dy), Bf16(x), partial.Pointer, Tickets(tilesN * tilesK * g.Groups), F32(dw),
            g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, splits, rowsPerSplit, AccumulateFlag(dw));
    }

    private void RequireBf16TensorCores()
    {
        if (_driver is { } driver && driver.Device.Architecture.Number < 80)
        {
            throw new NotSupportedException($"pointwise bf16: {driver.Device} has no bf16 tensor cores (sm_80 or newer needed); use the fp32 pointwise ops");
        }
    }

    private DevicePointer Bf16(Tensor t, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(t))] string? name = null)
    {
        if (t.DType != DType.BF16) throw new ArgumentException($"{Name}: {name} must be BF16, got {t}");
        return new(Address(t));
    }
}
