using Igcv3.Tests.Support;
using System.Buffers.Binary;
using System.Text;
using Igcv3.Train.Logging;
using Xunit;

namespace Igcv3.Tests.Train;

public class TensorBoardTests
{
    /// <summary>CRC-32C one bit at a time, straight from the definition (reflected polynomial 0x82F63B78).</summary>
    private static uint NaiveCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void Crc32C_MatchesPublishedTestVectors()
    {
        // The "check" value of CRC-32C, and the iSCSI vectors of RFC 3720 appendix B.4.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Crc32C_MatchesBitwiseDefinition_AtEveryLengthAroundTheEightByteStride()
    {
        var random = new Random(4);
        for (int length = 0; length < 40; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(NaiveCrc32C(data), Crc32C.Compute(data));
        }
        var big = new byte[4099];
        random.NextBytes(big);
        Assert.Equal(NaiveCrc32C(big), Crc32C.Compute(big));
    }

    [Fact]
    public void Mask_IsRotateRight15PlusConstant_AndUnmaskInvertsIt()
    {
        foreach (uint crc in new[] { 0u, 1u, 0xE3069283u, 0xFFFFFFFFu })
        {
            uint rotated = (crc >> 15) | (crc << 17);
            Assert.Equal(unchecked(rotated + 0xA282EAD8u), Crc32C.Mask(crc));
            Assert.Equal(crc, Crc32C.Unmask(Crc32C.Mask(crc)));
        }
    }

    [Fact]
    public void ScalarEvent_EncodesToTheProtobufBytesWorkedOutByHand()
    {
        var e = new TensorBoardEvent(1.5, 3, null, [new ScalarValue("a", 2.0f)]);

        // Value {tag "a", simple_value 2}: key 1<<3|2 = 0x0A, len 1, 'a'; key 2<<3|5 = 0x15, float 2.0 = 00 00 00 40.
        byte[] value = [0x0A, 0x01, (byte)'a', 0x15, 0x00, 0x00, 0x00, 0x40];
        // Summary {value}: key 1<<3|2 = 0x0A, len 8.
        byte[] summary = [0x0A, 0x08, .. value];
        // Event: wall_time key 1<<3|1 = 0x09 + double 1.5 (00.. F8 3F); step key 2<<3|0 = 0x10, varint 3; summary key 5<<3|2 = 0x2A, len 10.
        byte[] expected = [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x03, 0x2A, 0x0A, .. summary];

        Assert.Equal(expected, e.Encode());
        Assert.Equal(e.Scalars, TensorBoardEvent.Decode(expected).Scalars);
    }

    [Fact]
    public void FileVersionEvent_EncodesField3()
    {
        var bytes = new TensorBoardEvent(2.0, 0, "brain.Event:2", []).Encode();
        byte[] version = Encoding.UTF8.GetBytes("brain.Event:2");
        byte[] expected = [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x1A, (byte)version.Length, .. version];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void TfRecordFraming_IsLengthCrcDataCrc()
    {
        using var stream = new MemoryStream();
        byte[] data = Encoding.ASCII.GetBytes("hello");

        TfRecord.Write(stream, data);

        byte[] file = stream.ToArray();
        Assert.Equal(8 + 4 + 5 + 4, file.Length);
        Assert.Equal(5ul, BinaryPrimitives.ReadUInt64LittleEndian(file));
        Assert.Equal(Crc32C.Mask(NaiveCrc32C(file.AsSpan(0, 8))), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)));
        Assert.Equal(data, file[12..17]);
        Assert.Equal(Crc32C.Mask(NaiveCrc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(17)));
    }

    [Fact]
    public void Writer_RoundTrips_FileVersionFirstThenScalarsPerEpoch()
    {
        using var folder = new TempFolder();
        var clock = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        using var writer = new TensorBoardWriter(folder.Path, () => clock, "testhost");

        writer.Write(new EpochMetrics(1, 0.1, 2.5, 10, 2.25, 12.5, 50, 1000, 30));
        clock = clock.AddSeconds(30.25);
        writer.Write(new EpochMetrics(2, 0.098, 2.0, 20, null, null, null, 1100, 29));
        writer.AddScalar("custom/x", -3.5f, 7);

        Assert.Equal(Path.Combine(folder.Path, $"events.out.tfevents.{new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds()}.testhost"),
            writer.FilePath);
        var events = TensorBoardReader.ReadEvents(writer.FilePath); // read while the writer is open: flushed
        Assert.Equal(4, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(1735787045.0, events[0].WallTime);
        Assert.Equal(1735787075.25, events[2].WallTime);
        Assert.Equal([(1L, 2.5f), (2L, 2.0f)], TensorBoardReader.Scalars(events, "loss/train"));
        Assert.Equal([(1L, 2.25f)], TensorBoardReader.Scalars(events, "loss/test"));
        Assert.Equal([(1L, 50f)], TensorBoardReader.Scalars(events, "accuracy/test_top5"));
        Assert.Equal([(1L, 0.1f), (2L, 0.098f)], TensorBoardReader.Scalars(events, "lr"));
        Assert.Equal([(7L, -3.5f)], TensorBoardReader.Scalars(events, "custom/x"));
    }

    [Fact]
    public void SecondWriterInTheSameSecond_GetsItsOwnFile()
    {
        using var folder = new TempFolder();
        var clock = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        using var first = new TensorBoardWriter(folder.Path, () => clock, "h");
        using var second = new TensorBoardWriter(folder.Path, () => clock, "h");
        Assert.NotEqual(first.FilePath, second.FilePath);
        Assert.Contains("tfevents", Path.GetFileName(second.FilePath));
    }

    [Fact]
    public void TruncateAfter_KeepsWhatTheCheckpointSaw_DropsACutRecord_AndTheResumedWriterAppends()
    {
        using var folder = new TempFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path, hostName: "h"))
        {
            path = writer.FilePath;
            for (int step = 1; step <= 8; step++) writer.WriteStep(new StepMetrics(step, step / 4.0, 2.0 - step / 10.0, 0.1, null));
            writer.Write(new EpochMetrics(1, 0.1, 2.5, 10, 2.25, 12.5, 50, 1000, 30));
            writer.Write(new EpochMetrics(2, 0.1, 2.0, 20, 2.0, 15, 55, 1000, 30));
        }
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. whole, .. whole.AsSpan(0, 20)]); // a record a kill cut short

        TensorBoardWriter.TruncateAfter(folder.Path, completedEpochs: 1, stepsDone: 6);
        using (var resumed = new TensorBoardWriter(folder.Path, hostName: "h", append: true))
        {
            Assert.Equal(path, resumed.FilePath);
            resumed.WriteStep(new StepMetrics(7, 1.75, 9, 0.1, null));
        }
        var events = TensorBoardReader.ReadEvents(path);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], TensorBoardReader.Scalars(events, "step/loss").Select(p => p.Step));
        Assert.Equal(9f, TensorBoardReader.Scalars(events, "step/loss")[^1].Value);
        Assert.Equal([1L], TensorBoardReader.Scalars(events, "loss/train").Select(p => p.Step));
        Assert.Single(events, e => e.FileVersion is not null);
    }

    [Fact]
    public void Reader_RejectsACorruptedRecord_NamingItsOffset()
    {
        using var folder = new TempFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path, hostName: "h"))
        {
            writer.AddScalar("loss", 1f, 1);
            path = writer.FilePath;
        }
        byte[] file = File.ReadAllBytes(path);
        int secondRecord = 16 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        file[secondRecord + 14] ^= 0x01; // a data byte of the second record
        File.WriteAllBytes(path, file);

        var e = Assert.Throws<InvalidDataException>(() => TensorBoardReader.ReadEvents(path));
        Assert.Contains($"record at byte {secondRecord} has a bad data CRC", e.Message);
    }
}
