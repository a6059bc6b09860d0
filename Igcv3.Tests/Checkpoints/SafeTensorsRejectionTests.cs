using System.Text;
using Igcv3.Engine.Checkpoints;
using Xunit;

namespace Igcv3.Tests.Checkpoints;

/// <summary>Truncated and corrupt files: each must fail with a CheckpointException whose message
/// names the file and the problem, never with another exception or an out-of-range read.</summary>
public class SafeTensorsRejectionTests
{
    private const string Name = "model.safetensors";

    private static CheckpointException Rejects(byte[] file)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Parse(file, Name));
        Assert.StartsWith($"checkpoint {Name}: ", e.Message);
        return e;
    }

    private static byte[] ValidFile() => SafeTensorsWriter.ToBytes(
        [
            SafeTensor.FromFloats("stages.0.dw.weight", [1f, 2f, 3f, 4f, 5f, 6f], [2, 1, 1, 3]),
            SafeTensor.FromDoubles("stages.0.bn.running_var", [0.5, 0.25, 0.125], [3]),
            SafeTensor.FromInt64s("extra.step", 7, 9),
        ],
        new Dictionary<string, string> { ["epoch"] = "2" });

    [Fact]
    public void TruncatedAtEveryLength_IsRejected_AsTruncated()
    {
        var file = ValidFile();
        long headerEnd = 8 + (long)BitConverter.ToUInt64(file, 0);
        Assert.NotNull(SafeTensorsReader.Parse(file, Name));
        for (int cut = 0; cut < file.Length; cut++)
        {
            var e = Rejects(file[..cut]);
            Assert.Contains("truncated", e.Message);
            if (cut < 8) Assert.Contains("too short for the 8-byte header length", e.Message);
            else if (cut < headerEnd) Assert.Contains($"only {cut - 8} bytes follow it", e.Message);
            else Assert.Contains($"but the data section is {cut - headerEnd} bytes", e.Message);
        }
    }

    [Fact]
    public void TrailingBytes_AfterTheLastTensor_AreRejected()
    {
        var file = ValidFile().Concat(new byte[] { 0, 0, 0 }).ToArray();
        Assert.Contains("3 trailing bytes belong to no tensor", Rejects(file).Message);
    }

    [Theory]
    [InlineData(1000UL, "only")]
    [InlineData(100_000_001UL, "above the 100000000-byte limit")]
    [InlineData(1UL << 40, "above the 100000000-byte limit")]
    [InlineData(ulong.MaxValue, "above the 100000000-byte limit")]
    public void HeaderLength_LargerThanTheFileOrTheLimit_IsRejected(ulong length, string expected)
    {
        var file = ValidFile();
        BitConverter.GetBytes(length).CopyTo(file, 0);
        Assert.Contains(expected, Rejects(file).Message);
    }

    private const string A4 = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";

    /// <summary>(header JSON, data-section bytes, expected message fragment).</summary>
    public static TheoryData<string, int, string> CorruptHeaders() => new()
    {
        { "{\"a\": ", 4, "not valid JSON" },
        { "{\"a\":{}} x", 0, "not valid JSON" },
        { "{" + A4 + ",}", 4, "not valid JSON" },
        { "{\"a\":" + new string('[', 100) + new string(']', 100) + "}", 0, "not valid JSON" },
        { "[1, 2]", 0, "does not start with '{'" },
        { " {}", 0, "does not start with '{'" },
        { "", 0, "does not start with '{'" },
        { "{\"a\":5}", 0, "tensor 'a' is a JSON Number, not an object" },
        { "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a' has no 'dtype' field" },
        { "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a' has no 'shape' field" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a' has no 'data_offsets' field" },
        { "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'dtype' that is a JSON Number, not a String" },
        { "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype 'F16', which this reader does not support (supported: F32, F64, I32, I64, U8)" },
        { "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype 'f32'" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4, "'shape' that is a JSON String, not a Array" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] = -1, not a non-negative integer" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0] = 1.5, not a non-negative integer" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "shape[0] = 1e0, not a non-negative integer" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "not a non-negative integer" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "3 data_offsets, not 2" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "data_offsets[0] = -4" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "the end lies before the beginning" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "F32 [3], which needs 12 bytes, but its data_offsets [0, 8) span 8" },
        { "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "F64 [1], which needs 8 bytes" },
        { "{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "tensor 'a' claims bytes [0, 8) but the data section is 4 bytes: the file is truncated or corrupt" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensor 'b' claims bytes [4, 12), overlapping tensor 'a' at [0, 8)" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "overlapping tensor 'a'" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "bytes [4, 8) of the data section belong to no tensor (a gap before tensor 'b')" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "bytes [0, 4) of the data section belong to no tensor" },
        { "{" + A4 + "," + A4 + "}", 4, "the name 'a' appears twice" },
        { "{\"__metadata__\":{\"k\":1}," + A4 + "}", 4, "entry 'k' is a JSON Number; the format allows only strings" },
        { "{\"__metadata__\":[\"k\"]," + A4 + "}", 4, "'__metadata__' is a JSON Array, not an object of strings" },
        { "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "has the key 'k' twice" },
    };

    [Theory]
    [MemberData(nameof(CorruptHeaders))]
    public void CorruptHeader_IsRejected_WithAMessageNamingTheProblem(string header, int dataBytes, string expected)
    {
        Assert.Contains(expected, Rejects(IndependentSafeTensors.Build(header, dataBytes)).Message);
    }

    [Fact]
    public void HeaderThatIsNotUtf8_IsRejected()
    {
        var header = Encoding.ASCII.GetBytes("{\"a\xff\":{}}");
        header[3] = 0xFF;   // a lone continuation byte inside the name
        Assert.Contains("not valid UTF-8", Rejects(IndependentSafeTensors.Build(header, 0)).Message);
    }

    [Fact]
    public void RandomByteFlips_NeverEscapeAsAnotherException()
    {
        // Fuzz the header: any outcome is fine except an exception other than CheckpointException.
        var original = ValidFile();
        long headerEnd = 8 + (long)BitConverter.ToUInt64(original, 0);
        var random = new Random(17);
        for (int trial = 0; trial < 2000; trial++)
        {
            var file = (byte[])original.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++) file[random.Next((int)headerEnd)] = (byte)random.Next(256);
            try
            {
                SafeTensorsReader.Parse(file, Name);
            }
            catch (CheckpointException)
            {
            }
        }
    }
}
