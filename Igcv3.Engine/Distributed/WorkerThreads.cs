using System.Runtime.ExceptionServices;

namespace Igcv3.Engine.Distributed;

/// <summary>
/// Runs the data-parallel workers of one process, one thread each. A worker that throws calls
/// <c>abort</c> (which gives up the group's communicators, so the others leave their collectives
/// at once); the call then rethrows that first failure (its own type, so a user error stays one),
/// not the <see cref="CommunicatorAbortedException"/>s that it caused in the others.
/// </summary>
public static class WorkerThreads
{
    /// <summary>Runs <paramref name="body"/> for workers 0..count−1 concurrently; returns their results in order.</summary>
    public static T[] Run<T>(int count, Func<int, T> body, Action<int, Exception> abort)
    {
        var results = new T[count];
        var failures = new Exception?[count];
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try
            {
                results[i] = body(i);
            }
            catch (Exception e)
            {
                failures[i] = e;
                if (e is not CommunicatorAbortedException) abort(i, e);
            }
        }) { Name = $"data-parallel worker {i}", IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        var first = failures.FirstOrDefault(f => f is not null and not CommunicatorAbortedException) ?? failures.FirstOrDefault(f => f is not null);
        if (first is not null) ExceptionDispatchInfo.Capture(first).Throw();
        return results;
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="workers"/> threads joined by a new
    /// <see cref="ThreadCommunicatorGroup"/>, each with its rank's communicator.</summary>
    public static T[] Run<T>(int workers, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        var group = new ThreadCommunicatorGroup(workers, timeout);
        return Run(workers, i => body(group.Communicators[i]), (i, e) => group.Communicators[i].Abort($"{e.GetType().Name}: {e.Message}"));
    }
}
