namespace Igcv3.Train.Logging;

/// <summary>One scalar of a summary: a tag (e.g. "loss/train") and its value.</summary>
public readonly record struct ScalarValue(string Tag, float Value);

/// <summary>
/// The part of TensorFlow's Event message that scalar logging uses: a wall time, a step, and
/// either the file-version marker (first event of a file) or a summary of scalar values.
/// </summary>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<ScalarValue> Scalars)
{
    /// <summary>The version string TensorBoard expects in the first event of a file.</summary>
    public const string CurrentFileVersion = "brain.Event:2";

    // Field numbers, from tensorflow/core/util/event.proto:
    //   message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; ... Summary summary = 5; ... } }
    // and tensorflow/core/framework/summary.proto:
    //   message Summary { repeated Value value = 1; }
    //   message Summary.Value { string tag = 1; oneof value { float simple_value = 2; ... } }
    private const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5;
    private const int SummaryValue = 1;
    private const int ValueTag = 1, ValueSimpleValue = 2;

    /// <summary>The event's protobuf encoding. A zero step is left out, as proto3 does for default values.</summary>
    public byte[] Encode()
    {
        var e = new ProtoWriter().Double(EventWallTime, WallTime);
        if (Step != 0) e.Int64(EventStep, Step);
        if (FileVersion is not null) e.String(EventFileVersion, FileVersion);
        else
        {
            var summary = new ProtoWriter();
            foreach (var scalar in Scalars)
                summary.Message(SummaryValue, new ProtoWriter().String(ValueTag, scalar.Tag).Float(ValueSimpleValue, scalar.Value));
            e.Message(EventSummary, summary);
        }
        return e.ToArray();
    }

    /// <summary>Decodes an event; fields other than the ones above are skipped.</summary>
    public static TensorBoardEvent Decode(ReadOnlySpan<byte> bytes)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<ScalarValue>();
        var reader = new ProtoReader(bytes);
        while (reader.TryReadKey(out int field, out int wire))
        {
            if (field == EventWallTime && wire == ProtoWriter.Fixed64) wallTime = reader.ReadDouble();
            else if (field == EventStep && wire == ProtoWriter.Varint) step = unchecked((long)reader.ReadVarint());
            else if (field == EventFileVersion && wire == ProtoWriter.LengthDelimited) fileVersion = System.Text.Encoding.UTF8.GetString(reader.ReadLengthDelimited());
            else if (field == EventSummary && wire == ProtoWriter.LengthDelimited) DecodeSummary(reader.ReadLengthDelimited(), scalars);
            else reader.Skip(wire);
        }
        return new TensorBoardEvent(wallTime, step, fileVersion, scalars);
    }

    private static void DecodeSummary(ReadOnlySpan<byte> bytes, List<ScalarValue> scalars)
    {
        var reader = new ProtoReader(bytes);
        while (reader.TryReadKey(out int field, out int wire))
        {
            if (field != SummaryValue || wire != ProtoWriter.LengthDelimited)
            {
                reader.Skip(wire);
                continue;
            }
            string tag = "";
            float? value = null;
            var valueReader = new ProtoReader(reader.ReadLengthDelimited());
            while (valueReader.TryReadKey(out int f, out int w))
            {
                if (f == ValueTag && w == ProtoWriter.LengthDelimited) tag = System.Text.Encoding.UTF8.GetString(valueReader.ReadLengthDelimited());
                else if (f == ValueSimpleValue && w == ProtoWriter.Fixed32) value = valueReader.ReadFloat();
                else valueReader.Skip(w);
            }
            if (value is { } v) scalars.Add(new ScalarValue(tag, v)); // images, histograms etc. are not scalars
        }
    }
}
