using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Igcv3.Kernels;

internal static partial class Interop
{
    /// <summary>
    /// NCCL (nccl.h, libnccl.so.2): the collectives of data-parallel training. Names, parameter
    /// types and enum values are those of nccl.h, which <c>NcclHeaderTests</c> checks against the
    /// real header where one is installed. Pointers to device memory are CUdeviceptr values
    /// (ulong), the stream a CUstream (a cudaStream_t is the same handle).
    /// </summary>
    internal static unsafe partial class Nccl
    {
        static Nccl() => NativeLibraries.EnsureResolver();

        /// <summary>NCCL_UNIQUE_ID_BYTES.</summary>
        internal const int UniqueIdBytes = 128;

        /// <summary>ncclUniqueId: 128 opaque bytes that rank 0 makes and every rank passes to ncclCommInitRank.</summary>
        [InlineArray(UniqueIdBytes)]
        internal struct UniqueId
        {
            private byte _first;
        }

        /// <summary>ncclResult_t.</summary>
        internal enum Result
        {
            Success = 0, UnhandledCudaError = 1, SystemError = 2, InternalError = 3, InvalidArgument = 4,
            InvalidUsage = 5, RemoteError = 6, InProgress = 7,
        }

        /// <summary>ncclRedOp_t (the predefined operations).</summary>
        internal enum RedOp { Sum = 0, Prod = 1, Max = 2, Min = 3, Avg = 4 }

        /// <summary>ncclDataType_t; the aliases (ncclChar, ncclInt, ncclHalf, ncclFloat, ncclDouble) share these values.</summary>
        internal enum DataType
        {
            Int8 = 0, Uint8 = 1, Int32 = 2, Uint32 = 3, Int64 = 4, Uint64 = 5, Float16 = 6, Float32 = 7, Float64 = 8, Bfloat16 = 9,
        }

        /// <summary>The one status funnel: throws an <see cref="NcclException"/> naming the call and the result.</summary>
        internal static void ThrowIfFailed(Result result, [CallerArgumentExpression(nameof(result))] string? call = null)
        {
            if (result != Result.Success) throw new NcclException(call ?? "NCCL call", (int)result, $"nccl{result}", ErrorString(result));
        }

        internal static string? ErrorString(Result result)
        {
            try
            {
                return Marshal.PtrToStringUTF8((nint)ncclGetErrorString(result));
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>NCCL's version code: 22105 for 2.21.5 (major·10000 + minor·100 + patch since 2.9).</summary>
        internal static int Version()
        {
            NativeLibraries.Require(Libraries.Nccl);
            ThrowIfFailed(ncclGetVersion(out int version));
            return version;
        }

        internal static UniqueId GetUniqueId()
        {
            NativeLibraries.Require(Libraries.Nccl);
            ThrowIfFailed(ncclGetUniqueId(out var id));
            return id;
        }

        /// <summary>Joins the communicator of <paramref name="ranks"/> ranks named by <paramref name="id"/>
        /// as <paramref name="rank"/>, on the device whose context is current. Blocks until every rank has joined.</summary>
        internal static nint CommInitRank(int ranks, UniqueId id, int rank)
        {
            NativeLibraries.Require(Libraries.Nccl);
            ThrowIfFailed(ncclCommInitRank(out nint comm, ranks, id, rank));
            return comm;
        }

        internal static void AllReduce(ulong send, ulong receive, long count, DataType type, RedOp op, nint comm, CudaStreamHandle stream) =>
            ThrowIfFailed(ncclAllReduce(send, receive, (nuint)count, type, op, comm, stream));

        internal static void Broadcast(ulong send, ulong receive, long count, DataType type, int root, nint comm, CudaStreamHandle stream) =>
            ThrowIfFailed(ncclBroadcast(send, receive, (nuint)count, type, root, comm, stream));

        internal static void GroupStart() => ThrowIfFailed(ncclGroupStart());

        internal static void GroupEnd() => ThrowIfFailed(ncclGroupEnd());

        /// <summary>The error an asynchronous operation of <paramref name="comm"/> met (a peer that died, a network failure), or Success.</summary>
        internal static Result AsyncError(nint comm)
        {
            ThrowIfFailed(ncclCommGetAsyncError(comm, out var error));
            return error;
        }

        /// <summary>Returns NCCL's status rather than throwing: called while tearing down.</summary>
        internal static Result CommDestroy(nint comm) => ncclCommDestroy(comm);

        internal static Result CommAbort(nint comm) => ncclCommAbort(comm);

        [LibraryImport(Libraries.Nccl)] private static partial Result ncclGetVersion(out int version);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclGetUniqueId(out UniqueId uniqueId);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclCommInitRank(out nint comm, int nranks, UniqueId commId, int rank);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclCommDestroy(nint comm);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclCommAbort(nint comm);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclCommGetAsyncError(nint comm, out Result asyncError);
        [LibraryImport(Libraries.Nccl)] private static partial byte* ncclGetErrorString(Result result);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclAllReduce(ulong sendbuff, ulong recvbuff, nuint count, DataType datatype, RedOp op, nint comm, CudaStreamHandle stream);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclBroadcast(ulong sendbuff, ulong recvbuff, nuint count, DataType datatype, int root, nint comm, CudaStreamHandle stream);
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclGroupStart();
        [LibraryImport(Libraries.Nccl)] private static partial Result ncclGroupEnd();
    }
}
