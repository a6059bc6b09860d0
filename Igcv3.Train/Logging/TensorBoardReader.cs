namespace Igcv3.Train.Logging;

/// <summary>Parses an event file back (every CRC checked): for tests and for inspecting a run without TensorBoard.</summary>
public static class TensorBoardReader
{
    public static List<TensorBoardEvent> ReadEvents(string path)
    {
        byte[] file;
        // The writer may hold the file open; share it.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            file = new byte[stream.Length];
            stream.ReadExactly(file);
        }
        return TfRecord.ReadAll(file, Path.GetFileName(path)).Select(record => TensorBoardEvent.Decode(record)).ToList();
    }

    /// <summary>(step, value) of every scalar with <paramref name="tag"/>, in file order.</summary>
    public static List<(long Step, float Value)> Scalars(IEnumerable<TensorBoardEvent> events, string tag) =>
        events.SelectMany(e => e.Scalars.Where(s => s.Tag == tag).Select(s => (e.Step, s.Value))).ToList();
}
