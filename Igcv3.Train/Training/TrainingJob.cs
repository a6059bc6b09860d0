using Igcv3.Engine;
using Igcv3.Engine.Nn;
using Igcv3.Networks;
using Igcv3.Train.Data;
using Igcv3.Train.Schedules;
using Igcv3.Train.Settings;

namespace Igcv3.Train.Training;

/// <summary>Everything a training run needs, built and checked before the first step.</summary>
public sealed record TrainingJob(
    RunSettings Settings,
    string Device,
    IBackend Backend,
    Network Network,
    ParameterSet Parameters,
    Sgd Optimizer,
    ILearningRateSchedule Schedule,
    IBatchLoader TrainLoader,
    IBatchLoader TestLoader,
    RunFiles Files,
    TrainerState State);
