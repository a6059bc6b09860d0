namespace Igcv3.Networks;

/// <summary>One row of an inverted-residual stage table: expansion t, width c, blocks n, stride
/// s of the first block.</summary>
public readonly record struct StageRow(double T, int C, int N, int S);

/// <summary>The architectures as data (IGC_SPEC.md).</summary>
public static class StageTables
{
    /// <summary>IGCV3-D: MobileNetV2's table with n doubled (released igcv3.py).</summary>
    public static IReadOnlyList<StageRow> Igcv3D { get; } =
    [
        new(1, 16, 1, 1), new(6, 24, 4, 2), new(6, 32, 6, 2), new(6, 64, 8, 2),
        new(6, 96, 6, 1), new(6, 160, 6, 2), new(6, 320, 1, 1),
    ];

    public static IReadOnlyList<StageRow> MobileNetV2 { get; } =
    [
        new(1, 16, 1, 1), new(6, 24, 2, 2), new(6, 32, 3, 2), new(6, 64, 4, 2),
        new(6, 96, 3, 1), new(6, 160, 3, 2), new(6, 320, 1, 1),
    ];

    public const int StemWidth = 32;

    public const int HeadWidth = 1280;

    /// <summary>The CIFAR variant: stem at stride 1 and the second stage (c = 24) at stride 1, so
    /// a 32x32 input runs at 32, 32, 32, 16, 8, 8, 4, 4.</summary>
    public static IReadOnlyList<StageRow> ForCifar(IReadOnlyList<StageRow> table) =>
        table.Select((row, i) => i == 1 ? row with { S = 1 } : row).ToList();
}
