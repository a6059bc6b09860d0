using Igcv3.Engine.IO;
using System.Runtime.InteropServices;
using Igcv3.Engine;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Nn;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Checkpoints;

/// <summary>Save → load round trips (bit-exact values, identical outputs), the file as an
/// independent parser sees it, networks that do not fit, and the atomic write.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("igcv3-checkpoint-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_folder.FullName, name);

    /// <summary>An OHWI conv-shaped weight [2, 1, 1, c], a bias [2c] and a running-mean buffer [2c].</summary>
    private sealed class Block : Module
    {
        public readonly Parameter Weight, Bias, Running;

        public Block(int c)
        {
            Weight = AddParameter("weight", [2, 1, 1, c], Init.Normal(1.0));
            Bias = AddParameter("bias", [2 * c], Init.Normal(0.5), decay: false);
            Running = AddBuffer("running_mean", [2 * c], Init.Normal(0.3));
        }

        // y = relu(x + w) + b + running_mean, x [2c]
        public override Tensor Forward(Tensor x) =>
            Ops.Add(Ops.Add(Ops.Relu(Ops.Add(x, Ops.Reshape(Weight.Value, x.Shape))), Bias.Value), Running.Value);
    }

    private sealed class Blocks : Module
    {
        public Blocks(int[] widths)
        {
            for (int i = 0; i < widths.Length; i++) Add(i.ToString(), new Block(widths[i]));
        }

        public override Tensor Forward(Tensor x) => throw new NotSupportedException("blocks of different widths do not chain");
    }

    /// <summary>"blocks.i.weight" etc.; Forward runs block 0 only (all tests chain nothing else).</summary>
    private sealed class Net : Module
    {
        public readonly Blocks Body;

        public Net(params int[] widths) => Body = Add("blocks", new Blocks(widths));

        public override Tensor Forward(Tensor x) => Body.Children[0].Module.Forward(x);
    }

    /// <summary>A trained-looking network: random parameters and buffers, and momentum from two SGD steps.</summary>
    private static (Net, ParameterSet, Sgd) Trained(int seed, DType dtype, params int[] widths)
    {
        var net = new Net(widths);
        var set = ParameterSet.Create(net, Make.Cpu, seed, dtype);
        var sgd = new Sgd(set, momentum: 0.9, weightDecay: 1e-4);
        var random = new Random(seed + 100);
        for (int step = 0; step < 2; step++)
        {
            var g = Enumerable.Range(0, (int)set.Count).Select(_ => random.NextDouble() - 0.5).ToArray();
            Make.Cpu.Copy(Tensor.FromHostDoubles(Make.Cpu, g, set.Gradients.Shape, dtype), set.Gradients);
            sgd.Step(0.1);
        }
        return (net, set, sgd);
    }

    /// <summary>Raw bits of every value, so comparisons are bit-exact (and -0.0 ≠ 0.0).</summary>
    private static long[] Bits(Tensor t) => t.DType == DType.F32
        ? t.ToFloatArray().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray()
        : t.ToDoubleArray().Select(BitConverter.DoubleToInt64Bits).ToArray();

    /// <summary>Values [P], then buffers [B], then momentum [P], as bits.</summary>
    private static long[] Snapshot(ParameterSet set, Sgd sgd) => [.. Bits(set.Values), .. Bits(set.Buffers), .. Bits(sgd.MomentumBuffer)];

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F64)]
    public void SaveThenLoad_IntoAFreshNetwork_IsBitExact_AndComputesTheSame(DType dtype)
    {
        var (netA, setA, sgdA) = Trained(1, dtype, 3, 5);
        string path = PathOf("model.safetensors");
        var metadata = new Dictionary<string, string> { ["epoch"] = "3", ["lr_schedule"] = "cosine:0.35" };
        Checkpoint.Save(path, setA, sgdA, metadata, [SafeTensor.FromInt64s("trainer", 3, 1234, 42)]);

        var (netB, setB, sgdB) = Trained(2, dtype, 3, 5);
        Assert.NotEqual(Bits(setA.Values), Bits(setB.Values));   // the load has something to do
        var loaded = Checkpoint.Load(path, setB, sgdB);

        Assert.Equal(Snapshot(setA, sgdA), Snapshot(setB, sgdB));
        Assert.Equal("3", loaded.Metadata["epoch"]);
        Assert.Equal("cosine:0.35", loaded.Metadata["lr_schedule"]);
        Assert.Equal("OHWI", loaded.Metadata[Checkpoint.ConvLayoutKey]);
        Assert.Equal([3L, 1234L, 42L], loaded.Extras["trainer"].ToInt64s());

        var x = Make.Random([6], 9, dtype);
        Assert.Equal(Bits(netA.Forward(x)), Bits(netB.Forward(x)));

        // Resuming gives the same next step too: momentum was restored, not just the weights.
        var g = Make.Random([(int)setA.Count], 10, dtype);
        Make.Cpu.Copy(g, setA.Gradients);
        Make.Cpu.Copy(g, setB.Gradients);
        sgdA.Step(0.05);
        sgdB.Step(0.05);
        Assert.Equal(Bits(setA.Values), Bits(setB.Values));
    }

    [Fact]
    public void TheFile_AsAnIndependentParserSeesIt_HoldsEveryTensorByName()
    {
        var (_, set, sgd) = Trained(3, DType.F32, 3, 4);
        string path = PathOf("independent.safetensors");
        Checkpoint.Save(path, set, sgd);
        var parsed = IndependentSafeTensors.Parse(File.ReadAllBytes(path));

        Assert.Equal(0, parsed.HeaderLength % 8);
        Assert.Equal("OHWI", parsed.Metadata["igcv3.conv_layout"]);
        var expected = new List<(string Name, Tensor Value)>();
        foreach (var (name, p) in set.Parameters) expected.Add((name, p.Value));
        foreach (var (name, p) in set.BufferSlots) expected.Add((name, p.Value));
        foreach (var (name, p) in set.Parameters)
        {
            expected.Add(("optimizer.momentum." + name, Tensor.View(sgd.MomentumBuffer.Storage, p.Value.Offset, p.Shape)));
        }
        Assert.Equal(expected.Select(e => e.Name).Order(), parsed.Tensors.Keys.Order());
        Assert.Contains("blocks.1.weight", parsed.Tensors.Keys);
        Assert.Contains("optimizer.momentum.blocks.0.bias", parsed.Tensors.Keys);
        foreach (var (name, value) in expected)
        {
            var e = parsed.Tensors[name];
            Assert.Equal("F32", e.DType);
            Assert.Equal(value.Shape.ToArray().Select(d => (long)d), e.Shape);
            Assert.Equal(MemoryMarshal.AsBytes<float>(value.ToFloatArray()).ToArray(), e.Bytes);
        }
        // Tiled exactly: sorted by offset, back to back from 0 to the end of the file.
        long covered = 0;
        foreach (var e in parsed.Tensors.Values.OrderBy(e => e.Begin))
        {
            Assert.Equal(covered, e.Begin);
            covered = e.End;
        }
        Assert.Equal(parsed.DataLength, covered);
    }

    [Fact]
    public void Load_IntoAnotherWidth_NamesTheFirstMisfit_AndChangesNothing()
    {
        var (_, setA, sgdA) = Trained(1, DType.F32, 3, 3);
        string path = PathOf("x.safetensors");
        Checkpoint.Save(path, setA, sgdA);

        // blocks.0 fits; blocks.1 is wider. Nothing may change, not even blocks.0.
        var (_, setB, sgdB) = Trained(2, DType.F32, 3, 4);
        var before = Snapshot(setB, sgdB);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, setB, sgdB));
        Assert.Equal($"checkpoint {path} does not fit this network: 'blocks.1.weight' is [2, 1, 1, 3] in the file but [2, 1, 1, 4] here — was it saved from another network or width?", e.Message);
        Assert.Equal(before, Snapshot(setB, sgdB));
    }

    [Fact]
    public void Load_WithTensorsTheNetworkLacks_OrMissingOnes_Fails()
    {
        string three = PathOf("three.safetensors");
        Checkpoint.Save(three, Trained(1, DType.F32, 3, 3, 3).Item2);
        var (_, two, _) = Trained(2, DType.F32, 3, 3);
        var before = Bits(two.Values);
        var extra = Assert.Throws<CheckpointException>(() => Checkpoint.Load(three, two));
        Assert.Contains("the file holds 'blocks.2.weight' [2, 1, 1, 3], which this network does not have", extra.Message);
        Assert.Equal(before, Bits(two.Values));

        string twoPath = PathOf("two.safetensors");
        Checkpoint.Save(twoPath, two);
        var (_, threeSet, _) = Trained(3, DType.F32, 3, 3, 3);
        var missing = Assert.Throws<CheckpointException>(() => Checkpoint.Load(twoPath, threeSet));
        Assert.Contains("'blocks.2.weight' [2, 1, 1, 3] is missing from the file", missing.Message);
    }

    [Fact]
    public void Load_OfAnotherDType_Fails_NamingBoth()
    {
        string path = PathOf("f64.safetensors");
        Checkpoint.Save(path, Trained(1, DType.F64, 3).Item2);
        var (_, set, _) = Trained(2, DType.F32, 3);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, set));
        Assert.Contains("'blocks.0.weight' is F64 in the file but this network is F32", e.Message);
    }

    [Fact]
    public void OptimizerState_IsOptionalOnLoad_ButRequiredWhenAnOptimizerIsGiven()
    {
        var (_, setA, sgdA) = Trained(1, DType.F32, 3);
        string withState = PathOf("with.safetensors");
        string without = PathOf("without.safetensors");
        Checkpoint.Save(withState, setA, sgdA);
        Checkpoint.Save(without, setA);

        // Weights only: the momentum in the file is skipped.
        var (_, setB, sgdB) = Trained(2, DType.F32, 3);
        var momentumBefore = Bits(sgdB.MomentumBuffer);
        Checkpoint.Load(withState, setB);
        Assert.Equal(Bits(setA.Values), Bits(setB.Values));
        Assert.Equal(momentumBefore, Bits(sgdB.MomentumBuffer));

        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(without, setB, sgdB));
        Assert.Contains("'optimizer.momentum.blocks.0.weight' [2, 1, 1, 3] is missing from the file — the file holds no optimizer state", e.Message);
    }

    [Fact]
    public void Load_OfAMalformedFile_ThrowsCheckpointException()
    {
        string path = PathOf("bad.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, Trained(1, DType.F32, 3).Item2));
        Assert.Contains("too short", e.Message);
    }

    [Fact]
    public void Misuse_IsAnArgumentError_AndWritesNothing()
    {
        var (_, set, _) = Trained(1, DType.F32, 3);
        var (_, _, otherSgd) = Trained(2, DType.F32, 3);
        string path = PathOf("m.safetensors");
        Assert.Contains("another ParameterSet", Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, set, otherSgd)).Message);
        var reserved = new Dictionary<string, string> { ["igcv3.conv_layout"] = "OIHW" };
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, set, metadata: reserved)).Message);
        Assert.Empty(_folder.GetFiles());
    }

    // ---- atomic write -----------------------------------------------------------------------

    private sealed class ThrowingMetadata : IReadOnlyDictionary<string, string>
    {
        public string this[string key] => throw new InvalidOperationException("simulated metadata failure");
        public IEnumerable<string> Keys => throw new InvalidOperationException("simulated metadata failure");
        public IEnumerable<string> Values => throw new InvalidOperationException("simulated metadata failure");
        public int Count => 1;
        public bool ContainsKey(string key) => throw new InvalidOperationException("simulated metadata failure");
        public bool TryGetValue(string key, out string value) => throw new InvalidOperationException("simulated metadata failure");
        public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => throw new InvalidOperationException("simulated metadata failure");
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static IEnumerable<SafeTensor> ExtrasThatFailHalfway()
    {
        yield return SafeTensor.FromInt64s("step", 1);
        throw new InvalidOperationException("simulated failure while gathering trainer state");
    }

    private void AssertOnlyFile(string path, byte[] expected)
    {
        Assert.Equal(expected, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], _folder.GetFiles().Select(f => f.Name));
    }

    [Fact]
    public void FailedSave_LeavesThePreviousCheckpoint_AndNoTemporaryFile()
    {
        var (_, set, sgd) = Trained(1, DType.F32, 3);
        string path = PathOf("model.safetensors");
        Checkpoint.Save(path, set, sgd);
        var previous = File.ReadAllBytes(path);
        sgd.Step(0.1);   // the network moves on; the next save fails

        Assert.Contains("simulated metadata", Assert.Throws<InvalidOperationException>(() => Checkpoint.Save(path, set, sgd, new ThrowingMetadata())).Message);
        AssertOnlyFile(path, previous);
        Assert.Contains("gathering trainer state", Assert.Throws<InvalidOperationException>(() => Checkpoint.Save(path, set, sgd, extras: ExtrasThatFailHalfway())).Message);
        AssertOnlyFile(path, previous);
        Checkpoint.Load(path, ParameterSet.Create(new Net(3), Make.Cpu, 5, DType.F32));   // still a valid checkpoint
    }

    [Fact]
    public void AtomicFile_FailingAfterHalfTheBytes_KeepsTheOldFile()
    {
        string path = PathOf("state.bin");
        File.WriteAllBytes(path, [9, 9, 9]);
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            stream.Flush();
            throw new IOException("simulated disk full");
        }));
        Assert.Equal("simulated disk full", e.Message);
        AssertOnlyFile(path, [9, 9, 9]);

        AtomicFile.Write(path, stream => stream.Write([1, 2]));
        AssertOnlyFile(path, [1, 2]);
    }

    [Fact]
    public void AtomicFile_WhenTheFinalRenameFails_RemovesTheTemporaryFile()
    {
        // The target is a folder, so the rename over it fails after the content was written.
        var target = _folder.CreateSubdirectory("model.safetensors");
        var (_, set, _) = Trained(1, DType.F32, 3);
        Assert.ThrowsAny<IOException>(() => Checkpoint.Save(target.FullName, set));
        Assert.Empty(_folder.GetFiles());
        Assert.True(target.Exists);
    }
}
