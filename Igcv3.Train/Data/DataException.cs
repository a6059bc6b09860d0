namespace Igcv3.Train.Data;

/// <summary>
/// A data set that cannot be used as it is (missing or wrong-sized file, failed download, bad
/// checksum). The message is one line for the user: which file, what is wrong, what to do.
/// </summary>
public sealed class DataException : Exception
{
    public DataException(string message) : base(message) { }
    public DataException(string message, Exception inner) : base(message, inner) { }
}
