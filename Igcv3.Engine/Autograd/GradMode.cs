namespace Igcv3.Engine;

/// <summary>No-grad mode: inside <c>using (GradMode.NoGrad())</c> ops record nothing, as in
/// evaluation, where no backward pass follows and no graph should be kept alive.</summary>
public static class GradMode
{
    [ThreadStatic] private static int s_noGradDepth;

    public static bool IsEnabled => s_noGradDepth == 0;

    public static IDisposable NoGrad()
    {
        s_noGradDepth++;
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            s_noGradDepth--;
        }
    }
}
