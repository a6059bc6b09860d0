using BenchmarkDotNet.Running;

// Every benchmark class in this assembly; pick with --filter, as BenchmarkDotNet's switcher does.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
