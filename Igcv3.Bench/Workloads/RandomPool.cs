using Igcv3.Engine;

namespace Igcv3.Bench.Workloads;

/// <summary>
/// Random float tensors without drawing every element afresh: one host pool of standard-normal
/// values, grown on demand, from which each tensor uploads a slice at a random offset. Drawing
/// 77M Gaussians for each ImageNet-sized activation of each benchmark case would take longer than
/// timing it; the values only need to be ordinary non-zero data, not independent across tensors.
/// </summary>
internal static class RandomPool
{
    private static readonly Lock s_gate = new();
    private static float[] s_pool = [];

    public static Tensor Tensor(IBackend backend, Shape shape, Random random)
    {
        long count = shape.Count;
        float[] pool;
        lock (s_gate)
        {
            if (s_pool.LongLength < 2 * count) s_pool = Draw(Math.Max(2 * count, 1 << 20), random);
            pool = s_pool;
        }
        int offset = random.Next((int)Math.Min(int.MaxValue, pool.LongLength - count + 1));
        var tensor = Engine.Tensor.Zeros(backend, shape);
        backend.Upload<float>(pool.AsSpan(offset, checked((int)count)), tensor);
        return tensor;
    }

    private static float[] Draw(long count, Random random)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)Engine.Tensor.NextGaussian(random);
        return values;
    }
}
