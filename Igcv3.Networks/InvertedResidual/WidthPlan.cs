namespace Igcv3.Networks;

/// <summary>One block's channel counts: input, expanded (E) and output; its stride; whether it
/// adds its input (every block but a stage's first).</summary>
public readonly record struct BlockPlan(int Stage, int Index, double T, int In, int Expanded, int Out, int Stride, bool Shortcut);

/// <summary>
/// Turns a stage table and a width multiplier into every block's channel counts (see
/// <see cref="WidthArithmetic"/>). Pure data, so it can be checked on its own and the builder loop
/// has no arithmetic of its own.
/// </summary>
public sealed record WidthPlan(int Stem, IReadOnlyList<BlockPlan> Blocks, int Head)
{
    public static WidthPlan Compute(IReadOnlyList<StageRow> table, double multiplier, WidthArithmetic arithmetic, int quantum)
    {
        if (!(multiplier > 0) || double.IsInfinity(multiplier)) throw new ArgumentException($"width multiplier must be positive and finite, got {multiplier}");
        return arithmetic == WidthArithmetic.Official ? Official(table, multiplier) : Clean(table, multiplier, quantum);
    }

    // Python 2's round(): half away from zero.
    private static int Round(double v) => (int)Math.Round(v, MidpointRounding.AwayFromZero);

    private static int MakeEven(int c) => c % 2 != 0 ? c + 1 : c;

    // The released igcv3.py / mxnet-mobilenet-v2 arithmetic, line for line.
    private static WidthPlan Official(IReadOnlyList<StageRow> table, double m)
    {
        int stem = MakeEven(Round(StageTables.StemWidth * m));
        var blocks = new List<BlockPlan>();
        int inC = stem;      // the width the next stage's first expansion is computed from
        int actual = stem;   // the width that really flows in
        for (int s = 0; s < table.Count; s++)
        {
            var row = table[s];
            int c = MakeEven(Round(row.C * m));
            for (int i = 0; i < row.N; i++)
            {
                int expanded = Round((i == 0 ? inC : c) * row.T);
                blocks.Add(new BlockPlan(s, i, row.T, actual, expanded, c, i == 0 ? row.S : 1, Shortcut: i > 0));
                actual = c;
            }
            // The quirk: in_c = round(c·m) on the already scaled c, and c + 1 (not in_c + 1) when odd.
            inC = Round(c * m);
            if (inC % 2 != 0) inC = c + 1;
        }
        int head = m > 1 ? (int)(StageTables.HeadWidth * m) + 1 : StageTables.HeadWidth;
        return new WidthPlan(stem, blocks, head);
    }

    private static WidthPlan Clean(IReadOnlyList<StageRow> table, double m, int q)
    {
        if (q <= 0) throw new ArgumentException($"width quantum must be positive, got {q}");
        int Quantise(double v) => Math.Max(q, q * Round(v / q));
        int stem = Quantise(StageTables.StemWidth * m);
        var blocks = new List<BlockPlan>();
        int actual = stem;
        for (int s = 0; s < table.Count; s++)
        {
            var row = table[s];
            int c = Quantise(row.C * m);
            for (int i = 0; i < row.N; i++)
            {
                blocks.Add(new BlockPlan(s, i, row.T, actual, Quantise(actual * row.T), c, i == 0 ? row.S : 1, Shortcut: i > 0));
                actual = c;
            }
        }
        int head = m > 1 ? Quantise(StageTables.HeadWidth * m) : StageTables.HeadWidth;
        return new WidthPlan(stem, blocks, head);
    }
}
