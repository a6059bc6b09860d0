using Igcv3.Train.Settings;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

/// <summary>The shipped recipes (Igcv3.Train/configs): each loads, passes validation and builds its
/// network and schedule; the ImageNet ones build the released networks and keep their papers' numbers.</summary>
public class RecipeTests
{
    private static RunSettings Load(string name) =>
        SettingsLoader.Merge(("recipe", SettingsLoader.ReadConfigFile(Path.Combine(SettingsLoader.ShippedConfigFolder, name + ".json"))));

    public static TheoryData<string> Recipes() =>
        [.. Directory.GetFiles(SettingsLoader.ShippedConfigFolder, "*.json").Select(Path.GetFileNameWithoutExtension).Order().OfType<string>()];

    [Theory]
    [MemberData(nameof(Recipes))]
    public void EveryRecipe_Validates_AndBuildsItsNetworkAndSchedule(string name)
    {
        var s = Load(name);
        SettingsValidation.Validate(s);
        var network = ModelBuilder.Network(s, DatasetLoader.ClassCount(s.Dataset));
        Assert.Equal(s.Dataset == "imagenet" ? 224 : 32, network.Resolution);
        Assert.True(ModelBuilder.Schedule(s).LearningRate(0, 0, 100) > 0);
    }

    [Theory]
    [InlineData("igcv3-d-1.0x-imagenet", 3_491_688)]
    [InlineData("igcv3-d-1.0x-imagenet-cosine-short", 3_491_688)]
    [InlineData("mobilenetv2-1.0x-imagenet-torchvision", 3_504_872)]
    [InlineData("igcv1-resnet-igc-imagenet-d18-l100", 8_637_900)]
    public void ImageNetRecipes_BuildTheReleasedNetworks(string name, long parameters)
    {
        var s = Load(name);
        Assert.Equal("imagenet", s.Dataset);
        Assert.Equal(parameters, ModelBuilder.Network(s, 1000).ParameterCount());
    }

    [Fact]
    public void OfficialIgcv3Recipe_IsTheOfficialOneScaledLinearlyToItsBatch()
    {
        var s = Load("igcv3-d-1.0x-imagenet");
        // 0.045 for 8 GPUs x 96 images.
        Assert.Equal(0.045, s.Lr * 768 / s.BatchSize, 12);
        Assert.Equal((480, 0.98, 4e-5, 0.9, "exponential"), (s.Epochs, s.Gamma, s.WeightDecay, s.Momentum, s.Schedule));
    }

    [Fact]
    public void ShortRecipe_UsesLabelSmoothing_AndNoDecayOnBnAndBiases()
    {
        var s = Load("igcv3-d-1.0x-imagenet-cosine-short");
        Assert.Equal((0.1, true, "cosine"), (s.LabelSmoothing, s.NoDecayBnBias, s.Schedule));
        Assert.True(s.WarmupEpochs > 0);
    }
}
