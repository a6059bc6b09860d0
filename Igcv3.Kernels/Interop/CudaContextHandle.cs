using System.Runtime.InteropServices;
using static Igcv3.Kernels.Interop.CudaDriver;

namespace Igcv3.Kernels;

/// <summary>
/// A retained primary context of one device. The primary context is the one the CUDA runtime and
/// cuBLAS use too, so everything shares one address space. Every resource created in it holds a
/// reference (DangerousAddRef) until it is released, so the context outlives them even when
/// finalizers run in arbitrary order.
/// </summary>
internal sealed class CudaContextHandle : SafeHandle
{
    CudaContextHandle(int device) : base(0, ownsHandle: true)
    {
        Device = device;
    }

    /// <summary>The CUdevice whose primary context this is.</summary>
    public int Device { get; }

    public override bool IsInvalid => handle == 0;

    public static CudaContextHandle RetainPrimary(int device)
    {
        var context = new CudaContextHandle(device);
        context.SetHandle(PrimaryContextRetain(device));
        return context;
    }

    /// <summary>Makes this context current on the calling thread (CUDA contexts are per thread).</summary>
    public void MakeCurrent() => SetCurrentContext(this);

    protected override bool ReleaseHandle() => PrimaryContextRelease(Device) is CuResult.Success or CuResult.Deinitialized;
}

/// <summary>
/// Base of the handles owned by a context (memory, streams, events, modules, cuBLAS): holds a
/// reference on the context, makes it current before creating and before releasing (the
/// finalizer thread has no current context), and never throws from its release. A release that
/// finds the driver already shut down (process exit) counts as done.
/// </summary>
internal abstract class ContextBoundHandle : SafeHandle
{
    protected ContextBoundHandle(CudaContextHandle context, Func<nint> create) : base(0, ownsHandle: true)
    {
        Context = context;
        bool added = false;
        context.DangerousAddRef(ref added);
        try
        {
            context.MakeCurrent();
            SetHandle(create());
        }
        catch
        {
            // An invalid handle is never released, so the context reference is returned here.
            context.DangerousRelease();
            SetHandleAsInvalid();
            throw;
        }
    }

    public CudaContextHandle Context { get; }

    public override bool IsInvalid => handle == 0;

    protected sealed override bool ReleaseHandle()
    {
        try
        {
            var current = TrySetCurrentContext(Context.DangerousGetHandle());
            if (current == CuResult.Deinitialized) return true;
            return Release(handle);
        }
        finally
        {
            Context.DangerousRelease();
        }
    }

    /// <summary>Frees the native resource; returns whether that worked instead of throwing.</summary>
    protected abstract bool Release(nint handle);

    /// <summary>Success, or a driver already shut down (process exit), which freed everything.</summary>
    protected static bool Released(CuResult status) => status is CuResult.Success or CuResult.Deinitialized;
}
