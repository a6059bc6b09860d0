using Igcv3.Engine;
using Igcv3.Kernels;
using Igcv3.Train.Commands;
using Igcv3.Train.Data;
using Xunit;

namespace Igcv3.Tests.Train.Cli;

/// <summary>Runs the trainer's command line in-process with captured output, as a user would run the program.</summary>
internal static class CliRunner
{
    public sealed record Result(int Code, string Out, string Error)
    {
        public override string ToString() => $"exit {Code}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
    }

    /// <summary>A tiny CIFAR ResNet (depth 8, width 8, ~20k parameters) on the CPU: a few hundred images a second on 2 cores.</summary>
    public static readonly string[] TinyNetwork = ["--network", "resnet", "--depth", "8", "--width", "8", "--device", "cpu"];

    /// <summary>Synthetic data small enough for an epoch in well under a second.</summary>
    public static string[] TinySynthetic(int train = 128, int test = 64) =>
        ["--dataset", "synthetic", "--synthetic-train", $"{train}", "--synthetic-test", $"{test}", "--batch-size", "32", "--eval-batch-size", "64"];

    public static Result Run(params string[] args) => Run(null, default, args);

    public static Result Run(Action<long>? afterStep, CancellationToken cancellation, params string[] args) =>
        Run(Environment(afterStep, cancellation), args);

    /// <summary>A non-interactive environment writing into strings; <paramref name="layouts"/> replaces
    /// the official CIFAR releases, <paramref name="cudaBackend"/> the CUDA backend factory; <paramref
    /// name="beforeCheckpoint"/> sees each checkpoint's path before it is written.</summary>
    public static CliEnvironment Environment(Action<long>? afterStep = null, CancellationToken cancellation = default,
        Func<CifarKind, CifarLayout>? layouts = null, Func<CudaDevice, IBackend>? cudaBackend = null, TimeProvider? time = null,
        Action<string>? beforeCheckpoint = null) => new()
    {
        BeforeCheckpoint = beforeCheckpoint,
        Time = time ?? TimeProvider.System,
        CudaBackend = cudaBackend ?? Igcv3.Kernels.Cuda.CudaBackend.Create,
        Out = new StringWriter(),
        Error = new StringWriter(),
        Cancellation = cancellation,
        AfterStep = afterStep,
        Interactive = false,
        CifarLayouts = layouts ?? CifarLayout.For,
    };

    /// <summary>Runs the program in <paramref name="env"/> (made by <see cref="Environment"/>).</summary>
    public static Result Run(CliEnvironment env, params string[] args)
    {
        int code = Igcv3.Train.Commands.Cli.Run(args, env);
        return new Result(code, env.Out.ToString()!, env.Error.ToString()!);
    }

    public static Result Succeeds(params string[] args)
    {
        var result = Run(args);
        Assert.True(result.Code == 0, result.ToString());
        return result;
    }

    /// <summary>Asserts the failure contract: the exit code, ONE line on stderr starting "error:" and containing <paramref name="fragment"/>, no stack trace.</summary>
    public static Result FailsWith(int code, string fragment, params string[] args) => FailsWith(Environment(), code, fragment, args);

    /// <summary><see cref="FailsWith(int, string, string[])"/> in a given environment (made by <see cref="Environment"/>).</summary>
    public static Result FailsWith(CliEnvironment env, int code, string fragment, params string[] args)
    {
        var result = Run(env, args);
        Assert.True(result.Code == code, result.ToString());
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr\n{result}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(fragment, lines[0]);
        Assert.DoesNotContain("   at ", result.Error + result.Out);
        Assert.DoesNotContain("Exception", lines[0]);
        return result;
    }
}
