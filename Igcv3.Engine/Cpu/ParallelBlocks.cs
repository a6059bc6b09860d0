namespace Igcv3.Engine.Cpu;

/// <summary>Parallel loops over disjoint blocks of an index range, for kernels whose iterations
/// each own a block of output elements (weight gradients parallelised over channels): no two
/// threads ever accumulate into one element, and the result does not depend on scheduling.</summary>
internal static class ParallelBlocks
{
    /// <summary>Runs body(start, end) over [0, count) cut into about four blocks per core (so a
    /// slow core does not hold up the rest), each at least <paramref name="minBlock"/> long.</summary>
    public static void For(int count, int minBlock, Action<int, int> body)
    {
        if (count <= 0) return;
        int targetBlocks = 4 * Environment.ProcessorCount;
        int blockSize = Math.Max(Math.Max(1, minBlock), (count + targetBlocks - 1) / targetBlocks);
        int blocks = (count + blockSize - 1) / blockSize;
        Parallel.For(0, blocks, b => body(b * blockSize, Math.Min(count, (b + 1) * blockSize)));
    }
}
