namespace Igcv3.Kernels.Cuda;

/// <summary>Why work could not be captured as a CUDA graph: a call inside it that a graph cannot
/// hold (a download, a wait, an upload from host memory, an allocation from the driver), or the
/// driver's refusal. The capture has ended when this is thrown; nothing of it ran.</summary>
public sealed class StreamCaptureException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>Work captured from a queue's stream and replayed whole: one graph launch on a GPU.</summary>
internal interface ICapturedWork : IDisposable
{
    /// <summary>Queues the captured work again, with the arguments and addresses of its capture.</summary>
    void Replay();
}

/// <summary>
/// The calls every queue refuses while it captures, with the reason the user reads in the fallback
/// line: in one place, so that the GPU, the emulated device and the test queues refuse the same
/// calls for the same reasons (the driver would refuse most of them too, with a less helpful code).
/// </summary>
internal static class StreamCapture
{
    public static StreamCaptureException Refused(string call) => new($"{call} inside the captured step: " + call switch
    {
        Download => "the host waits for the device there, which a graph cannot do (values are read after the replay)",
        Upload => "a graph would copy from the same host memory at every replay; the batch goes into the step's fixed buffers before each replay",
        Wait => "the host waits for the device there, which a graph cannot do",
        Timing => "timing waits for the device (autotuning belongs to the first, eager step)",
        _ => "not capturable",
    });

    public const string Download = "a download to the host";
    public const string Upload = "an upload from the host";
    public const string Wait = "a wait for the device";
    public const string Timing = "a timed measurement";
}
