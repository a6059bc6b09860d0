using Igcv3.Engine;
using Igcv3.Engine.Cpu;

namespace Igcv3.Tests.Support;

/// <summary>Seeded test tensors on the CPU.</summary>
public static class Make
{
    public static IBackend Cpu => CpuBackend.Instance;

    /// <summary>Uniform(-1, 1) values in double, from a fixed seed.</summary>
    public static Tensor Random(Shape shape, int seed, DType dtype = DType.F64, double scale = 1.0) =>
        Tensor.RandomUniform(Cpu, shape, new System.Random(seed), -scale, scale, dtype);

    /// <summary>Small integers in [-range, range], exactly representable, for bit-exact comparisons.</summary>
    public static Tensor SmallIntegers(Shape shape, int seed, int range = 3, DType dtype = DType.F32)
    {
        var random = new System.Random(seed);
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = random.Next(-range, range + 1);
        return Tensor.FromHostDoubles(Cpu, values, shape, dtype);
    }

    public static Tensor Labels(int count, int classes, int seed)
    {
        var random = new System.Random(seed);
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = random.Next(classes);
        return Tensor.FromArray(Cpu, labels, new Shape(count));
    }
}
