namespace Igcv3.Engine.Nn;

/// <summary>How a parameter or buffer starts: a function from (shape, generator) to host values.
/// Drawn on the host from one seeded generator in a fixed parameter order, so a network starts
/// identically on every backend.</summary>
public abstract record Init
{
    public abstract double[] Sample(Shape shape, Random random);

    public static Init Constant(double value) => new ConstantInit(value);

    public static Init Zeros => new ConstantInit(0);

    public static Init Ones => new ConstantInit(1);

    public static Init Normal(double std) => new NormalInit(std);

    public static Init Uniform(double bound) => new UniformInit(bound);

    /// <summary>He/Kaiming normal, std = sqrt(2 / fan), the convolution default of torchvision's
    /// MobileNetV2 (fan-out) and of IGCV1 (MXNet "MSRAPrelu", fan-in).</summary>
    public static Init KaimingNormal(int fan) => new NormalInit(Math.Sqrt(2.0 / fan));
}

public sealed record ConstantInit(double Value) : Init
{
    public override double[] Sample(Shape shape, Random random)
    {
        var values = new double[shape.Count];
        Array.Fill(values, Value);
        return values;
    }
}

public sealed record NormalInit(double Std) : Init
{
    public override double[] Sample(Shape shape, Random random)
    {
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = Std * Tensor.NextGaussian(random);
        return values;
    }
}

public sealed record UniformInit(double Bound) : Init
{
    public override double[] Sample(Shape shape, Random random)
    {
        var values = new double[shape.Count];
        for (int i = 0; i < values.Length; i++) values[i] = Bound * (2 * random.NextDouble() - 1);
        return values;
    }
}
