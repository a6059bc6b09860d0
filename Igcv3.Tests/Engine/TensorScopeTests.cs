using Igcv3.Engine;
using Igcv3.Tests.Support;
using Xunit;

namespace Igcv3.Tests.Engine;

public class TensorScopeTests
{
    [Fact]
    public void Scope_ReleasesWhatWasAllocatedInside_AndNothingFromOutside()
    {
        var outside = Make.Random([3], 1);
        Tensor inside;
        using (var scope = TensorScope.Begin())
        {
            inside = Ops.Relu(outside);
            Assert.Equal(1, scope.OwnedCount);
        }
        Assert.True(inside.Storage.IsDisposed);
        Assert.False(outside.Storage.IsDisposed);
    }

    [Fact]
    public void Keep_HandsATensorToTheEnclosingScope()
    {
        Tensor kept, dropped;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                kept = inner.Keep(Make.Random([2], 1));
                dropped = Make.Random([2], 2);
            }
            Assert.False(kept.Storage.IsDisposed);
            Assert.True(dropped.Storage.IsDisposed);
            Assert.Equal(1, outer.OwnedCount);
        }
        Assert.True(kept.Storage.IsDisposed);
    }

    [Fact]
    public void TrainingStepInsideAScope_LeavesParameterGradientsIntact()
    {
        var a = Make.Random([4], 1);
        a.RequiresGrad = true;
        using (TensorScope.Begin())
        {
            Ops.Relu(Ops.Add(a, a)).Backward(Make.Random([4], 2));
        }
        // The gradient was allocated inside the scope on first use: it belongs to the scope too,
        // which is why parameters get their gradients bound to a long-lived flat buffer.
        Assert.True(a.Grad!.Storage.IsDisposed);
    }

    [Fact]
    public void DisposingOutOfOrder_Throws()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose(); // still closable in the right order, and then no scope is left open
        var untracked = Make.Random([1], 1);
        using var probe = TensorScope.Begin();
        Assert.Equal(0, probe.OwnedCount);
        Assert.False(untracked.Storage.IsDisposed);
    }
}
