using Igcv3.Engine;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

/// <summary>bf16 narrowing and widening: exact cases worked out by hand from the bit patterns
/// (ties to even, subnormals, the largest finite value, infinities, NaNs), the vectorised span
/// forms against the scalar ones, and the rounding against PyTorch's own <c>.to(torch.bfloat16)</c>
/// on random float bits where a python3 with torch is there.</summary>
public class BFloat16Tests
{
    /// <summary>(float bits, bf16 bits) worked out by hand: the kept half, then the dropped half
    /// against 0x8000 (above rounds up, below down, equal to the even neighbour).</summary>
    public static TheoryData<uint, ushort> ExactCases() => new()
    {
        { 0x3F80_0000, 0x3F80 },            // 1.0
        { 0x3F80_8000, 0x3F80 },            // 1 + 2⁻⁸: a tie, 0x3F80 is even: down
        { 0x3F81_8000, 0x3F82 },            // 1 + 3·2⁻⁸: a tie, 0x3F81 is odd: up
        { 0x3F80_8001, 0x3F81 },            // just above the tie: up
        { 0x3F80_7FFF, 0x3F80 },            // just below the tie: down
        { 0xBF81_8000, 0xBF82 },            // −(1 + 3·2⁻⁸): ties to even in magnitude
        { 0x3FFF_8000, 0x4000 },            // a tie that carries into the exponent: 2.0
        { 0x0000_0000, 0x0000 },            // +0
        { 0x8000_0000, 0x8000 },            // −0 keeps its sign
        { 0x0000_0001, 0x0000 },            // the smallest subnormal float rounds to +0
        { 0x0000_8000, 0x0000 },            // subnormal tie, even: down to 0
        { 0x0001_8000, 0x0002 },            // subnormal tie, odd: up
        { 0x0000_8001, 0x0001 },            // the smallest bf16 subnormal, from just above half of it
        { 0x007F_FFFF, 0x0080 },            // the largest subnormal float rounds up to the smallest normal
        { 0x0080_0000, 0x0080 },            // the smallest normal float
        { 0x7F7F_0000, BFloat16.MaxFiniteBits }, // the largest finite bf16
        { 0x7F7F_7FFF, BFloat16.MaxFiniteBits }, // below half an ulp past it: stays finite
        { 0x7F7F_8000, 0x7F80 },            // exactly half an ulp past it, odd: overflows to +∞
        { 0x7F7F_FFFF, 0x7F80 },            // float.MaxValue overflows to +∞
        { 0xFF7F_FFFF, 0xFF80 },            // −float.MaxValue to −∞
        { 0x7F80_0000, 0x7F80 },            // +∞
        { 0xFF80_0000, 0xFF80 },            // −∞
        { 0x7FC0_0000, 0x7FC0 },            // the quiet NaN
        { 0x7F80_0001, 0x7FC0 },            // a signalling NaN whose payload is all dropped: quiet, not ∞
        { 0x7FFF_FFFF, 0x7FFF },            // all payload bits: kept, not carried into the sign
        { 0xFF80_0001, 0xFFC0 },            // a negative NaN keeps its sign
    };

    [Theory]
    [MemberData(nameof(ExactCases))]
    public void FromSingle_RoundsToNearestEven(uint floatBits, ushort expected)
    {
        float value = BitConverter.UInt32BitsToSingle(floatBits);
        Assert.Equal(expected, BFloat16.FromSingle(value));
        var span = new ushort[1];
        BFloat16.FromSingle([value], span);
        Assert.Equal(expected, span[0]);
    }

    [Fact]
    public void ToSingle_IsExact_AndEveryNonNaNPatternRoundTrips()
    {
        for (int b = 0; b <= ushort.MaxValue; b++)
        {
            ushort bits = (ushort)b;
            float f = BFloat16.ToSingle(bits);
            Assert.Equal((uint)bits << 16, BitConverter.SingleToUInt32Bits(f));
            ushort back = BFloat16.FromSingle(f);
            if (float.IsNaN(f)) Assert.Equal(bits | 0x0040, back);
            else Assert.Equal(bits, back);
        }
    }

    /// <summary>Lengths around every vector width (the vector body plus a scalar tail), random bits
    /// that include NaNs, infinities and subnormals, and the ties that exercise the carry.</summary>
    [Fact]
    public void SpanConversions_MatchTheScalarOnes()
    {
        var random = new Random(15);
        foreach (int length in new[] { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 257 })
        {
            var floats = new float[length];
            for (int i = 0; i < length; i++)
            {
                uint bits = (uint)random.NextInt64(0, 1L << 32);
                if (i % 3 == 1) bits = (bits & 0xFFFF_0000u) | 0x8000u; // an exact tie
                if (i % 11 == 5) bits |= 0x7F80_0000u;                  // an infinity or NaN
                floats[i] = BitConverter.UInt32BitsToSingle(bits);
            }
            var narrow = new ushort[length];
            BFloat16.FromSingle(floats, narrow);
            for (int i = 0; i < length; i++) Assert.Equal(BFloat16.FromSingle(floats[i]), narrow[i]);

            var wide = new float[length];
            BFloat16.ToSingle(narrow, wide);
            for (int i = 0; i < length; i++)
                Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16.ToSingle(narrow[i])), BitConverter.SingleToUInt32Bits(wide[i]));
        }
    }

    [Fact]
    public void SpanConversions_ThrowOnLengthMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => BFloat16.FromSingle(new float[3], new ushort[2]));
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentException>(() => BFloat16.ToSingle(new ushort[2], new float[3]));
    }

    /// <summary>PyTorch's rounding on 200 000 random float bit patterns (every exponent, subnormals,
    /// infinities and NaNs among them) plus ties and values near the overflow edge: the same bf16
    /// bits for every non-NaN, and NaN for NaN (torch does not promise one NaN pattern).</summary>
    [Fact]
    public void FromSingle_AgreesWithTorch_OnRandomFloats()
    {
        string python = BenchPython.InterpreterWith("torch", "numpy");
        var random = new Random(2026);
        var floats = new List<float>();
        for (int i = 0; i < 200_000; i++) floats.Add(BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32)));
        for (int i = 0; i < 10_000; i++) floats.Add((float)(random.NextDouble() * 8 - 4));
        for (int i = 0; i < 10_000; i++) floats.Add(BitConverter.UInt32BitsToSingle(((uint)random.NextInt64(0, 1L << 32) & 0xFFFF_0000u) | 0x8000u));
        for (uint b = 0x7F7F_7FF0; b <= 0x7F7F_8010; b++) floats.Add(BitConverter.UInt32BitsToSingle(b));

        using var folder = new TempFolder();
        string input = folder.File("floats.bin"), output = folder.File("bf16.bin");
        File.WriteAllBytes(input, System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.ToArray().AsSpan()).ToArray());
        const string script = "import sys, numpy, torch; " +
            "x = torch.from_numpy(numpy.fromfile(sys.argv[1], dtype=numpy.float32)); " +
            "x.to(torch.bfloat16).view(torch.int16).numpy().tofile(sys.argv[2])";
        var (code, log) = BenchPython.Run(python, folder.Path, "-c", script, input, output);
        Assert.True(code == 0, $"{python} failed: {log}");

        var torchBits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(File.ReadAllBytes(output)).ToArray();
        Assert.Equal(floats.Count, torchBits.Length);
        int mismatches = 0;
        string first = "";
        for (int i = 0; i < floats.Count; i++)
        {
            ushort mine = BFloat16.FromSingle(floats[i]);
            bool same = float.IsNaN(floats[i]) ? float.IsNaN(BFloat16.ToSingle(torchBits[i])) && float.IsNaN(BFloat16.ToSingle(mine)) : mine == torchBits[i];
            if (!same && mismatches++ == 0) first = $"0x{BitConverter.SingleToUInt32Bits(floats[i]):X8}: ours 0x{mine:X4}, torch 0x{torchBits[i]:X4}";
        }
        Assert.True(mismatches == 0, $"{mismatches} of {floats.Count} differ from torch; first {first}");
    }
}
