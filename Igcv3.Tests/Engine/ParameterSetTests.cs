using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class ParameterSetTests
{
    /// <summary>A weight (decayed), a bias (exempt) and a running-mean buffer, in a child module.</summary>
    private sealed class Leaf : Module
    {
        public readonly Parameter Weight, Bias, Running;

        public Leaf(int n)
        {
            Bias = AddParameter("bias", [n], Init.Constant(0.5), decay: false);
            Weight = AddParameter("weight", [n], Init.Normal(1.0));
            Running = AddBuffer("running_mean", [n], Init.Zeros);
        }

        // y = relu(x + w) + b
        public override Tensor Forward(Tensor x) => Ops.Add(Ops.Relu(Ops.Add(x, Weight.Value)), Bias.Value);
    }

    private sealed class Net : Module
    {
        public readonly Leaf First, Second;

        public Net()
        {
            First = Add("first", new Leaf(3));
            Second = Add("second", new Leaf(3));
        }

        public override Tensor Forward(Tensor x) => Second.Forward(First.Forward(x));
    }

    [Fact]
    public void Names_AreHierarchical_AndDecayedParametersComeFirst()
    {
        var net = new Net();
        var set = ParameterSet.Create(net, Make.Cpu, seed: 1, DType.F64);
        Assert.Equal(["first.weight", "second.weight", "first.bias", "second.bias"], set.Parameters.Select(p => p.Name));
        Assert.Equal(["first.running_mean", "second.running_mean"], set.BufferSlots.Select(p => p.Name));
        Assert.Equal(6, set.DecayedCount);
        Assert.Equal(12, set.Count);
        Assert.Equal(12, net.ParameterCount());
    }

    [Fact]
    public void Views_ShareTheFlatBuffers()
    {
        var net = new Net();
        var set = ParameterSet.Create(net, Make.Cpu, seed: 1, DType.F64);
        var flat = set.Values.ToDoubleArray();
        Assert.Equal(net.Second.Weight.Value.ToDoubleArray(), flat[3..6]);
        Assert.Equal([0.5, 0.5, 0.5], flat[9..12]);
        Assert.Same(set.Values.Storage, net.First.Bias.Value.Storage);
        Assert.Same(set.Gradients.Storage, net.First.Bias.Value.Grad!.Storage);
    }

    [Fact]
    public void SameSeed_GivesSameValues_DifferentSeed_Different()
    {
        var a = ParameterSet.Create(new Net(), Make.Cpu, seed: 7, DType.F64).Values.ToDoubleArray();
        var b = ParameterSet.Create(new Net(), Make.Cpu, seed: 7, DType.F64).Values.ToDoubleArray();
        var c = ParameterSet.Create(new Net(), Make.Cpu, seed: 8, DType.F64).Values.ToDoubleArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Backward_AccumulatesIntoTheFlatGradientBuffer_AndZeroGradClearsIt()
    {
        var net = new Net();
        var set = ParameterSet.Create(net, Make.Cpu, seed: 3, DType.F64);
        var x = Make.Random([3], 4);
        var seed = Tensor.FromHostDoubles(Make.Cpu, [1, 2, 3], [3], DType.F64);
        net.Forward(x).Backward(seed);
        var grads = set.Gradients.ToDoubleArray();
        // y = ... + second.bias, so d(Σ seed·y)/d second.bias = seed.
        Assert.Equal([1.0, 2.0, 3.0], grads[9..12]);
        Assert.Equal(net.First.Weight.Value.Grad!.ToDoubleArray(), grads[0..3]);
        set.ZeroGrad();
        Assert.All(set.Gradients.ToDoubleArray(), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void GradientCheck_ThroughModuleParameters()
    {
        var net = new Net();
        ParameterSet.Create(net, Make.Cpu, seed: 5, DType.F64);
        var x = Make.Random([3], 6);
        GradCheck.Check("module", () => net.Forward(x), [x, net.First.Weight.Value, net.Second.Bias.Value]);
    }

    [Fact]
    public void Unbound_Parameter_SaysWhatToDo()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Net().Forward(Make.Random([3], 1)));
        Assert.Contains("ParameterSet", e.Message);
    }

    [Fact]
    public void TrainAndEval_ReachEveryDescendant()
    {
        var net = new Net();
        net.Eval();
        Assert.False(net.First.Training);
        net.Train();
        Assert.True(net.Second.Training);
    }
}
