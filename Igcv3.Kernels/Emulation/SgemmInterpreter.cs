using static Igcv3.Kernels.Interop;

namespace Igcv3.Kernels.Emulation;

/// <summary>The floats at a device address, bounds-checked against the block they lie in (the
/// view throws when <paramref name="count"/> floats run past its end).</summary>
internal delegate Span<float> DeviceFloats(ulong address, long count);

/// <summary>
/// cuBLAS's SGEMMs for queues without a GPU (the recording queue's and the emulated device's):
/// a naive column-major loop in double written from the BLAS definition, with the leading-dimension
/// rules cuBLAS enforces asserted, and every matrix read through a bounds-checked view, so a
/// launcher that hands cuBLAS a wrong shape, stride or pointer fails here as it would fail (or
/// silently read garbage) on a GPU.
/// </summary>
internal static class SgemmInterpreter
{
    /// <summary>C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C, column-major: A(i, l) = a[i + l·lda]
    /// (op N) or a[l + i·lda] (op T); C is not read when beta = 0.</summary>
    public static void Sgemm(DeviceFloats floats, Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
    {
        bool ta = transA == Cublas.Operation.T, tb = transB == Cublas.Operation.T;
        if (m <= 0 || n <= 0 || k <= 0) throw new InvalidOperationException($"sgemm: m {m}, n {n}, k {k}");
        // The BLAS rules: lda >= rows of A as stored, ldb likewise, ldc >= m (else CUBLAS_STATUS_INVALID_VALUE).
        if (lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) throw new InvalidOperationException($"sgemm: leading dimensions {lda}, {ldb}, {ldc} too small for m {m}, n {n}, k {k}");
        var sa = floats(a, (long)lda * ((ta ? m : k) - 1) + (ta ? k : m)).ToArray();
        var sb = floats(b, (long)ldb * ((tb ? k : n) - 1) + (tb ? n : k)).ToArray();
        var sc = floats(c, (long)ldc * (n - 1) + m);
        var column = new double[m];
        for (int j = 0; j < n; j++)
        {
            Array.Clear(column);
            for (int l = 0; l < k; l++)
            {
                double bl = tb ? sb[j + l * ldb] : sb[l + j * ldb];
                if (ta)
                {
                    for (int i = 0; i < m; i++) column[i] += sa[l + i * lda] * bl;
                }
                else
                {
                    int at = l * lda;
                    for (int i = 0; i < m; i++) column[i] += sa[at + i] * bl;
                }
            }
            for (int i = 0; i < m; i++) sc[i + j * ldc] = (float)(alpha * column[i] + (beta == 0 ? 0 : beta * (double)sc[i + j * ldc]));
        }
    }

    /// <summary>Batch i is <see cref="Sgemm"/> at a + i·strideA, b + i·strideB, c + i·strideC;
    /// the batches' C matrices must not share an element (cuBLAS leaves that undefined).</summary>
    public static void SgemmStridedBatched(DeviceFloats floats, Cublas.Operation transA, Cublas.Operation transB, int m, int n, int k,
        float alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batchCount)
    {
        var written = new HashSet<ulong>();
        for (int i = 0; i < batchCount; i++)
        {
            ulong ci = c + (ulong)(i * strideC * sizeof(float));
            for (int j = 0; j < n; j++)
            {
                for (int r = 0; r < m; r++)
                {
                    if (!written.Add(ci + (ulong)((r + (long)j * ldc) * sizeof(float)))) throw new InvalidOperationException($"sgemm batched: batch {i} writes C({r}, {j}) of an earlier batch");
                }
            }
            Sgemm(floats, transA, transB, m, n, k, alpha, a + (ulong)(i * strideA * sizeof(float)), lda, b + (ulong)(i * strideB * sizeof(float)), ldb, beta, ci, ldc);
        }
    }
}
