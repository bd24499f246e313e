// Training: optimisers, schedules, callbacks, losses, initialisers.
export { Optimizer, SGD, Adam, AdamW, Adagrad, RMSProp, Adadelta, sgd, adam, adamw, adagrad, rmsprop, adadelta } from "./optimizers.js";
export type { AveragingOptions, OptimizerState, SgdOptions, AdamOptions, AdamWOptions, AdagradOptions, RmspropOptions, AdadeltaOptions } from "./optimizers.js";
export { stepDecay, exponentialDecay, cosineDecay, warmup, oneCycle } from "./schedules.js";
export { fit, fitAsync, formatEpoch, earlyStopping, checkpoint, reduceOnPlateau } from "./fit.js";
export { NumericError, trainStep } from "./trainer.js";
export type { Regularizer, TrainingOptions } from "./trainer.js";
export type { BatchInfo, Callback, EpochLogs, FitAsyncOptions, FitEvent, FitOptions, FitProgress, History, LearningRate, Monitor } from "./fit.js";
export { checkpointOf, encodeCheckpoint, decodeCheckpoint, readCheckpoint, checkConfig, restoreCheckpoint, dataFingerprint, CHECKPOINT_VERSION } from "./checkpoint.js";
export type { Checkpoint, CheckpointConfig } from "./checkpoint.js";
export { LOSSES } from "./losses.js";
export type { LossName } from "./losses.js";
export { initialize, fans } from "../layers/initializers.js";
export { gradCheck } from "./gradcheck.js";
export type { GradCheckResult } from "./gradcheck.js";
export type { Initializer } from "../layers/initializers.js";
