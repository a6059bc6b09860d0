using Igcv3.Engine;

namespace Igcv3.Kernels.Cuda;

// elementwise.cu: every kernel is grid-stride with grid = max(1, min(ceil(n / 1024), 65535)).
public sealed partial class CudaBackend
{
    private static Dim3 ElementwiseGrid(long n) => new(GemmTiles.StrideGrid(n, 1024, 65535));

    /// <summary>y = a + b.</summary>
    public void Add(Tensor a, Tensor b, Tensor y)
    {
        Enter();
        if (a.Count != y.Count || b.Count != y.Count) throw new ArgumentException($"add: {a}, {b} and {y} must have one count");
        int n = CheckedCount("add", y.Count, "y");
        if (n == 0) return;
        Launch(CudaKernels.Add, ElementwiseGrid(n), F32(a), F32(b), F32(y), n); // a, b, y [n]
    }

    /// <summary>destination += source.</summary>
    public void Accumulate(Tensor source, Tensor destination)
    {
        Enter();
        if (source.Count != destination.Count) throw new ArgumentException($"accumulate {source} into {destination}: counts differ");
        int n = CheckedCount("accumulate", destination.Count, "destination");
        if (n == 0) return;
        if (destination.TakeUnwritten())
        {
            // The first gradient to arrive: a copy, 2 of the 3 passes of an accumulation.
            _queue.CopyDeviceToDevice(F32(destination).Address, F32(source).Address, (long)n * sizeof(float));
            return;
        }
        Launch(CudaKernels.Accumulate, ElementwiseGrid(n), F32(source), F32(destination), n); // src, dst [n]
    }

    /// <summary>y = act(x).</summary>
    public void ActivationForward(Activation activation, Tensor x, Tensor y)
    {
        Enter();
        if (x.Count != y.Count) throw new ArgumentException($"activation: {x} and {y} must have one count");
        int n = CheckedCount("activation", y.Count, "y");
        if (n == 0) return;
        Launch(CudaKernels.ActivationForward, ElementwiseGrid(n), F32(x), F32(y), n, ActivationCode(activation)); // x, y [n]
    }

    /// <summary>dx += dy · act'(y), the mask read off the output y.</summary>
    public void ActivationBackward(Activation activation, Tensor y, Tensor dy, Tensor dx)
    {
        Enter();
        if (y.Count != dx.Count || dy.Count != dx.Count) throw new ArgumentException($"activation backward: {y}, {dy} and {dx} must have one count");
        int n = CheckedCount("activation backward", dx.Count, "dx");
        if (n == 0) return;
        Launch(CudaKernels.ActivationBackward, ElementwiseGrid(n), F32(y), F32(dy), F32(dx), n, ActivationCode(activation), AccumulateFlag(dx)); // y, dy, dx [n]
    }

    /// <summary>The kernels' activation codes: 0 None, 1 ReLU, 2 ReLU6 (the enum's values, checked here
    /// so that a new enum member cannot silently reach a kernel as "None").</summary>
    private static int ActivationCode(Activation activation) => activation switch
    {
        Activation.None => 0,
        Activation.Relu => 1,
        Activation.Relu6 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "no CUDA kernel for this activation"),
    };
}
