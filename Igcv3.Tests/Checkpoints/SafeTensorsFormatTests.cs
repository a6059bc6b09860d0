using System.Runtime.InteropServices;
using System.Text;
using Igcv3.Engine.Checkpoints;
using Xunit;

namespace Igcv3.Tests.Checkpoints;

/// <summary>The writer's bytes against known answers and an independent parser; the reader on
/// valid files, including ones written by hand in ways our writer never produces.</summary>
public class SafeTensorsFormatTests
{
    private static byte[] Le64(ulong n) => BitConverter.GetBytes(n);

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] FloatBytes(params float[] values) => MemoryMarshal.AsBytes<float>(values).ToArray();

    [Fact]
    public void Writer_MatchesTheReferenceImplementationsOwnExamples()
    {
        // The huggingface/safetensors crate's serialization tests: one F32 tensor of 0..5, whose
        // header happens to be 64 bytes (no padding), and a shorter name that needs 7 spaces.
        float[] values = [0, 1, 2, 3, 4, 5];
        var unpadded = SafeTensorsWriter.ToBytes([SafeTensor.FromFloats("attn.0", values, [1, 2, 3])]);
        const string header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64, header.Length);
        Assert.Equal(Concat(Le64(64), Encoding.ASCII.GetBytes(header), FloatBytes(values)), unpadded);

        var padded = SafeTensorsWriter.ToBytes([SafeTensor.FromFloats("attn0", values, [1, 1, 2, 3])]);
        const string header2 = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
        Assert.Equal(72, header2.Length);
        Assert.Equal(Concat(Le64(72), Encoding.ASCII.GetBytes(header2), FloatBytes(values)), padded);
    }

    [Fact]
    public void Writer_EmptyFile_AndMetadataOnly_MatchTheReference()
    {
        Assert.Equal(Concat(Le64(8), Encoding.ASCII.GetBytes("{}      ")), SafeTensorsWriter.ToBytes([]));
        var withMetadata = SafeTensorsWriter.ToBytes([], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal(Concat(Le64(40), Encoding.ASCII.GetBytes("{\"__metadata__\":{\"framework\":\"pt\"}}     ")), withMetadata);
    }

    [Fact]
    public void Writer_EveryDType_ParsedByTheIndependentParser()
    {
        var random = new Random(5);
        float[] f = Enumerable.Range(0, 7).Select(_ => (float)random.NextDouble()).ToArray();
        double[] d = Enumerable.Range(0, 6).Select(_ => random.NextDouble() - 0.5).ToArray();
        int[] i32 = [-3, 0, int.MaxValue];
        long[] i64 = [long.MinValue, 42];
        byte[] u8 = [1, 2, 3, 255, 0];
        var tensors = new[]
        {
            SafeTensor.FromBytes("u8", u8, [5]),                // odd byte count: later offsets unaligned, still valid
            SafeTensor.FromFloats("f32", f, [7]),
            SafeTensor.FromDoubles("f64", d, [2, 1, 3]),
            SafeTensor.FromInt32s("i32", i32, [3]),
            SafeTensor.FromInt64s("scalar.i64", i64.AsSpan(1, 1), []),
            SafeTensor.FromInt64s("i64", i64, [2]),
            SafeTensor.FromFloats("empty", [], [4, 0, 3]),
        };
        var metadata = new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "naïve \"quoted\" ü" };
        var file = SafeTensorsWriter.ToBytes(tensors, metadata);
        var parsed = IndependentSafeTensors.Parse(file);

        Assert.Equal(0, parsed.HeaderLength % 8);
        Assert.EndsWith("}", parsed.HeaderText.TrimEnd(' '));   // the JSON, then only spaces
        Assert.Equal(metadata, parsed.Metadata);
        long expectedBegin = 0;
        foreach (var t in tensors)
        {
            var e = parsed.Tensors[t.Name];
            Assert.Equal(t.DType.ToString(), e.DType);
            Assert.Equal(t.Shape.ToArray(), e.Shape);
            Assert.Equal(expectedBegin, e.Begin);          // contiguous, in the given order
            expectedBegin = e.End;
        }
        Assert.Equal(parsed.DataLength, expectedBegin);    // no trailing bytes
        Assert.Equal(u8, parsed.Tensors["u8"].Bytes);
        Assert.Equal(MemoryMarshal.AsBytes<float>(f).ToArray(), parsed.Tensors["f32"].Bytes);
        Assert.Equal(MemoryMarshal.AsBytes<double>(d).ToArray(), parsed.Tensors["f64"].Bytes);
        Assert.Equal(MemoryMarshal.AsBytes<int>(i32).ToArray(), parsed.Tensors["i32"].Bytes);
        Assert.Equal(BitConverter.GetBytes(42L), parsed.Tensors["scalar.i64"].Bytes);
        Assert.Empty(parsed.Tensors["empty"].Bytes);

        // And the production reader gives the same values back.
        var read = SafeTensorsReader.Parse(file, "all.safetensors");
        Assert.Equal(metadata, read.Metadata);
        Assert.True(read.TryGet("f64", out var f64));
        Assert.Equal(d, f64.ToDoubles());
        Assert.True(read.TryGet("i64", out var i64Read));
        Assert.Equal(i64, i64Read.ToInt64s());
        Assert.True(read.TryGet("u8", out var u8Read));
        Assert.Equal(u8, u8Read.ToBytes());
        Assert.True(read.TryGet("scalar.i64", out var scalar));
        Assert.Equal(0, scalar.Shape.Length);
        Assert.Equal([42L], scalar.ToInt64s());
    }

    [Fact]
    public void Reader_AcceptsHandWrittenFiles_InAnyHeaderOrder_AndWithoutPadding()
    {
        // Entries listed out of offset order, no padding, no metadata: valid per the format.
        const string header = "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}, \"a\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}";
        var file = IndependentSafeTensors.Build(header, 6, pad: false);
        var read = SafeTensorsReader.Parse(file, "hand.safetensors");
        Assert.Equal(["a", "b"], read.Tensors.Select(t => t.Name));  // data-section order
        Assert.Equal([BitConverter.ToInt32([0, 1, 2, 3])], read.Tensors[0].ToInt32s());
        Assert.Equal(new byte[] { 4, 5 }, read.Tensors[1].ToBytes());
        Assert.Empty(read.Metadata);
    }

    [Fact]
    public void Writer_RejectsDuplicateNames_AndDataThatDoesNotFitTheShape()
    {
        var a = SafeTensor.FromFloats("a", [1f], [1]);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafeTensorsWriter.ToBytes([a, a])).Message);
        Assert.Contains("needs 8 bytes", Assert.Throws<ArgumentException>(() => new SafeTensor("x", SafeTensorsDType.F32, [2], new byte[4])).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => new SafeTensor("x", SafeTensorsDType.F32, [-1], [])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafeTensor.FromFloats("__metadata__", [1f], [1])).Message);
        Assert.Contains("not I64", Assert.Throws<InvalidOperationException>(() => a.ToInt64s()).Message);
    }
}
