using System.Runtime.ExceptionServices;

namespace Igcv3.Engine.Distributed;

/// <summary>
/// Runs one data-parallel worker per thread, each with its rank's <see cref="ThreadCommunicator"/>.
/// A worker that throws aborts the group, so the others leave their collectives at once; the
/// call then rethrows that first failure (its own type, so a user error stays one), not the
/// others' <see cref="CommunicatorAbortedException"/>s that it caused.
/// </summary>
public static class WorkerThreads
{
    /// <summary>Runs <paramref name="body"/> for ranks 0..workers−1 concurrently and returns their results by rank.</summary>
    public static T[] Run<T>(int workers, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        var group = new ThreadCommunicatorGroup(workers, timeout);
        var results = new T[workers];
        var failures = new Exception?[workers];
        var threads = group.Communicators.Select(communicator => new Thread(() =>
        {
            try
            {
                results[communicator.Rank] = body(communicator);
            }
            catch (Exception e)
            {
                failures[communicator.Rank] = e;
                if (e is not CommunicatorAbortedException) communicator.Abort($"{e.GetType().Name}: {e.Message}");
            }
        }) { Name = $"data-parallel rank {communicator.Rank}", IsBackground = true }).ToList();
        // Worker threads get the stack of the main thread: deep networks recurse in their builders.
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        var first = failures.FirstOrDefault(f => f is not null and not CommunicatorAbortedException) ?? failures.FirstOrDefault(f => f is not null);
        if (first is not null) ExceptionDispatchInfo.Capture(first).Throw();
        return results;
    }
}
