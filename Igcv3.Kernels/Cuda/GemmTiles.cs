namespace Igcv3.Kernels.Cuda;

/// <summary>
/// Tile sizes and launch arithmetic shared by the GEMM-shaped kernels (pointwise.cu, conv2d.cu).
/// Every tile variant is correct for any size (partial tiles are guarded); the choice only avoids
/// computing padding: tile(d) = d ≤ 16 ? 16 : d ≤ 32 ? 32 : 64, the rule in the kernels' headers.
/// </summary>
internal static class GemmTiles
{
    public static readonly int[] Sizes = [16, 32, 64];

    /// <summary>The rows of the M dimension that one block covers in the forward and data-gradient kernels.</summary>
    public const int RowTile = 64;

    public static int Tile(int dimension) => dimension <= 16 ? 16 : dimension <= 32 ? 32 : 64;

    public static int CeilDiv(long a, long b) => checked((int)((a + b - 1) / b));

    /// <summary>
    /// How a weight-gradient reduction over <paramref name="rows"/> rows is cut into splits, as the
    /// headers suggest: enough blocks for about 4 per SM, no split smaller than
    /// <paramref name="minimumRowsPerSplit"/> rows, rowsPerSplit a multiple of 16, and z = groups·splits
    /// within the 65535 limit of gridDim.z. Returns (splits, rowsPerSplit) with splits·rowsPerSplit ≥ rows.
    /// </summary>
    public static (int Splits, int RowsPerSplit) Splits(int rows, int tilesPerGroup, int groups, int multiprocessors, int minimumRowsPerSplit)
    {
        long target = CeilDiv(4L * multiprocessors, Math.Max(1L, (long)tilesPerGroup * groups));
        long most = Math.Max(1, CeilDiv(Math.Max(rows, 1), minimumRowsPerSplit));
        int splits = (int)Math.Clamp(target, 1, most);
        splits = Math.Min(splits, Math.Max(1, 65535 / groups));
        int rowsPerSplit = RoundUp(CeilDiv(Math.Max(rows, 1), splits), 16);
        splits = CeilDiv(Math.Max(rows, 1), rowsPerSplit);
        return (splits, rowsPerSplit);
    }

    /// <summary>
    /// The row blocks of a tiled forward that accumulates batch statistics (pointwise.cu): about 4
    /// blocks per SM over the column tiles, each taking several 64-row tiles, and at most 256, so
    /// that the last block of a column tile sums few partials; at least 1, at most ceil(rows / 64).
    /// </summary>
    public static int StatisticsRowBlocks(int rows, int columnTiles, int multiprocessors) =>
        (int)Math.Clamp(CeilDiv(4L * multiprocessors, Math.Max(1, columnTiles)), 1, Math.Min(256, Math.Max(1, CeilDiv((long)rows, RowTile))));

    public static int RoundUp(int value, int multiple) => checked((value + multiple - 1) / multiple * multiple);

    /// <summary>A grid-stride launch: ceil(work / perBlock) blocks, at least 1, at most <paramref name="cap"/>.</summary>
    public static uint StrideGrid(long work, long perBlock, int cap) => (uint)Math.Clamp((work + perBlock - 1) / perBlock, 1, cap);
}
