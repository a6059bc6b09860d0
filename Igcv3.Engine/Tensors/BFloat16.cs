using System.Numerics;
using System.Runtime.InteropServices;

namespace Igcv3.Engine;

/// <summary>
/// bfloat16 as storage: the upper 16 bits of an IEEE float32 (sign, the same 8-bit exponent, 7
/// mantissa bits), held in a <see cref="ushort"/>. Widening to float is exact (append 16 zero
/// bits); narrowing rounds to nearest, ties to even, as PyTorch's <c>.to(torch.bfloat16)</c>
/// and the kernels' igc_bf16_from_float (kernels-cu/igc_common.cuh) do, so the CPU reference of
/// the bf16 path rounds at the same points with the same result:
/// - a finite value past the largest bf16 (3.3895e38) by half an ulp or more becomes ±infinity;
/// - subnormal floats round like any other (bf16 has the same subnormal range, shorter mantissa);
/// - NaN stays NaN, quiet: sign and top payload bits kept, the quiet bit (0x0040) set, so that no
///   NaN payload can round into infinity.
/// </summary>
public static class BFloat16
{
    /// <summary>The largest finite bf16, 0x7F7F: (2 − 2⁻⁷)·2¹²⁷.</summary>
    public const ushort MaxFiniteBits = 0x7F7F;

    /// <summary>float → bf16, round to nearest even.</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u);
        // Adding 0x7FFF plus the kept lsb carries into bit 16 exactly when the dropped half is
        // above one half, or equal to it with an odd kept part; a carry out of the mantissa bumps
        // the exponent (up to infinity), which is the right rounding too.
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }

    /// <summary>bf16 → float, exact.</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The float nearest <paramref name="value"/> that bf16 can hold: ToSingle(FromSingle(value)).</summary>
    public static float Round(float value) => ToSingle(FromSingle(value));

    /// <summary>destination[i] = FromSingle(source[i]), vectorised; lengths must match.</summary>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        RequireSameLength(source.Length, destination.Length);
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0, lanes = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var magnitude = new Vector<uint>(0x7FFF_FFFFu);
            var infinity = new Vector<uint>(0x7F80_0000u);
            var quiet = new Vector<uint>(0x0040u);
            var half = new Vector<uint>(0x7FFFu);
            var one = Vector<uint>.One;
            for (; i <= bits.Length - 2 * lanes; i += 2 * lanes)
            {
                var low = Narrow(new Vector<uint>(bits.Slice(i, lanes)), magnitude, infinity, quiet, half, one);
                var high = Narrow(new Vector<uint>(bits.Slice(i + lanes, lanes)), magnitude, infinity, quiet, half, one);
                Vector.Narrow(low, high).CopyTo(destination.Slice(i, 2 * lanes));
            }
        }
        for (; i < bits.Length; i++) destination[i] = FromSingle(source[i]);
    }

    /// <summary>destination[i] = ToSingle(source[i]), vectorised; lengths must match.</summary>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        RequireSameLength(source.Length, destination.Length);
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0, lanes = Vector<ushort>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= source.Length - lanes; i += lanes)
            {
                Vector.Widen(new Vector<ushort>(source.Slice(i, lanes)), out Vector<uint> low, out Vector<uint> high);
                Vector.ShiftLeft(low, 16).CopyTo(bits.Slice(i, lanes / 2));
                Vector.ShiftLeft(high, 16).CopyTo(bits.Slice(i + lanes / 2, lanes / 2));
            }
        }
        for (; i < source.Length; i++) destination[i] = ToSingle(source[i]);
    }

    // The scalar FromSingle on a vector of float bits; the result's upper halves are zero, so
    // Vector.Narrow's truncation keeps exactly the bf16.
    private static Vector<uint> Narrow(Vector<uint> bits, Vector<uint> magnitude, Vector<uint> infinity, Vector<uint> quiet,
                                       Vector<uint> half, Vector<uint> one)
    {
        var nan = Vector.GreaterThan(bits & magnitude, infinity);
        var rounded = Vector.ShiftRightLogical(bits + half + (Vector.ShiftRightLogical(bits, 16) & one), 16);
        var quieted = Vector.ShiftRightLogical(bits, 16) | quiet;
        return Vector.ConditionalSelect(nan, quieted, rounded);
    }

    private static void RequireSameLength(int source, int destination)
    {
        if (source != destination)
        {
            throw new ArgumentException($"bf16 conversion: the source holds {source} values but the destination {destination}; give spans of one length");
        }
    }
}
