using Igcv3.Engine.Checkpoints;

namespace Igcv3.Train.Training;

/// <summary>
/// Where a run stands, saved in every checkpoint beside the parameters, buffers and momentum, so
/// that a resumed run continues exactly: the next (epoch, batch) to train (the epoch plans are
/// fixed by (seed, epoch), so nothing else about the data order needs saving), the global step,
/// the running sums of the epoch in progress (a Ctrl+C checkpoint falls mid-epoch), the best
/// test accuracy so far, and the totals for the final summary. Epochs are 0-based here.
/// </summary>
public sealed class TrainerState
{
    public int Epoch { get; set; }
    public int Batch { get; set; }
    public long GlobalStep { get; set; }

    // The epoch in progress: sums over the steps done so far.
    public double EpochLossSum { get; set; }
    public long EpochCorrect { get; set; }
    public long EpochSeen { get; set; }
    public double EpochSeconds { get; set; }

    public double BestTop1 { get; set; } = double.NaN;
    public double BestTop5 { get; set; } = double.NaN;
    public int BestEpoch { get; set; } = -1;

    /// <summary>Seconds spent in training steps, and images trained, over every session of the run.</summary>
    public double TrainSeconds { get; set; }
    public long ImagesTrained { get; set; }

    /// <summary>Wall time of the epochs (training and evaluation), over every session.</summary>
    public double WallSeconds { get; set; }

    /// <summary>The latest evaluation (NaN before the first).</summary>
    public double LastTop1 { get; set; } = double.NaN;
    public double LastTop5 { get; set; } = double.NaN;

    public void StartEpoch(int epoch)
    {
        Epoch = epoch;
        Batch = 0;
        EpochLossSum = 0;
        EpochCorrect = 0;
        EpochSeen = 0;
        EpochSeconds = 0;
    }

    public IEnumerable<SafeTensor> ToExtras() =>
    [
        SafeTensor.FromInt64s("trainer.position", Epoch, Batch, GlobalStep),
        SafeTensor.FromInt64s("trainer.counts", EpochCorrect, EpochSeen, BestEpoch, ImagesTrained),
        SafeTensor.FromDoubles("trainer.sums", [EpochLossSum, EpochSeconds, BestTop1, BestTop5, TrainSeconds, WallSeconds, LastTop1, LastTop5], [8]),
    ];

    public static TrainerState FromExtras(LoadedCheckpoint loaded, string path)
    {
        long[] position = Get(loaded, path, "trainer.position", 3).ToInt64s();
        long[] counts = Get(loaded, path, "trainer.counts", 4).ToInt64s();
        double[] sums = Get(loaded, path, "trainer.sums", 8).ToDoubles();
        return new TrainerState
        {
            Epoch = checked((int)position[0]),
            Batch = checked((int)position[1]),
            GlobalStep = position[2],
            EpochCorrect = counts[0],
            EpochSeen = counts[1],
            BestEpoch = checked((int)counts[2]),
            ImagesTrained = counts[3],
            EpochLossSum = sums[0],
            EpochSeconds = sums[1],
            BestTop1 = sums[2],
            BestTop5 = sums[3],
            TrainSeconds = sums[4],
            WallSeconds = sums[5],
            LastTop1 = sums[6],
            LastTop5 = sums[7],
        };
    }

    private static SafeTensor Get(LoadedCheckpoint loaded, string path, string name, int count)
    {
        if (!loaded.Extras.TryGetValue(name, out var t) || t.Count != count)
            throw new CheckpointException($"checkpoint {path} holds no trainer state ('extra.{name}'), so a run cannot be resumed from it; use it with 'eval', or start a new run");
        return t;
    }
}
