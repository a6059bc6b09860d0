using Igcv3.Networks;
using Xunit;

namespace Igcv3.Tests.Support;

/// <summary>Every registered network's name, as theory data: a test over "every network" covers one added later too.</summary>
public static class RegisteredNetworks
{
    public static TheoryData<string> All => [.. NetworkRegistry.Names];
}
