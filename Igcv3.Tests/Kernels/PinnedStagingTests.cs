using System.Runtime.InteropServices;
using Igcv3.Kernels;
using Igcv3.Kernels.Cuda;
using Xunit;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The pinned upload ring against a simulated stream: a queued copy reads its pinned source only
/// when the stream gets to it (a fence's wait runs the stream up to the fence), so a slot
/// overwritten before its copy ran corrupts what arrives, and these tests see it.
/// </summary>
public sealed unsafe class PinnedStagingTests
{
    /// <summary>Pinned buffers are native memory; the stream is a list of pending copies; device
    /// memory is one byte array per destination address.</summary>
    private sealed class SimulatedStream : IStagingDevice
    {
        private readonly List<(ulong Destination, nint Source, long Bytes)> _pending = [];
        private int _ran;

        public readonly Dictionary<ulong, byte[]> Device = [];
        public readonly List<Buffer> Allocated = [];
        public int Waits, BlockingWaits;
        public bool RefusePinned;

        public IPinnedBuffer AllocatePinned(long bytes)
        {
            if (RefusePinned) throw new CudaException("cuMemHostAlloc(out nint pointer, bytes, 0)", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
            var buffer = new Buffer(this, bytes);
            Allocated.Add(buffer);
            return buffer;
        }

        public void CopyToDevice(ulong destination, nint pinnedSource, long bytes)
        {
            Assert.Contains(Allocated, b => !b.Freed && pinnedSource == b.Pointer && bytes <= b.Bytes);
            _pending.Add((destination, pinnedSource, bytes));
        }

        public IStagingFence CreateFence() => new Fence(this);

        /// <summary>Runs the stream up to <paramref name="position"/> copies.</summary>
        public void RunTo(int position)
        {
            for (; _ran < position; _ran++)
            {
                var (destination, source, bytes) = _pending[_ran];
                Device[destination] = new ReadOnlySpan<byte>((void*)source, (int)bytes).ToArray();
            }
        }

        public void RunAll() => RunTo(_pending.Count);

        public int Queued => _pending.Count;

        public int Ran => _ran;

        public sealed class Buffer(SimulatedStream stream, long bytes) : IPinnedBuffer
        {
            public nint Pointer { get; } = (nint)NativeMemory.Alloc((nuint)bytes);

            public long Bytes => bytes;

            public bool Freed { get; private set; }

            public void Dispose()
            {
                Assert.False(Freed, "a pinned buffer freed twice");
                // Freeing memory a queued copy still reads is the bug this ring must not have.
                for (int i = stream._ran; i < stream._pending.Count; i++) Assert.NotEqual(Pointer, stream._pending[i].Source);
                NativeMemory.Fill((void*)Pointer, (nuint)bytes, 0xEE);
                NativeMemory.Free((void*)Pointer);
                Freed = true;
            }
        }

        private sealed class Fence(SimulatedStream stream) : IStagingFence
        {
            private int _position = -1;

            public void Record() => _position = stream._pending.Count;

            public void Wait()
            {
                stream.Waits++;
                if (_position < 0) return;
                if (stream._ran < _position) stream.BlockingWaits++;
                stream.RunTo(_position);
            }

            public void Dispose() { }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void EveryUploadArrivesIntact_ThoughTheHostReusesItsBufferAndTheStreamLagsBehind()
    {
        var stream = new SimulatedStream();
        var random = new Random(7);
        var expected = new Dictionary<ulong, byte[]>();
        var host = new byte[300_000];
        using (var staging = new PinnedStaging(stream, slots: 3))
        {
            for (int i = 0; i < 40; i++)
            {
                // Sizes across the 64 KiB growth step, so slots are regrown on the way.
                var data = RandomBytes(random, random.Next(1, host.Length));
                data.CopyTo(host, 0);
                ulong destination = 0x1000 + (ulong)i * 0x100000;
                fixed (byte* source = host) Assert.True(staging.TryCopy(destination, source, data.Length));
                expected[destination] = data;
                host.AsSpan().Fill(0xAB); // the caller's buffer changes as soon as the call returns
                // The stream runs only when a fence is waited on: by now it is behind by the slots.
                Assert.True(stream.Queued - stream.Ran <= staging.Slots);
            }
            stream.RunAll();
        }
        Assert.Equal(expected.Count, stream.Device.Count);
        foreach (var (destination, data) in expected) Assert.Equal(data, stream.Device[destination]);
        Assert.All(stream.Allocated, b => Assert.True(b.Freed));
    }

    [Fact]
    public void TheHostWaitsOnlyWhenItWrapsAroundTheRing_ForTheUploadOneRingEarlier()
    {
        var stream = new SimulatedStream();
        var data = new byte[1000];
        using var staging = new PinnedStaging(stream, slots: 4);
        fixed (byte* source = data)
        {
            for (int i = 0; i < 4; i++) Assert.True(staging.TryCopy(0x1000 + (ulong)i * 0x1000, source, data.Length));
            Assert.Equal(0, stream.BlockingWaits); // four uploads in flight: nothing has run, nobody waited
            Assert.Equal(0, stream.Ran);
            Assert.True(staging.TryCopy(0x9000, source, data.Length));
            Assert.Equal(1, stream.BlockingWaits);
            Assert.Equal(1, stream.Ran); // only the first upload had to finish, not the whole stream
        }
        Assert.Equal(4, stream.Allocated.Count); // one buffer a slot, kept for reuse
        Assert.Equal(4 * 64 * 1024, staging.PinnedBytes);
    }

    [Fact]
    public void UploadsAboveTheLimit_AreLeftToTheCaller_AndSoAreAllOnceTheDriverRefusesPinnedMemory()
    {
        var stream = new SimulatedStream();
        var data = new byte[5000];
        using var staging = new PinnedStaging(stream, slots: 2, largestStaged: 4096);
        fixed (byte* source = data)
        {
            Assert.False(staging.TryCopy(0x1000, source, 4097));
            Assert.True(staging.TryCopy(0x1000, source, 4096));
            Assert.Null(staging.RefusedBecause);
            stream.RefusePinned = true;
            Assert.False(staging.TryCopy(0x2000, source, 100)); // the second slot needs memory: refused
            Assert.Contains("cuMemHostAlloc", staging.RefusedBecause);
            stream.RefusePinned = false;
            Assert.False(staging.TryCopy(0x3000, source, 100)); // stays off: no retry on every batch
        }
        Assert.Equal(1, stream.Queued);
    }
}
