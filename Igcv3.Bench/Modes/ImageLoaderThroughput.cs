using System.Diagnostics;
using System.Globalization;
using System.Text;
using Igcv3.Train.Data;
using Igcv3.Train.Data.Images;
using SkiaSharp;

namespace Igcv3.Bench.Modes;

/// <summary>
/// The ImageNet input pipeline alone: images/s that <see cref="ImageBatchLoader"/> delivers with
/// the training transform (RandomResizedCrop 224 + flip) and the evaluation transform (resize 256
/// + centre crop 224), normalised into float batches, on a folder of ImageNet-like JPEGs (made once
/// by this mode: about 500x375, quality 90, in 10 class folders), and in the same run torchvision's
/// ImageFolder + DataLoader with the same transforms and worker count (Igcv3.Bench/pytorch/torchvision_loader.py),
/// where a python3 imports torchvision. Each figure is the fastest of the epochs (the first warms the page cache).
/// </summary>
public static class ImageLoaderThroughput
{
    /// <summary>Runs the comparison; <paramref name="size"/> is the images' typical size (500x375 as ImageNet's; larger to see the draft decode at work).</summary>
    public static int Run(string folder, int images, int workers, int batch, int epochs, string? outFile, TextWriter log, (int Width, int Height)? size = null)
    {
        var (width, height) = size ?? (500, 375);
        Generate(folder, images, width, height, log);
        var source = ImageFolderSource.Open(folder, "bench");
        var report = new StringBuilder();
        void Line(string text)
        {
            log.WriteLine(text);
            report.AppendLine(text);
        }
        Line(string.Create(CultureInfo.InvariantCulture,
            $"image-loader: {source.Count} JPEGs (~{width}x{height}, q90) in {folder}, {workers} workers, batch {batch}, best of {epochs} epochs, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        Line(ImageDecoder.FastJpeg
            ? "JPEG decoder: the system's libjpeg-turbo (libturbojpeg0, SIMD); ours (draft) may decode a large JPEG at 1/2, 1/4, 1/8, ours (exact) never does"
            : "JPEG decoder: SkiaSharp's libjpeg-turbo (no SIMD on x64; install libturbojpeg0 for the fast one); ours (draft) may decode reduced, ours (exact) never does");
        Line(Breakdown(source, Math.Min(100, source.Count)));
        string? python = FindTorchvision();
        foreach (string mode in new[] { "train", "eval" })
        {
            IImageTransform transform = mode == "train" ? new TrainTransform() : new EvalTransform();
            // Images/s (the fastest epoch) and CPU milliseconds per image (the least of an epoch: the process's, all threads).
            (double Rate, double CpuMs) Ours(bool draft)
            {
                var loader = new ImageBatchLoader(source, batch, transform, ChannelNormalization.ImageNet, shuffle: mode == "train", dropLast: false, seed: 1, workers, jpegDraft: draft);
                double best = double.MaxValue, bestCpu = double.MaxValue;
                for (int epoch = 0; epoch < epochs; epoch++)
                {
                    var process = Process.GetCurrentProcess();
                    var cpuStart = process.TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    long count = loader.Epoch(epoch).Sum(b => (long)b.Count);
                    process.Refresh();
                    double cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
                    best = Math.Min(best, clock.Elapsed.TotalSeconds);
                    bestCpu = Math.Min(bestCpu, cpu);
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours ({(draft ? "draft" : "exact")}) {mode} epoch {epoch}: {count} images in {clock.Elapsed.TotalSeconds:F2} s, CPU {cpu:F2} s"));
                }
                return (source.Count / best, 1000 * bestCpu / source.Count);
            }
            var (exact, exactCpu) = Ours(draft: false);
            var (ours, oursCpu) = Ours(draft: true);
            string theirs = "torchvision: not run (no python3 imports torchvision; install python3-torchvision)";
            if (python is not null)
            {
                var (imagesPerSecond, cpuMs, output) = Torchvision(python, folder, mode, workers, batch, epochs);
                log.Write(output);
                theirs = imagesPerSecond is { } rate
                    ? string.Create(CultureInfo.InvariantCulture, $"torchvision {rate,6:F0} images/s ({rate / workers,5:F0} per worker); ours / torchvision = {ours / rate:F2} (draft), {exact / rate:F2} (exact)")
                      + (cpuMs is { } theirCpu
                          ? string.Create(CultureInfo.InvariantCulture, $"\n       CPU per image: ours {oursCpu:F2} ms (draft), {exactCpu:F2} ms (exact), torchvision {theirCpu:F2} ms; images/s per core, ours / torchvision = {theirCpu / oursCpu:F2} (draft), {theirCpu / exactCpu:F2} (exact)")
                          : "")
                    : "torchvision: failed (output above)";
            }
            Line(string.Create(CultureInfo.InvariantCulture,
                $"{mode,-5}: ours (draft) {ours,6:F0} images/s ({ours / workers,5:F0} per worker), ours (exact) {exact,6:F0} ({exact / workers,5:F0}) | {theirs}"));
        }
        if (outFile is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
            File.WriteAllText(outFile, report.ToString());
            log.WriteLine($"written {outFile}");
        }
        return 0;
    }

    /// <summary>
    /// One thread, the first <paramref name="count"/> images: milliseconds per image for reading +
    /// decoding, and for each transform after it, each the best of three rounds, wall clock and the
    /// process's CPU time (on a shared host the CPU time is the steadier of the two).
    /// </summary>
    private static string Breakdown(IImageSource source, int count)
    {
        var images = new RgbImage[count];
        var output = new float[224 * 224 * 3];
        (double Wall, double Cpu) Best(Action<int> work)
        {
            double wall = double.MaxValue, cpu = double.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                var process = Process.GetCurrentProcess();
                var cpuStart = process.TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < count; i++) work(i);
                wall = Math.Min(wall, watch.Elapsed.TotalMilliseconds / count);
                process.Refresh();
                cpu = Math.Min(cpu, (process.TotalProcessorTime - cpuStart).TotalMilliseconds / count);
            }
            return (wall, cpu);
        }
        var decode = Best(i => images[i] = ImageDecoder.Decode(source.Read(i), source.Describe(i)));
        IImageTransform train = new TrainTransform(), eval = new EvalTransform();
        var trainTime = Best(i => train.Write(DecodedImage.Full(images[i]), new Random(i), ChannelNormalization.ImageNet, output));
        var evalTime = Best(i => eval.Write(DecodedImage.Full(images[i]), new Random(i), ChannelNormalization.ImageNet, output));
        return string.Create(CultureInfo.InvariantCulture,
            $"one thread, per image, wall (CPU): read + decode {decode.Wall:F2} ({decode.Cpu:F2}) ms at full size, train transform {trainTime.Wall:F2} ({trainTime.Cpu:F2}) ms, eval transform {evalTime.Wall:F2} ({evalTime.Cpu:F2}) ms ({images.Average(im => im.Width):F0}x{images.Average(im => im.Height):F0} on average)");
    }

    /// <summary>Makes <paramref name="count"/> JPEGs once: smooth colour fields with noise and edges, so that they compress as photos do (~60-120 KB at 500x375).</summary>
    private static void Generate(string folder, int count, int baseWidth, int baseHeight, TextWriter log)
    {
        string marker = Path.Combine(folder, $".made-{count}-{baseWidth}x{baseHeight}");
        if (File.Exists(marker)) return;
        log.WriteLine($"making {count} JPEGs in {folder} (once)...");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Parallel.For(0, count, i =>
        {
            var random = new Random(i);
            // Sizes spread as 500 +- 60 by 375 +- 50, scaled to the size asked.
            int dw = baseWidth * 60 / 500, dh = baseHeight * 50 / 375;
            int width = baseWidth + random.Next(-dw, dw + 1), height = baseHeight + random.Next(-dh, dh + 1);
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = new byte[width * height * 4];
            double fx = random.NextDouble() * 0.05, fy = random.NextDouble() * 0.05, phase = random.NextDouble() * 6;
            int edge = random.Next(width);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 4;
                double shade = 0.5 + 0.5 * Math.Sin(fx * x + fy * y + phase);
                int noise = random.Next(-24, 25);
                pixels[p] = (byte)Math.Clamp((x < edge ? 200 : 60) * shade + noise, 0, 255);
                pixels[p + 1] = (byte)Math.Clamp(255 * shade * y / height + noise, 0, 255);
                pixels[p + 2] = (byte)Math.Clamp(255 * (1 - shade) + noise, 0, 255);
                pixels[p + 3] = 255;
            }
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            string classFolder = Path.Combine(folder, $"n{i % 10:D8}");
            Directory.CreateDirectory(classFolder);
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(Path.Combine(classFolder, $"img_{i:D5}.JPEG"), data.ToArray());
        });
        File.WriteAllText(marker, "");
    }

    private static string? FindTorchvision()
    {
        foreach (string python in new[] { "python3", "/usr/bin/python3" })
        {
            var (code, _) = RunPython(python, "-c", "import torchvision");
            if (code == 0) return python;
        }
        return null;
    }

    /// <summary>torchvision's images/s (fastest epoch), and its CPU milliseconds per image (least of an epoch, workers included) where the script reports them.</summary>
    private static (double? ImagesPerSecond, double? CpuMs, string Output) Torchvision(string python, string folder, string mode, int workers, int batch, int epochs)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "pytorch", "torchvision_loader.py");
        var (code, output) = RunPython(python, script, folder, mode, workers.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture), epochs.ToString(CultureInfo.InvariantCulture));
        var result = output.Split('\n').LastOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal))?.Split(' ');
        if (code != 0 || result is null) return (null, null, output);
        double images = double.Parse(result[2], CultureInfo.InvariantCulture);
        double? cpuMs = result.Length > 4 ? 1000 * double.Parse(result[4], CultureInfo.InvariantCulture) / images : null;
        return (images / double.Parse(result[3], CultureInfo.InvariantCulture), cpuMs, output);
    }

    private static (int Code, string Output) RunPython(string python, params string[] args)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
