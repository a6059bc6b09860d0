using System.Net;
using System.Net.Sockets;

namespace Igcv3.Tests.Support;

/// <summary>Serves one path with fixed bytes (anything else: 404), counting requests.</summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private int _requests;

    public LocalHttpServer(string path, byte[] body)
    {
        // A free loopback port: let the OS pick one, then hand it to HttpListener.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) { return; } // stopped
                Interlocked.Increment(ref _requests);
                if (context.Request.Url!.AbsolutePath == path)
                {
                    context.Response.ContentLength64 = body.Length;
                    await context.Response.OutputStream.WriteAsync(body);
                }
                else context.Response.StatusCode = 404;
                context.Response.Close();
            }
        });
    }

    public Uri BaseUrl { get; }
    public int Requests => Volatile.Read(ref _requests);

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
