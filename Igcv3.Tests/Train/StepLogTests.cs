using Igcv3.Tests.Support;
using Igcv3.Train.Training;
using Xunit;

namespace Igcv3.Tests.Train;

public class StepLogTests
{
    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public void TheHeaderIsThereAtOnce_AndEachRowAsItIsWritten()
    {
        using var folder = new TempFolder();
        string path = folder.File("steps.csv");
        using var log = new StepLog(path);
        Assert.Equal(StepLog.Header + "\n", ReadShared(path));
        log.Write(1, 1, 1, 0.1, 2.5, 12.5);
        Assert.Equal(StepLog.Header + "\n1,1,1,0.1,2.5,12.5\n", ReadShared(path));
    }

    [Fact]
    public void TruncateAfter_KeepsTheStepsDone_AndDropsARowCutShort()
    {
        using var folder = new TempFolder();
        string path = folder.File("steps.csv");
        // A full disk cut the last write short: "1" is what is left of the row of step 17.
        File.WriteAllText(path, StepLog.Header + "\n1,1,1,0.1,2.5,0\n2,1,2,0.1,2.25,0\n3,1,3,0.1,2,0\n1");
        StepLog.TruncateAfter(path, 2);
        Assert.Equal([(1L, 2.5), (2L, 2.25)], StepLog.ReadLosses(path));
    }
}
