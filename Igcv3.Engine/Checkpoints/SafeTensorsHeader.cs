namespace Igcv3.Engine.Checkpoints;

/// <summary>
/// The safetensors layout, as the reference implementation (huggingface/safetensors) defines it:
/// <code>
/// [8 bytes]  N, unsigned 64-bit little-endian: the header length
/// [N bytes]  UTF-8 JSON object, padded with spaces to a multiple of 8:
///            { "__metadata__": { string: string },                      (optional)
///              "name": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
/// [rest]     the data section; offsets are relative to its start, end exclusive
/// </code>
/// Tensors tile the data section exactly: sorted by offset they start at 0, each begins where the
/// previous ends, and the last ends at the end of the file (no overlaps, gaps or trailing bytes).
/// Duplicate names are not allowed. Shape [] is a scalar; a zero dimension is an empty tensor with
/// begin = end.
/// </summary>
public static class SafeTensorsHeader
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation's cap on N: a larger header is refused before it is
    /// read, so a corrupt length cannot make us allocate gigabytes.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Header length and data offsets are padded so tensor data starts 8-byte aligned.</summary>
    public const int Alignment = 8;
}
