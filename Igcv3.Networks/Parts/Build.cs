namespace Igcv3.Networks;

/// <summary>Construction helpers that turn a layer's complaint ("pointwise: groups 4 must divide
/// input channels 6") into one that says where in the network it is
/// ("stages.3.blocks.0.expand: pointwise: groups 4 must divide input channels 6").</summary>
internal static class Build
{
    public static T Named<T>(string path, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path}: {e.Message}", e);
        }
    }

    public static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    public static int Lcm(int a, int b) => a / Gcd(a, b) * b;
}
