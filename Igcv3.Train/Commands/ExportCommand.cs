using System.CommandLine;
using Google.Protobuf;
using Igcv3.Engine.Checkpoints;
using Igcv3.Engine.Cpu;
using Igcv3.Engine.IO;
using Igcv3.Train.Export;
using Igcv3.Train.Training;

namespace Igcv3.Train.Commands;

/// <summary><c>export</c>: a checkpoint's network, in eval mode, as a file another tool runs or loads:
/// an ONNX model, or (MobileNetV2) a PyTorch state_dict under torchvision's names. The file is written atomically: a failed export leaves no file, and an existing
/// file at --output stays intact.</summary>
public static class ExportCommand
{
    public static readonly string[] Formats = ["onnx", "pytorch-safetensors"];

    public static Command Create(CliEnvironment env)
    {
        var settings = new SettingOptions([.. SettingOptions.NetworkKeys, "dataset", "data-dir"]);
        var config = new Option<string>("--config") { Description = "JSON config file, for a checkpoint saved without its settings." };
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint to export, or a run folder (its best.safetensors).", Required = true };
        var format = new Option<string>("--format") { Description = $"What to write: {string.Join(" or ", Formats)}.", DefaultValueFactory = _ => "onnx" };
        var output = new Option<string>("--output") { Description = "The file to write.", Required = true };
        var command = new Command("export", "Export a trained network (eval mode) as an ONNX model, or MobileNetV2 weights for torchvision.");
        foreach (var option in settings.All) command.Add(option);
        command.Add(config);
        command.Add(checkpoint);
        command.Add(format);
        command.Add(output);
        command.SetAction(result => Cli.Guard(env, () => Run(env, settings.Given(result), result.GetValue(config),
            result.GetValue(checkpoint)!, result.GetValue(format)!, result.GetValue(output)!)));
        return command;
    }

    public static int Run(CliEnvironment env, System.Text.Json.Nodes.JsonObject cli, string? configPath, string checkpointPath, string format, string output)
    {
        string kind = format.Trim().ToLowerInvariant();
        if (!Formats.Contains(kind)) throw new UsageException($"--format {format}: unknown format; choose one of {string.Join(", ", Formats)}");
        if (Directory.Exists(output)) throw new UsageException($"--output {output} is a folder; give the file to write, e.g. {Path.Combine(output, "model.onnx")}");

        string checkpoint = TrainedModel.Resolve(checkpointPath);
        var s = TrainedModel.SettingsOf(checkpoint, cli, configPath);
        var model = TrainedModel.Load(checkpoint, s, CpuBackend.Instance);
        var metadata = ExportMetadata.Of(model, DatasetLoader.Normalization(s), DatasetLoader.ClassNames(s, env.CifarLayouts));
        model.Network.Eval();
        if (kind == "onnx")
        {
            var onnx = OnnxExporter.Export(model.Network, metadata);
            Write(output, stream => onnx.WriteTo(stream));
            env.Out.WriteLine($"{checkpoint}: {s.NetworkLabel} ({model.Parameters.Count:N0} parameters) written to {output} as ONNX (opset {OnnxGraph.OpsetVersion}, " +
                              $"{onnx.Graph.Node.Count} nodes, batch norms folded), input NCHW [batch, 3, {model.Network.Resolution}, {model.Network.Resolution}] normalised with mean {metadata["mean"]}, std {metadata["std"]}");
        }
        else
        {
            List<SafeTensor> tensors;
            try
            {
                tensors = TorchvisionMobileNetV2.StateDict(model.Network);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(ModelBuilder.UserMessage(e), e);
            }
            // safetensors.torch's own files say "format": "pt".
            Write(output, stream => SafeTensorsWriter.Write(stream, tensors, new Dictionary<string, string>(metadata) { ["format"] = "pt" }));
            env.Out.WriteLine($"{checkpoint}: {s.NetworkLabel} written to {output} as a torchvision mobilenet_v2 state_dict ({tensors.Count} tensors, OIHW float32): " +
                              $"torchvision.models.mobilenet_v2(num_classes={model.Network.Classes}, width_mult={metadata["width_multiplier"]}).load_state_dict(...)" +
                              (model.Network.Input == Igcv3.Networks.InputKind.Cifar ? "; CIFAR variant: set the stride of features[0][0] and features[2].conv[1][0] to 1" : ""));
        }
        return ExitCodes.Ok;
    }

    private static void Write(string path, Action<Stream> write)
    {
        try
        {
            AtomicFile.Write(path, write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputFolderException($"cannot write --output {path}: {e.Message}; choose another path", e);
        }
    }
}
