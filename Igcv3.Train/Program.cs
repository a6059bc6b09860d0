// The console trainer (train / eval / summary) is built on top of the engine and the networks.
Console.Error.WriteLine("Igcv3.Train: the training commands are not built yet; see README.md.");
return 2;
