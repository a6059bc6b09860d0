namespace Igcv3.Engine.Cpu;

/// <summary>Parallel loops over disjoint blocks of an index range, for kernels whose iterations
/// each own a block of output elements (weight gradients parallelised over output channels): no
/// two threads ever accumulate into one element, and the result does not depend on scheduling.</summary>
internal static class ParallelBlocks
{
    /// <summary>Runs body(start, end) over [0, count) cut into about four blocks per core: enough
    /// that a core slowed by other work does not hold up the rest, few enough that each block's
    /// pass over the shared inputs stays cheap.</summary>
    public static void For(int count, Action<int, int> body)
    {
        if (count <= 0) return;
        int targetBlocks = 4 * Environment.ProcessorCount;
        int blockSize = (count + targetBlocks - 1) / targetBlocks;
        int blocks = (count + blockSize - 1) / blockSize;
        Parallel.For(0, blocks, b => body(b * blockSize, Math.Min(count, (b + 1) * blockSize)));
    }
}
