namespace Igcv3.Kernels.Cuda;

/// <summary>The PTX type of one kernel parameter: a device pointer (.u64), a 32-bit integer
/// (.u32, int or unsigned) or a float (.f32). Nothing the backend launches takes anything else.</summary>
internal enum ArgKind : byte { Pointer, Int32, Float32 }

/// <summary>
/// A kernel the backend launches: its compilation unit, its extern "C" name and the kinds of its
/// parameters, copied from the launch contract in the unit's header comment. Every launch checks
/// its arguments against this declaration, and a test (no GPU needed) checks the declaration
/// against the parameters NVRTC actually emits, so a wrong argument list fails loudly instead of
/// handing a kernel garbage.
/// </summary>
internal sealed record KernelSignature(string Unit, string Name, ArgKind[] Parameters)
{
    public override string ToString() => $"{Unit}:{Name}({string.Join(", ", Parameters)})";
}

/// <summary>One kernel argument held in an 8-byte slot: cuLaunchKernel reads sizeof(param) bytes
/// from the slot's address, which on a little-endian host is the low 4 bytes for .u32/.f32.</summary>
internal readonly struct KernelArg
{
    private KernelArg(ulong bits, ArgKind kind)
    {
        Bits = bits;
        Kind = kind;
    }

    public ulong Bits { get; }

    public ArgKind Kind { get; }

    public static implicit operator KernelArg(int value) => new((uint)value, ArgKind.Int32);

    public static implicit operator KernelArg(float value) => new(BitConverter.SingleToUInt32Bits(value), ArgKind.Float32);

    public static implicit operator KernelArg(DevicePointer pointer) => new(pointer.Address, ArgKind.Pointer);
}

/// <summary>A CUdeviceptr (0 for a null pointer), typed so that it cannot be confused with an integer argument.</summary>
internal readonly record struct DevicePointer(ulong Address)
{
    public static DevicePointer Null => default;

    public override string ToString() => $"0x{Address:x}";
}
