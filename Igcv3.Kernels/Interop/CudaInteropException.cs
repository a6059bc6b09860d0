namespace Igcv3.Kernels;

/// <summary>
/// A failed call into a CUDA library. The message names the call (the source text of the
/// failing expression, captured by each library's ThrowIfFailed) and the status by name, so a
/// log line alone says what failed and how.
/// </summary>
public abstract class CudaInteropException : Exception
{
    private protected CudaInteropException(string call, int code, string codeName, string? description, string? detail)
        : base(FormatMessage(call, code, codeName, description, detail))
    {
        Call = call;
        Code = code;
        CodeName = codeName;
    }

    /// <summary>The failing call as written at the call site, for example "cuMemAlloc_v2(out var ptr, bytes)".</summary>
    public string Call { get; }

    /// <summary>The library's numeric status.</summary>
    public int Code { get; }

    /// <summary>The status's name, for example "CUDA_ERROR_OUT_OF_MEMORY".</summary>
    public string CodeName { get; }

    static string FormatMessage(string call, int code, string codeName, string? description, string? detail)
    {
        var message = $"{call} failed with {codeName} ({code})";
        if (!string.IsNullOrWhiteSpace(description) && description != codeName) message += $": {description}";
        if (!string.IsNullOrWhiteSpace(detail)) message += $"\n{detail.TrimEnd()}";
        return message;
    }
}

/// <summary>A CUDA driver API call returned a CUresult other than CUDA_SUCCESS.</summary>
public sealed class CudaException : CudaInteropException
{
    internal CudaException(string call, int code, string codeName, string? description, string? detail = null)
        : base(call, code, codeName, description, detail) { }
}

/// <summary>An NVRTC call failed; for a compilation, <see cref="Log"/> holds the compiler's log
/// and the message includes it.</summary>
public sealed class NvrtcException : CudaInteropException
{
    internal NvrtcException(string call, int code, string codeName, string? detail = null, string log = "")
        : base(call, code, codeName, null, detail)
    {
        Log = log;
    }

    public string Log { get; }
}

/// <summary>A cuBLAS call returned a status other than CUBLAS_STATUS_SUCCESS.</summary>
public sealed class CublasException : CudaInteropException
{
    internal CublasException(string call, int code, string codeName)
        : base(call, code, codeName, null, null) { }
}

/// <summary>An NCCL call returned an ncclResult_t other than ncclSuccess.</summary>
public sealed class NcclException : CudaInteropException
{
    internal NcclException(string call, int code, string codeName, string? description)
        : base(call, code, codeName, description, null) { }
}
