using Google.Protobuf;
using Igcv3.Networks;
using Igcv3.Tests.Support;
using Igcv3.Train.Export;
using Xunit;

namespace Igcv3.Tests.Export;

/// <summary>
/// ONNX's own checker (the onnx package's check_model with full_check: node schemas against opset
/// 17, wiring, strict shape inference) accepts every registered network's export. Skipped where no
/// python3 imports onnx (Debian's python3-onnx, installed by .ci/install-onnx.sh); fails instead
/// under IGCV3_REQUIRE_TORCH=1, which .ci/run sets once the Python checks are installed.
/// </summary>
public sealed class OnnxCheckerTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void EveryRegisteredNetworksExport_PassesOnnxsFullCheck()
    {
        string folder = BenchPython.ScriptFolder();
        string python = BenchPython.InterpreterWith("onnx");
        var files = new List<string>();
        foreach (string name in NetworkRegistry.Names)
        {
            var network = ExportFixtures.Build(name, OnnxExportTests.Small(name));
            string file = _temp.File($"{name}.onnx");
            File.WriteAllBytes(file, OnnxExporter.Export(network, [new("network", name)]).ToByteArray());
            files.Add(file);
        }

        var (code, output) = BenchPython.Run(python, folder, ["onnx_check.py", .. files]);

        Assert.True(code == 0, output);
        Assert.Equal(files.Count, output.Split('\n').Count(l => l.Contains("checker: ok (IR 8, opset 17", StringComparison.Ordinal)));
    }
}
