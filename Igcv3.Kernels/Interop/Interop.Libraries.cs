namespace Igcv3.Kernels;

internal static partial class Interop
{
    /// <summary>
    /// Logical library names used in every [LibraryImport] of this assembly. They are not file
    /// names: <see cref="NativeLibraries"/> maps each to the first file its probe finds (a CUDA
    /// toolkit, a pip wheel, the default loader path), so one build runs against CUDA 11.2 to 13.
    /// The names are chosen so that the runtime's own fallback probing never finds a file.
    /// </summary>
    internal static class Libraries
    {
        internal const string CudaDriver = "igcv3-cuda-driver";
        internal const string Nvrtc = "igcv3-nvrtc";
        internal const string Cublas = "igcv3-cublas";
        internal const string Nccl = "igcv3-nccl";
    }
}
