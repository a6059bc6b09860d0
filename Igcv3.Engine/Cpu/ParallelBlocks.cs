namespace Igcv3.Engine.Cpu;

/// <summary>Parallel loops over disjoint blocks of an index range, for kernels whose iterations
/// each own a block of output elements (rows of an output, or output channels of a weight
/// gradient): no two threads ever accumulate into one element, and the result does not depend on
/// scheduling.</summary>
internal static class ParallelBlocks
{
    /// <summary>Below this many multiply-adds a block is not worth handing to the thread pool: the
    /// tensors of small nets and of tests are cheaper to compute on the calling thread.</summary>
    public const long MinimumWorkPerBlock = 1 << 15;

    /// <summary>Runs body(start, end) over [0, count) cut into at most four blocks per core (enough
    /// that a core slowed by other work does not hold up the rest), each with at least
    /// <see cref="MinimumWorkPerBlock"/> work when <paramref name="workPerItem"/> says how much an
    /// item costs; a single block runs on the calling thread.</summary>
    public static void For(int count, Action<int, int> body, long workPerItem = MinimumWorkPerBlock)
    {
        if (count <= 0) return;
        long total = count * Math.Max(1, workPerItem);
        int blocks = (int)Math.Min(Math.Min(total / MinimumWorkPerBlock, count), 4L * Environment.ProcessorCount);
        if (blocks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, blocks, b => body((int)((long)b * count / blocks), (int)((long)(b + 1) * count / blocks)));
    }
}
