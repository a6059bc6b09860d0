using Google.Protobuf;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Tests.Train;
using Igcv3.Train.Data;
using Igcv3.Train.Export;
using Xunit;

namespace Igcv3.Tests.Export;

/// <summary>
/// The ONNX export against our CPU engine, through ONNX Runtime (CPU, no graph optimisation,
/// strict shape and type inference): every registered network's graph loads, and its logits equal
/// the engine's eval logits within float32 tolerance, max |ort − ours| ≤ 1e-5·max |ours|
/// (the folded batch norms and a different summation order are the only differences). Batch
/// norms carry random statistics, so an unfolded or misfolded one shows.
/// </summary>
public class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    /// <summary>A small configuration of each registered network, to keep the suite fast.</summary>
    internal static NetworkOptions Small(string name) => name switch
    {
        "igcv3-d" or "mobilenetv2" or "igcv2" => new NetworkOptions { WidthMultiplier = 0.5 },
        "resnet-igc-imagenet-d18" => new NetworkOptions { L = 2, M = 4, Classes = 7 },
        "resnet-imagenet-d18" => new NetworkOptions { Width = 8, Classes = 7 },
        _ => new NetworkOptions { Depth = 8 },
    };

    private static byte[] ExportBytes(Network network) =>
        OnnxExporter.Export(network, [new("network", network.Name)]).ToByteArray();

    private static (double Error, float[] Ours, float[] Theirs) Compare(Network network, byte[] model, float[] nchw, int n)
    {
        int r = network.Resolution;
        var ours = ExportFixtures.EngineLogits(network, ExportFixtures.NchwToNhwc(nchw, n, 3, r, r), n, r);
        using var session = ExportFixtures.StrictSession(model);
        var theirs = ExportFixtures.OnnxLogits(session, nchw, n, r);
        return (ExportFixtures.RelativeError(theirs, ours), ours, theirs);
    }

    [Theory]
    [MemberData(nameof(RegisteredNetworks.All), MemberType = typeof(RegisteredNetworks))]
    public void EveryRegisteredNetwork_RunsInOnnxRuntime_WithOurLogits(string name)
    {
        var network = ExportFixtures.Build(name, Small(name));
        // Batch 3: the batch dimension is symbolic, not the 1 a fixed export would have.
        var input = ExportFixtures.RandomNchw(3, network.Resolution, seed: 7);

        var (error, ours, _) = Compare(network, ExportBytes(network), input, 3);

        Assert.Equal(3 * network.Classes, ours.Length);
        Assert.True(error <= Tolerance, $"{name}: ONNX Runtime's logits differ from ours by {error:E2} (relative), more than {Tolerance:E0}");
        Assert.True(ours.Max() - ours.Min() > 1e-3, $"{name}: the logits are (nearly) constant, which would make the comparison empty");
    }

    public static TheoryData<string, string> Variants => new()
    {
        { "igcv3-d", "imagenet" },
        { "igcv3-d", "g1=4,g2=2,output-permutation" },
        { "mobilenetv2", "imagenet" },
        { "igcv2", "l=4" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void NetworkVariants_WithOtherPermutationsAndTheImageNetLayout_MatchToo(string name, string variant)
    {
        var options = variant switch
        {
            "imagenet" => new NetworkOptions { WidthMultiplier = 0.25, Input = InputKind.ImageNet, Classes = 5 },
            "l=4" => new NetworkOptions { WidthMultiplier = 0.5, IgcV2Depth = 4 },
            _ => new NetworkOptions { WidthMultiplier = 0.5, G1 = 4, G2 = 2, OutputPermutation = true, Arithmetic = WidthArithmetic.Clean },
        };
        var network = ExportFixtures.Build(name, options);
        var input = ExportFixtures.RandomNchw(2, network.Resolution, seed: 11);

        var (error, _, _) = Compare(network, ExportBytes(network), input, 2);

        Assert.True(error <= Tolerance, $"{name} {variant}: relative error {error:E2}");
    }

    [Fact]
    public void Igcv3Graph_FoldsEveryBatchNorm_GroupsItsConvs_AndPermutesByReshapeTransposeReshape()
    {
        var network = ExportFixtures.Build("igcv3-d", Small("igcv3-d"));
        var model = OnnxExporter.Export(network, [new("network", "igcv3-d")]);
        var nodes = model.Graph.Node;
        long Group(Onnx.NodeProto n) => n.Attribute.Single(a => a.Name == "group").I;
        int blocks = network.NamedModules().Count(m => m.Module is Igcv3Block);

        Assert.Equal(17, model.OpsetImport.Single().Version);
        Assert.Equal("batch", model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam);
        Assert.DoesNotContain(nodes, n => n.OpType == "BatchNormalization");
        Assert.All(nodes.Where(n => n.Name.EndsWith(".expand", StringComparison.Ordinal)), n => Assert.Equal(2, Group(n)));
        Assert.All(nodes.Where(n => n.Name.EndsWith(".dw", StringComparison.Ordinal)),
            n => Assert.Equal(model.Graph.Initializer.Single(t => t.Name == n.Input[1]).Dims[0], Group(n)));
        // Each block's expand permutation P(G1): Reshape [0, 2, E/2, H, W] → Transpose → Reshape [0, E, H, W].
        var transposes = nodes.Where(n => n.OpType == "Transpose").ToList();
        Assert.Equal(blocks, transposes.Count);
        foreach (var t in transposes)
        {
            Assert.Equal([0L, 2, 1, 3, 4], t.Attribute.Single(a => a.Name == "perm").Ints);
            Assert.Equal("Reshape", nodes.Single(n => n.Output.Contains(t.Input[0])).OpType);
            Assert.Equal("Reshape", nodes.Single(n => n.Input.Contains(t.Output[0])).OpType);
        }
    }

    /// <summary>The logits comparison is what proves the permutations right; this shows it would
    /// catch a wrong one: the same export with each P(G) replaced by its inverse P(C/G) (the
    /// Reshape's G and C/G swapped) no longer matches.</summary>
    [Theory]
    [InlineData("igcv3-d")]
    [InlineData("plain-igc")]
    public void AnInvertedPermutation_WouldFailTheComparison(string name)
    {
        var network = ExportFixtures.Build(name, Small(name));
        var input = ExportFixtures.RandomNchw(2, network.Resolution, seed: 3);
        var model = OnnxExporter.Export(network, []);
        int swapped = 0;
        foreach (var shape in model.Graph.Initializer.Where(t => t.Name.EndsWith(".split_shape", StringComparison.Ordinal)))
        {
            if (shape.Int64Data[1] == shape.Int64Data[2]) continue;
            (shape.Int64Data[1], shape.Int64Data[2]) = (shape.Int64Data[2], shape.Int64Data[1]);
            swapped++;
        }

        var (right, _, _) = Compare(network, ExportBytes(network), input, 2);
        var (wrong, _, _) = Compare(network, model.ToByteArray(), input, 2);

        Assert.True(swapped > 0, "no permutation to invert");
        Assert.True(right <= Tolerance, $"the export itself differs by {right:E2}");
        Assert.True(wrong > 100 * Tolerance, $"inverted permutations still match ({wrong:E2}): the comparison could not tell");
    }

    [Fact]
    public void RealCifarImages_GiveTheSameLogits()
    {
        string? folder = SharedCifarTests.FindSharedCifar10();
        if (folder is null) Assert.Skip("the shared CIFAR-10 copy (../shared/data/cifar10 beside the repository) is not on this machine");
        var test = CifarReader.Load(CifarLayout.Cifar10, folder, DataSplit.Test, maxImages: 4);
        var images = new float[4 * 32 * 32 * 3];
        // The eval transform our evaluation applies: CHW bytes → NHWC, CIFAR-10 normalisation.
        BatchAssembler.Fill(test, [0, 1, 2, 3], new SampleTransform[4], ChannelNormalization.Cifar10, images, new int[4]);
        var nchw = ExportFixtures.NhwcToNchw(images, 4, 3, 32, 32);

        foreach (string name in new[] { "igcv3-d", "plain-igc" })
        {
            var network = ExportFixtures.Build(name, Small(name));
            var (error, _, _) = Compare(network, ExportBytes(network), nchw, 4);
            Assert.True(error <= Tolerance, $"{name} on CIFAR-10 test images: relative error {error:E2}");
        }
    }
}
