using Igcv3.Engine;

namespace Igcv3.Bench.Workloads;

/// <summary>
/// A traced call made runnable on a real backend: tensors of the traced shapes filled with random
/// values (never zeros: they hide unwritten outputs and can run faster than real data), and the
/// backend method called directly, without the op front-end or autograd, so a timing holds the
/// kernel alone. Accumulating outputs keep accumulating across repetitions, as in training.
/// </summary>
public sealed class OpReplay
{
    private readonly Dictionary<string, Tensor> _tensors = [];

    public OpReplay(OpCall call, IBackend backend, int seed = 7)
    {
        Call = call;
        Backend = backend;
        var random = new Random(seed);
        int classes = (call.Find("logits") ?? call.Find("probabilities"))?.Shape[-1] ?? 1;
        foreach (var arg in call.Args) _tensors[arg.Role] = Make(arg, backend, random, classes);
        Run = Bind(call, backend);
    }

    public OpCall Call { get; }

    public IBackend Backend { get; }

    /// <summary>Queues the call once on the backend.</summary>
    public Action Run { get; }

    private static Tensor Make(TensorArg arg, IBackend backend, Random random, int classes) => arg.Role switch
    {
        "labels" => Tensor.FromArray(backend, Enumerable.Range(0, (int)arg.Shape.Count).Select(_ => random.Next(classes)).ToArray(), arg.Shape),
        // Variances and inverse standard deviations are positive; the loss gradient seed is a scalar.
        "runningVar" or "saveInvStd" => Tensor.RandomUniform(backend, arg.Shape, random, 0.5, 1.5, arg.DType),
        "dloss" => Tensor.RandomUniform(backend, arg.Shape, random, 0.5, 1.5, arg.DType),
        // Activation outputs straddle ReLU6's kinks, so both sides of the mask are taken.
        "y" when arg.Access == Access.Read => Tensor.RandomUniform(backend, arg.Shape, random, -1, 7, arg.DType),
        _ when arg.DType == DType.F32 => RandomPool.Tensor(backend, arg.Shape, random),
        _ => Tensor.RandomNormal(backend, arg.Shape, random, 1.0, arg.DType),
    };

    private Tensor T(string role) => _tensors.TryGetValue(role, out var t) ? t : throw new InvalidOperationException($"{Call.Op}: replay has no '{role}'");

    private Tensor? Opt(string role) => _tensors.GetValueOrDefault(role);

    private Action Bind(OpCall call, IBackend b) => call.Op switch
    {
        "fill" => () => b.Fill(T("y"), 0),
        "copy" => () => b.Copy(T("x"), T("y")),
        "add" => () => b.Add(T("a"), T("b"), T("y")),
        "accumulate" => () => b.Accumulate(T("x"), T("y")),
        "activation.forward" => () => b.ActivationForward((Activation)call.Spec!, T("x"), T("y")),
        "activation.backward" => () => b.ActivationBackward((Activation)call.Spec!, T("y"), T("dy"), T("dx")),
        "conv2d.forward" => () => b.Conv2dForward(T("x"), T("w"), T("y"), (Conv2dSpec)call.Spec!),
        "conv2d.backward" => () => b.Conv2dBackward(T("x"), T("w"), T("dy"), Opt("dx"), Opt("dw"), (Conv2dSpec)call.Spec!),
        "pointwise.forward" => () => b.PointwiseForward(T("x"), T("w"), T("y"), (PointwiseSpec)call.Spec!),
        "pointwise.backward" => () => b.PointwiseBackward(T("x"), T("w"), T("dy"), Opt("dx"), Opt("dw"), (PointwiseSpec)call.Spec!),
        "shuffle.forward" => () => b.ChannelShuffleForward(T("x"), T("y"), (int)call.Spec!),
        "shuffle.backward" => () => b.ChannelShuffleBackward(T("dy"), T("dx"), (int)call.Spec!),
        "depthwise.forward" => () => b.DepthwiseForward(T("x"), T("w"), T("y"), (int)call.Spec!),
        "depthwise.backward" => () => b.DepthwiseBackward(T("x"), T("w"), T("dy"), Opt("dx"), Opt("dw"), (int)call.Spec!),
        "batchnorm.forward" => () => b.BatchNormForward(T("x"), T("gamma"), T("beta"), T("runningMean"), T("runningVar"),
            T("y"), T("saveMean"), T("saveInvStd"), (BatchNormSpec)call.Spec!),
        "batchnorm.backward" => () => b.BatchNormBackward(T("x"), T("gamma"), T("beta"), T("saveMean"), T("saveInvStd"), T("dy"),
            Opt("dx"), Opt("dgamma"), Opt("dbeta"), (BatchNormSpec)call.Spec!),
        "avgpool.forward" => () => b.GlobalAvgPoolForward(T("x"), T("y")),
        "avgpool.backward" => () => b.GlobalAvgPoolBackward(T("dy"), T("dx")),
        "maxpool.forward" => () => b.MaxPoolForward(T("x"), T("y"), (PoolSpec)call.Spec!),
        "maxpool.backward" => () => b.MaxPoolBackward(T("x"), T("dy"), T("dx"), (PoolSpec)call.Spec!),
        "linear.forward" => () => b.LinearForward(T("x"), T("w"), Opt("b"), T("y")),
        "linear.backward" => () => b.LinearBackward(T("x"), T("w"), T("dy"), Opt("dx"), Opt("dw"), Opt("db")),
        "xent.forward" => () => b.SoftmaxCrossEntropyForward(T("logits"), T("labels"), T("probabilities"), T("loss"), (double)call.Spec!),
        "xent.backward" => () => b.SoftmaxCrossEntropyBackward(T("probabilities"), T("labels"), T("dloss"), T("dlogits"), (double)call.Spec!),
        "sgd" => () => b.SgdStep(T("p"), T("g"), T("m"), (SgdSpec)call.Spec!),
        _ => throw new NotSupportedException($"replay: no binding for op '{call.Op}' ({call.Key})"),
    };

    /// <summary>Every op name a trace can contain, so a test can prove each one has a binding.</summary>
    public static IReadOnlyList<string> KnownOps { get; } =
    [
        "fill", "copy", "add", "accumulate", "activation.forward", "activation.backward", "conv2d.forward", "conv2d.backward",
        "pointwise.forward", "pointwise.backward", "shuffle.forward", "shuffle.backward", "depthwise.forward", "depthwise.backward",
        "batchnorm.forward", "batchnorm.backward", "avgpool.forward", "avgpool.backward", "maxpool.forward", "maxpool.backward",
        "linear.forward", "linear.backward", "xent.forward", "xent.backward", "sgd",
    ];
}
