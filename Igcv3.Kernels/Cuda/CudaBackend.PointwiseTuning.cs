using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// PointwiseGemm.Auto: the first call of each 1x1-convolution geometry and pass times both ways of
// running it on the device, and every later call takes the faster (cudnn.benchmark's approach).
// The trials run on scratch outputs, so the caller's y is written, and its dx and dw accumulated
// into, exactly once, by the chosen way. Each way runs once untimed (module load, cuBLAS's
// heuristics), then twice TrialRepetitions times between events; the better round counts. The
// host waits for those events, so the first training step of a network (and only that one)
// synchronises once per new geometry.
public sealed partial class CudaBackend
{
    private const int TrialRepetitions = 3;

    private readonly Dictionary<(string Pass, PointwiseGeometry Geometry), PointwiseChoice> _pointwiseChoices = [];

    /// <summary>How the grouped 1x1 convolution runs (<see cref="Cuda.PointwiseGemm"/>): on a
    /// device, <see cref="PointwiseGemm.Auto"/> unless a benchmark or the user forces one way.</summary>
    public PointwiseGemm PointwiseGemm { get; set; } = PointwiseGemm.Auto;

    /// <summary>The decisions <see cref="PointwiseGemm.Auto"/> has taken so far, in the order taken.</summary>
    public IReadOnlyList<PointwiseChoice> PointwiseChoices
    {
        get
        {
            lock (_pointwiseChoices) return [.. _pointwiseChoices.Values];
        }
    }

    private PointwiseGemm TunedForward(Tensor x, Tensor w, Tensor y, PointwiseGeometry g)
    {
        const string pass = "forward";
        if (TryChosen(pass, g, out var chosen)) return chosen;
        try
        {
            using var trialY = Trial(y);
            return Tune(pass, g, how => PointwiseForward(how, x, w, trialY.Tensor, g));
        }
        catch (CudaInteropException e) when (IsOutOfMemory(e))
        {
            return Untuned(pass, g);
        }
    }

    private PointwiseGemm TunedBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, PointwiseGeometry g)
    {
        string pass = (dx, dw) switch { (not null, not null) => "backward dx+dw", (not null, null) => "backward dx", _ => "backward dw" };
        if (TryChosen(pass, g, out var chosen)) return chosen;
        try
        {
            using var trialDx = dx is null ? null : Trial(dx);
            using var trialDw = dw is null ? null : Trial(dw);
            return Tune(pass, g, how => PointwiseBackward(how, x, w, dy, trialDx?.Tensor, trialDw?.Tensor, g));
        }
        catch (CudaInteropException e) when (IsOutOfMemory(e))
        {
            return Untuned(pass, g);
        }
    }

    /// <summary>The trials need memory a full device may not have (the scratch outputs, cuBLAS's
    /// shuffle copies): tuning must never be what fails a step, so such a geometry keeps the tiled
    /// kernels, which need no scratch, with its times recorded as NaN.</summary>
    private static bool IsOutOfMemory(CudaInteropException e) => e.CodeName is "CUDA_ERROR_OUT_OF_MEMORY" or "CUBLAS_STATUS_ALLOC_FAILED";

    private PointwiseGemm Untuned(string pass, PointwiseGeometry g) => Decide(pass, g, double.NaN, double.NaN);

    /// <summary>Keeps the decision for every later call of the geometry and pass.</summary>
    private PointwiseGemm Decide(string pass, PointwiseGeometry g, double tiledMs, double cublasMs)
    {
        var choice = new PointwiseChoice(pass, g.M, g.Cin, g.Cout, g.Groups, g.InShuffle, g.OutShuffle, tiledMs, cublasMs);
        lock (_pointwiseChoices) _pointwiseChoices.TryAdd((pass, g), choice);
        return choice.Chosen;
    }

    private bool TryChosen(string pass, PointwiseGeometry g, out PointwiseGemm chosen)
    {
        lock (_pointwiseChoices)
        {
            bool known = _pointwiseChoices.TryGetValue((pass, g), out var choice);
            chosen = known ? choice!.Chosen : default;
            return known;
        }
    }

    private PointwiseGemm Tune(string pass, PointwiseGeometry g, Action<PointwiseGemm> run)
    {
        run(PointwiseGemm.Tiled);
        run(PointwiseGemm.Cublas);
        double tiled = double.PositiveInfinity, cublas = double.PositiveInfinity;
        for (int round = 0; round < 2; round++)
        {
            tiled = Math.Min(tiled, TimePerCall(() => run(PointwiseGemm.Tiled)));
            cublas = Math.Min(cublas, TimePerCall(() => run(PointwiseGemm.Cublas)));
        }
        return Decide(pass, g, tiled, cublas);
    }

    private double TimePerCall(Action call) => _queue.TimeMilliseconds(() =>
    {
        for (int i = 0; i < TrialRepetitions; i++) call();
    }) / TrialRepetitions;

    /// <summary>An uninitialised tensor shaped like <paramref name="like"/>, freed on dispose, at the
    /// same offset modulo 4 elements into a (256-byte aligned) block: the kernels take their float4
    /// paths only on 16-byte aligned data, so a trial must time the path the real call will take.</summary>
    private TrialTensor Trial(Tensor like)
    {
        int offset = (int)(like.Offset % 4);
        return new(Tensor.View(Allocate(like.DType, like.Count + offset, zeroed: false), offset, like.Shape));
    }

    private sealed class TrialTensor(Tensor tensor) : IDisposable
    {
        public Tensor Tensor => tensor;

        public void Dispose() => tensor.Storage.Dispose();
    }
}
