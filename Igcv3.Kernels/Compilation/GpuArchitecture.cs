namespace Igcv3.Kernels.Compilation;

/// <summary>A compute capability, for example 8.6 (sm_86). <see cref="Number"/> is the form
/// NVRTC's architecture lists and option names use: 86.</summary>
public readonly record struct GpuArchitecture(int Major, int Minor) : IComparable<GpuArchitecture>
{
    public int Number => Major * 10 + Minor;

    /// <summary>The real architecture, compiled to CUBIN: "sm_86".</summary>
    public string Real => $"sm_{Number}";

    /// <summary>The virtual architecture, compiled to PTX: "compute_86".</summary>
    public string Virtual => $"compute_{Number}";

    public static GpuArchitecture FromNumber(int number)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(number, 10);
        return new(number / 10, number % 10);
    }

    public int CompareTo(GpuArchitecture other) => Number.CompareTo(other.Number);

    public override string ToString() => Real;
}
