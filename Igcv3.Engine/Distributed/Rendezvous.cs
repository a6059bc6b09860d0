using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Igcv3.Engine.Distributed;

/// <summary>
/// The one exchange before NCCL takes over: the process holding rank 0 serves a payload (the
/// 128-byte NCCL unique id) on host:port, and every other process connects, says which ranks it
/// holds, and gets the payload. Rank 0's process waits until every rank of the world has been
/// claimed, so it starts NCCL (which then does all communication) knowing every process has the id.
/// Both sides give up after a timeout with the ranks or the address that never answered.
/// <para>Wire format (big-endian): hello = "IGC3", world size, first rank, rank count (int32
/// each); reply = 0 then the payload (length-prefixed), or 1 then an error text (length-prefixed).</para>
/// </summary>
public static class Rendezvous
{
    private static readonly byte[] Magic = "IGC3"u8.ToArray();

    /// <summary>"host:port" → its parts; a clear error otherwise.</summary>
    public static (string Host, int Port) ParseAddress(string address)
    {
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535)
            throw new ArgumentException($"rendezvous address '{address}' is not host:port (for example node001:29500)");
        return (address[..colon].Trim('[', ']'), port);
    }

    /// <summary>Serves <paramref name="payload"/> on <paramref name="port"/> (all interfaces) until the
    /// other processes have claimed ranks <paramref name="localRanks"/>..world−1; returns the port
    /// listened on (useful with port 0 in tests, through <paramref name="listening"/>).</summary>
    public static void Serve(int port, int worldSize, int localRanks, byte[] payload, TimeSpan timeout, Action<int>? listening = null, CancellationToken cancellation = default)
    {
        var listener = new TcpListener(IPAddress.IPv6Any, port);
        listener.Server.DualMode = true;
        listener.Start();
        try
        {
            listening?.Invoke(((IPEndPoint)listener.LocalEndpoint).Port);
            var claimed = new bool[worldSize];
            for (int r = 0; r < localRanks; r++) claimed[r] = true;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(timeout);
            while (claimed.Contains(false))
            {
                TcpClient client;
                try
                {
                    client = listener.AcceptTcpClientAsync(deadline.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    var missing = Enumerable.Range(0, worldSize).Where(r => !claimed[r]);
                    throw new TimeoutException($"rendezvous on port {port}: waited {timeout.TotalSeconds:G3} s for rank(s) {Ranges(missing)} of {worldSize}, which never connected; start every node (same --nodes, --gpus and --master-address), or check that this port is reachable from them");
                }
                using (client)
                {
                    client.ReceiveTimeout = client.SendTimeout = 10_000;
                    var stream = client.GetStream();
                    var (world, first, count) = ReadHello(stream);
                    string? error = world != worldSize ? $"this process says the world has {world} ranks, node 0 says {worldSize}: give every node the same --nodes and number of --gpus"
                        : first < 0 || count <= 0 || first + count > worldSize ? $"ranks {first}..{first + count - 1} lie outside the world of {worldSize}"
                        : Enumerable.Range(first, count).FirstOrDefault(r => claimed[r], -1) is var taken && taken >= 0 ? $"rank {taken} is already taken: two nodes have the same --node-rank"
                        : null;
                    if (error is null)
                    {
                        for (int r = first; r < first + count; r++) claimed[r] = true;
                        Reply(stream, 0, payload);
                    }
                    else Reply(stream, 1, Encoding.UTF8.GetBytes(error));
                }
            }
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Connects to node 0's rendezvous (retrying while it is not up yet), claims ranks
    /// <paramref name="firstRank"/>..+<paramref name="localRanks"/>, and returns the payload.</summary>
    public static byte[] Join(string address, int worldSize, int firstRank, int localRanks, TimeSpan timeout, CancellationToken cancellation = default)
    {
        var (host, port) = ParseAddress(address);
        var deadline = DateTime.UtcNow + timeout;
        string lastError = "";
        while (DateTime.UtcNow < deadline)
        {
            cancellation.ThrowIfCancellationRequested();
            using var client = new TcpClient();
            try
            {
                client.ConnectAsync(host, port, cancellation).AsTask().Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException e) when (e.InnerException is SocketException s)
            {
                lastError = s.Message;
            }
            if (!client.Connected)
            {
                Thread.Sleep(200);
                continue;
            }
            client.ReceiveTimeout = client.SendTimeout = (int)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 1000, int.MaxValue);
            var stream = client.GetStream();
            var hello = new byte[16];
            Magic.CopyTo(hello, 0);
            BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(4), worldSize);
            BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(8), firstRank);
            BinaryPrimitives.WriteInt32BigEndian(hello.AsSpan(12), localRanks);
            stream.Write(hello);
            int status = stream.ReadByte();
            if (status < 0) throw new InvalidOperationException($"rendezvous at {address} closed the connection without an answer: is something else listening on that port?");
            var body = ReadBlock(stream);
            if (status == 0) return body;
            throw new InvalidOperationException($"rendezvous at {address} refused ranks {firstRank}..{firstRank + localRanks - 1}: {Encoding.UTF8.GetString(body)}");
        }
        throw new TimeoutException($"rendezvous: node 0 at {address} did not answer within {timeout.TotalSeconds:G3} s ({(lastError.Length > 0 ? lastError : "no connection")}); start node 0 (--node-rank 0), and check --master-address / MASTER_ADDR:MASTER_PORT");
    }

    private static (int World, int First, int Count) ReadHello(NetworkStream stream)
    {
        var hello = new byte[16];
        stream.ReadExactly(hello);
        if (!hello.AsSpan(0, 4).SequenceEqual(Magic)) throw new InvalidDataException("rendezvous: a connection that is not an igcv3 node (wrong greeting)");
        return (BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(4)), BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(8)), BinaryPrimitives.ReadInt32BigEndian(hello.AsSpan(12)));
    }

    private static void Reply(NetworkStream stream, byte status, byte[] body)
    {
        var header = new byte[5];
        header[0] = status;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), body.Length);
        stream.Write(header);
        stream.Write(body);
    }

    private static byte[] ReadBlock(NetworkStream stream)
    {
        var length = new byte[4];
        stream.ReadExactly(length);
        int n = BinaryPrimitives.ReadInt32BigEndian(length);
        if (n is < 0 or > 1 << 20) throw new InvalidDataException($"rendezvous: a reply of {n} bytes is not one of ours");
        var body = new byte[n];
        stream.ReadExactly(body);
        return body;
    }

    /// <summary>"1, 3..5" for 1, 3, 4, 5.</summary>
    private static string Ranges(IEnumerable<int> ranks)
    {
        var parts = new List<string>();
        foreach (var group in ranks.Select((r, i) => (r, key: r - i)).GroupBy(t => t.key))
        {
            var list = group.Select(t => t.r).ToList();
            parts.Add(list.Count == 1 ? $"{list[0]}" : $"{list[0]}..{list[^1]}");
        }
        return string.Join(", ", parts);
    }
}
