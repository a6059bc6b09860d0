using Igcv3.Engine.Distributed;
using Xunit;

namespace Igcv3.Tests.Distributed;

/// <summary>The TCP rendezvous that hands NCCL's unique id from rank 0's process to the others, on localhost.</summary>
public sealed class RendezvousTests
{
    private static readonly byte[] Id = Enumerable.Range(0, 128).Select(i => (byte)(i * 7 + 1)).ToArray();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Serves on a free port; returns the port and the serving task.</summary>
    private static async Task<(int Port, Task Served)> Serve(int world, int localRanks, TimeSpan timeout)
    {
        var port = new TaskCompletionSource<int>();
        var served = Task.Run(() => Rendezvous.Serve(0, world, localRanks, Id, timeout, port.SetResult, Cancel), Cancel);
        return (await port.Task.WaitAsync(TimeSpan.FromSeconds(10), Cancel), served);
    }

    private static Task<byte[]> Join(string address, int world, int first, int count, double seconds) =>
        Task.Run(() => Rendezvous.Join(address, world, first, count, TimeSpan.FromSeconds(seconds), Cancel), Cancel);

    [Fact]
    public async Task ThreeNodes_GetRankZerosId_AndTheServerReturnsOnceEveryRankIsClaimed()
    {
        // 4 nodes of 2 GPUs: node 0 holds ranks 0-1 and serves; nodes 1-3 claim 2-3, 4-5, 6-7.
        var (port, served) = await Serve(world: 8, localRanks: 2, TimeSpan.FromSeconds(30));
        var clients = new[] { 6, 2, 4 }.Select(first => Join($"localhost:{port}", 8, first, 2, 30)).ToArray();
        await Task.WhenAll([.. clients, served]).WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        foreach (var c in clients) Assert.Equal(Id, await c);
    }

    [Fact]
    public async Task AClientStartedBeforeTheServer_RetriesUntilItIsUp()
    {
        var port = FreePort();
        var client = Join($"127.0.0.1:{port}", 2, 1, 1, 30);
        await Task.Delay(500, Cancel);
        Rendezvous.Serve(port, 2, 1, Id, TimeSpan.FromSeconds(30), cancellation: Cancel);
        Assert.Equal(Id, await client);
    }

    [Fact]
    public async Task ANodeThatNeverComes_TimesOutNamingItsRanks()
    {
        var (port, served) = await Serve(world: 6, localRanks: 2, TimeSpan.FromSeconds(1.5));
        Assert.Equal(Id, await Join($"localhost:{port}", 6, 2, 2, 10));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => served.WaitAsync(TimeSpan.FromSeconds(20), Cancel));
        Assert.Contains("for rank(s) 4..5 of 6, which never connected", error.Message);
    }

    [Fact]
    public async Task NoServer_TimesOutNamingTheAddress()
    {
        int port = FreePort();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => Join($"127.0.0.1:{port}", 2, 1, 1, 1));
        Assert.Contains($"node 0 at 127.0.0.1:{port} did not answer within 1 s", error.Message);
    }

    [Fact]
    public async Task AWrongWorldSize_OrATakenRank_IsRefusedWithTheReason()
    {
        var (port, served) = await Serve(world: 4, localRanks: 2, TimeSpan.FromSeconds(30));
        var wrongWorld = await Assert.ThrowsAsync<InvalidOperationException>(() => Join($"localhost:{port}", 8, 2, 2, 10));
        Assert.Contains("this process says the world has 8 ranks, node 0 says 4", wrongWorld.Message);
        var taken = await Assert.ThrowsAsync<InvalidOperationException>(() => Join($"localhost:{port}", 4, 0, 2, 10));
        Assert.Contains("rank 0 is already taken: two nodes have the same --node-rank", taken.Message);
        Assert.Equal(Id, await Join($"localhost:{port}", 4, 2, 2, 10));
        await served.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Theory]
    [InlineData("node001")]
    [InlineData("node001:0")]
    [InlineData("node001:http")]
    public void AnAddressWithoutAPort_IsRefused(string address) =>
        Assert.Contains("is not host:port", Assert.Throws<ArgumentException>(() => Rendezvous.ParseAddress(address)).Message);

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
