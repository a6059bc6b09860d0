using System.Buffers.Binary;
using System.Numerics;

namespace Igcv3.Train.Logging;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), the
/// checksum of TFRecord framing. BitOperations.Crc32C is the bare update step (SSE4.2 / ARM CRC
/// instructions where present); the inversions around it make it the standard CRC.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: rotate right by 15, add 0xa282ead8. Masking keeps a CRC of data that itself holds CRCs from being degenerate.</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);

    public static uint Unmask(uint masked)
    {
        uint rotated = unchecked(masked - 0xA282EAD8u);
        return (rotated << 15) | (rotated >> 17);
    }

    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
