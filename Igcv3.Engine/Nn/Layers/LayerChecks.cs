namespace Igcv3.Engine.Nn;

/// <summary>Constructor checks shared by the layers, so that an impossible network fails when it
/// is built, with the numbers, rather than at its first forward.</summary>
internal static class LayerChecks
{
    public static void Channels(string layer, int inChannels, int outChannels, int groups)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"{layer}: channels must be positive, got in {inChannels}, out {outChannels}");
        if (groups <= 0) throw new ArgumentException($"{layer}: groups must be positive, got {groups}");
        if (inChannels % groups != 0) throw new ArgumentException($"{layer}: groups {groups} must divide input channels {inChannels}");
        if (outChannels % groups != 0) throw new ArgumentException($"{layer}: groups {groups} must divide output channels {outChannels}");
    }
}
