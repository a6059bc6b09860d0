using Igcv3.Kernels.Cuda;
using Igcv3.Kernels.Emulation;
using Igcv3.Tests.Kernels.Parity;
using Xunit;
using Igcv3.Kernels;

namespace Igcv3.Tests.Kernels;

/// <summary>
/// The emulated device itself: that it catches what it is for (a kernel reading or writing past an
/// allocation, a stray pointer, a copy past the end) with a message naming the kernel and the
/// allocation, that its kernel table is the launch contract's, and that the process's own fault
/// handling (.NET's NullReferenceException) still works beside its fault handler.
/// </summary>
[Collection(EmulatedCollection.Name), Trait("device", "emulated")]
public sealed class EmulatedDeviceTests(EmulatedFixture fixture)
{
    /// <summary>Guarded device memory of the library, freed at the end of a test.</summary>
    private sealed class Memory(EmulatedDeviceLibrary library, long bytes) : IDisposable
    {
        public ulong Address { get; } = library.Allocate(bytes);

        public static implicit operator KernelArg(Memory m) => new DevicePointer(m.Address);

        public void Dispose() => library.Free(Address);
    }

    private static EmulatedDeviceLibrary Library(EmulatedFixture fixture)
    {
        _ = fixture.BackendOrSkip(); // skips (or fails under IGCV3_REQUIRE_EMULATION) without one
        Assert.True(EmulatedDeviceLibrary.TryGet(out var library, out var reason), reason);
        return library!;
    }

    [Fact]
    public void EveryKernelOfTheLaunchContract_IsCompiledIn_WithTheDeclaredParameterKinds()
    {
        var library = Library(fixture);
        foreach (var kernel in CudaKernels.All)
        {
            Assert.True(library.Kernels.TryGetValue(kernel.Name, out var kinds), $"{kernel.Name} is not in the emulated device");
            Assert.Equal(string.Concat(kernel.Parameters.Select(p => p switch { ArgKind.Pointer => 'P', ArgKind.Int32 => 'I', _ => 'F' })), kinds);
        }
    }

    [Theory]
    [InlineData(1000)] // 4000 bytes, a multiple of 16: the element after the end is on the guard page
    [InlineData(1001)] // 4004 bytes: the element after the end is in the canary up to the 16-byte boundary
    public void AKernelWritingOnePastTheEnd_FailsTheLaunch_NamingTheKernelAndTheAllocation(int count)
    {
        var library = Library(fixture);
        using var queue = new EmulatedQueue(library);
        using var y = new Memory(library, count * sizeof(float));
        // elementwise_fill(p, n, bits) with n one too many: a launcher's off-by-one.
        var e = Assert.Throws<EmulatedKernelException>(() => queue.Launch(CudaKernels.Fill, new Dim3(4), [y, count + 1, 0]));
        Assert.Contains("elementwise_fill", e.Message);
        Assert.Contains($"past the end of the allocation 0x{y.Address:x} of {count * sizeof(float)} bytes", e.Message);
        // The device goes on working after a failed launch.
        queue.Launch(CudaKernels.Fill, new Dim3(4), [y, count, 0]);
    }

    [Fact]
    public void AKernelReadingPastTheEnd_FaultsAndNamesTheBlockThreadAndAllocation()
    {
        var library = Library(fixture);
        using var queue = new EmulatedQueue(library);
        const int n = 4096;
        using Memory a = new(library, n * sizeof(float)), b = new(library, n / 2 * sizeof(float)), y = new(library, n * sizeof(float));
        // elementwise_add(a, b, y, n) with b half as long as the launch assumes.
        var e = Assert.Throws<EmulatedKernelException>(() => queue.Launch(CudaKernels.Add, new Dim3(2), [a, b, y, n]));
        Assert.Contains("elementwise_add", e.Message);
        Assert.Contains("illegal address", e.Message);
        Assert.Matches(@"block \(\d+,0,0\) thread \d+", e.Message);
        Assert.Contains($"past the end of the allocation 0x{b.Address:x} of {n / 2 * sizeof(float)} bytes", e.Message);
    }

    [Fact]
    public void APointerOutsideDeviceMemory_AndACopyPastTheEnd_AreRefused()
    {
        var library = Library(fixture);
        using var queue = new EmulatedQueue(library);
        using var y = new Memory(library, 64);
        var stray = Assert.Throws<EmulatedKernelException>(() => queue.Launch(CudaKernels.Fill, new Dim3(1), [new DevicePointer(0x1000), 4, 0]));
        Assert.Contains("argument 0, 0x1000, is not in device memory", stray.Message);
        var copy = Assert.Throws<EmulatedKernelException>(() => queue.CopyDeviceToDevice(y.Address, y.Address + 32, 64));
        Assert.Contains("run 32 bytes past the end", copy.Message);
    }

    [Fact]
    public void FreedMemory_IsNotHandedOutAgain_SoAUseAfterFreeFaultsInsteadOfReadingTheNextTensor()
    {
        var library = Library(fixture);
        ulong freed;
        using (var first = new Memory(library, 4096)) freed = first.Address;
        Assert.Equal(-1, library.BytesFrom(freed));
        using var next = new Memory(library, 4096);
        Assert.NotEqual(freed, next.Address);
    }

    [Fact]
    public void TheRuntimesOwnFaultHandling_StillWorks_AfterKernelsRan()
    {
        var library = Library(fixture);
        using var queue = new EmulatedQueue(library);
        using (var y = new Memory(library, 64)) queue.Launch(CudaKernels.Fill, new Dim3(1), [y, 16, 0]);
        // .NET turns a SIGSEGV at a null address into this exception; the device's handler must pass it on.
        string? nothing = Environment.GetEnvironmentVariable("IGCV3_TEST_UNSET_" + Guid.NewGuid().ToString("N"));
        Assert.Throws<NullReferenceException>(() => nothing!.Length);
    }
}
