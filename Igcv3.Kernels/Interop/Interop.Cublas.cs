using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Igcv3.Kernels;

internal static partial class Interop
{
    /// <summary>
    /// cuBLAS v2 (cublas_api.h), the GEMMs the engine hands off. Column-major, as BLAS is: a
    /// row-major C = A·B is computed as the column-major Cᵀ = Bᵀ·Aᵀ by swapping the operands.
    /// Scalars (alpha, beta) are host pointers (the default CUBLAS_POINTER_MODE_HOST).
    /// </summary>
    internal static unsafe partial class Cublas
    {
        static Cublas() => NativeLibraries.EnsureResolver();

        /// <summary>cublasOperation_t.</summary>
        internal enum Operation { N = 0, T = 1, C = 2 }

        /// <summary>cublasMath_t. TF32 tensor-op math is opt-in: by default FP32 GEMMs stay IEEE.</summary>
        internal enum MathMode { Default = 0, Pedantic = 2, Tf32TensorOp = 3 }

        /// <summary>cudaDataType_t (library_types.h), the element types used here.</summary>
        internal enum DataType { R32F = 0, R64F = 1, R16F = 2, R16BF = 14 }

        /// <summary>cublasComputeType_t (CUDA 11 and later).</summary>
        internal enum ComputeType { Compute32F = 68, Compute32FPedantic = 69, Compute32FFastTf32 = 77 }

        /// <summary>cublasGemmAlgo_t: let cuBLAS choose.</summary>
        internal const int GemmDefault = -1;

        /// <summary>cublasStatus_t by value.</summary>
        static readonly Dictionary<int, string> StatusNames = new()
        {
            [0] = "CUBLAS_STATUS_SUCCESS",
            [1] = "CUBLAS_STATUS_NOT_INITIALIZED",
            [3] = "CUBLAS_STATUS_ALLOC_FAILED",
            [7] = "CUBLAS_STATUS_INVALID_VALUE",
            [8] = "CUBLAS_STATUS_ARCH_MISMATCH",
            [11] = "CUBLAS_STATUS_MAPPING_ERROR",
            [13] = "CUBLAS_STATUS_EXECUTION_FAILED",
            [14] = "CUBLAS_STATUS_INTERNAL_ERROR",
            [15] = "CUBLAS_STATUS_NOT_SUPPORTED",
            [16] = "CUBLAS_STATUS_LICENSE_ERROR",
        };

        internal static string StatusName(int status) => StatusNames.TryGetValue(status, out var name) ? name : $"cublasStatus_t {status}";

        /// <summary>Throws a <see cref="CublasException"/> naming <paramref name="call"/> and the status.</summary>
        internal static void ThrowIfFailed(int status, [CallerArgumentExpression(nameof(status))] string? call = null)
        {
            if (status != 0) throw new CublasException(call ?? "cuBLAS call", status, StatusName(status));
        }

        internal static nint Create()
        {
            NativeLibraries.Require(Libraries.Cublas);
            ThrowIfFailed(cublasCreate_v2(out nint handle));
            return handle;
        }

        internal static int Destroy(nint handle) => cublasDestroy_v2(handle);

        internal static void SetStream(CublasHandle handle, CudaStreamHandle stream) => ThrowIfFailed(cublasSetStream_v2(handle, stream));

        internal static void SetMathMode(CublasHandle handle, MathMode mode) => ThrowIfFailed(cublasSetMathMode(handle, mode));

        /// <summary>cublasSetWorkspace_v2 (cublas_api.h, cuBLAS 11.4 and later): the handle's scratch
        /// memory, instead of the pool cuBLAS would allocate itself (with cudaMalloc before 12.2, a
        /// call that must not happen inside a stream capture, and once per captured graph).</summary>
        internal static void SetWorkspace(CublasHandle handle, ulong workspace, long bytes) =>
            ThrowIfFailed(cublasSetWorkspace_v2(handle, workspace, checked((nuint)bytes)));

        /// <summary>cuBLAS version as major*10000 + minor*100 + patch (12.4.5 → 120405).</summary>
        internal static int GetVersion(CublasHandle handle)
        {
            ThrowIfFailed(cublasGetVersion_v2(handle, out int version));
            return version;
        }

        /// <summary>Column-major C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C, FP32.</summary>
        internal static void Sgemm(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc) =>
            ThrowIfFailed(cublasSgemm_v2(handle, transA, transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc));

        /// <summary><see cref="Sgemm"/> over <paramref name="batchCount"/> matrices at fixed element strides.</summary>
        internal static void SgemmStridedBatched(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount) =>
            ThrowIfFailed(cublasSgemmStridedBatched(handle, transA, transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB, &beta, c, ldc, strideC, batchCount));

        /// <summary>GEMM with explicit element and compute types; FP32 scalars (valid for the 32F compute types).</summary>
        internal static void GemmEx(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            float alpha, ulong a, DataType aType, int lda, ulong b, DataType bType, int ldb, float beta, ulong c, DataType cType, int ldc,
            ComputeType computeType) =>
            ThrowIfFailed(cublasGemmEx(handle, transA, transB, m, n, k, &alpha, a, aType, lda, b, bType, ldb, &beta, c, cType, ldc, computeType, GemmDefault));

        [LibraryImport(Libraries.Cublas)] private static partial int cublasCreate_v2(out nint handle);
        [LibraryImport(Libraries.Cublas)] private static partial int cublasDestroy_v2(nint handle);
        [LibraryImport(Libraries.Cublas)] private static partial int cublasSetStream_v2(CublasHandle handle, CudaStreamHandle stream);
        [LibraryImport(Libraries.Cublas)] private static partial int cublasSetMathMode(CublasHandle handle, MathMode mode);
        [LibraryImport(Libraries.Cublas)] private static partial int cublasSetWorkspace_v2(CublasHandle handle, ulong workspace, nuint workspaceSizeInBytes);
        [LibraryImport(Libraries.Cublas)] private static partial int cublasGetVersion_v2(CublasHandle handle, out int version);
        [LibraryImport(Libraries.Cublas)]
        private static partial int cublasSgemm_v2(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
        [LibraryImport(Libraries.Cublas)]
        private static partial int cublasSgemmStridedBatched(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);
        [LibraryImport(Libraries.Cublas)]
        private static partial int cublasGemmEx(CublasHandle handle, Operation transA, Operation transB, int m, int n, int k,
            void* alpha, ulong a, DataType aType, int lda, ulong b, DataType bType, int ldb, void* beta, ulong c, DataType cType, int ldc,
            ComputeType computeType, int algorithm);
    }
}

/// <summary>A cuBLAS handle (cublasCreate / cublasDestroy) bound to a context.</summary>
internal sealed class CublasHandle : ContextBoundHandle
{
    CublasHandle(CudaContextHandle context) : base(context, Interop.Cublas.Create) { }

    public static CublasHandle Create(CudaContextHandle context) => new(context);

    protected override bool Release(nint handle) => Interop.Cublas.Destroy(handle) == 0;
}
