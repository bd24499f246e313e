// fovea's public API. Nothing but re-exports.
export { init, backendInfo, getBackend, loadBackend, chooseBuild, chooseThreads, setThreads, withBackend, shutdown, Backend, BUILDS } from "./runtime/backend.js";
export type { Call } from "./runtime/pool.js";
export type { BackendInfo, BuildName, InitOptions } from "./runtime/backend.js";
export type { Features } from "./runtime/features.js";
export type { HeapStats } from "./runtime/memory.js";
export { getLimits, setLimits } from "./runtime/limits.js";
export type { Limits } from "./runtime/limits.js";
export { Tensor, shapeSize, formatShape } from "./tensor.js";
export type { Shape, TensorData, NestedArray } from "./tensor.js";
export { FoveaError, ShapeError, ConfigError, FormatError, BackendError } from "./errors.js";
export * as ops from "./ops/index.js";
export type { Padding, Rounding } from "./ops/window.js";
export * as layers from "./layers/index.js";
export { Layer } from "./layers/layer.js";
export type { ParamSpec, ParamBuffer } from "./layers/layer.js";
export type { LayerConfig, LayerType } from "./layers/index.js";
export { Model, model, sequential } from "./model/model.js";
export type { CompileOptions, ExampleData } from "./model/model.js";
// train/ adds the training options and methods to Model (compile's extension point)
export { NumericError } from "./train/trainer.js";
export type { Regularizer, TrainingOptions } from "./train/trainer.js";
export { input, SymbolicTensor } from "./layers/symbolic.js";
export { summaryRows } from "./model/summary.js";
export type { SummaryRow } from "./model/summary.js";
export { Rng } from "./rng.js";
export type { RngState } from "./rng.js";
export * as train from "./train/index.js";
// train/twin.ts adds Model.inputGradient; inspect: saliency, deconvnet, class models, Deep Dream
export * as inspect from "./train/inspect.js";
export type { ClassModelOptions, DeconvOptions, DeconvProjection, DreamOptions, GradientTarget, SaliencyMaps } from "./train/inspect.js";
export * as zoo from "./model/zoo.js";
export { loadModel, modelFromTopology } from "./model/serialize.js";
export { saveModel, toJSON, FORMAT_VERSION } from "./model/save.js";
export type { ModelJSON } from "./model/save.js";
export { convnetjs } from "./io/convnetjs-defs.js";
export type { ConvNetJSLayerDef, ConvNetJSModel } from "./io/convnetjs-defs.js";
export * as data from "./data/index.js";
export { importOnnx, exportOnnx, importConvnetjs, exportConvnetjs, importTfjs, loadTfjsModel } from "./io/index.js";
export type { TfjsArtifacts } from "./io/index.js";
export type { OnnxImportOptions } from "./io/index.js";
export * as deepqlearn from "./rl/deepqlearn.js";
export * as rl from "./rl/index.js";

// Every type a public function, class or namespace takes or returns, nameable at the top level
// (`import type { FitOptions, History, Optimizer } from "fovea"`); test/package.test.ts finds any
// that is not, in the packed package's declarations.
export type { Augmenter, AugmentOptions } from "./data/augment.js";
export type { Dataset, Normalization } from "./data/dataset.js";
export type { FileWriter, NotFoundError, WriteError, WriteOptions } from "./data/files.js";
export type { Idx } from "./data/idx.js";
export type { CanvasLike, Rgba } from "./data/images.js";
export type { CnjLayer as ConvNetJSSnapshotLayer, ConvNetJSExportOptions, ConvNetJSLayerJSON } from "./io/convnetjs.js";
export type { ActivationConfig, ActivationType, MaxoutConfig } from "./layers/activation.js";
export type { Conv2dConfig, DepthwiseConv2dConfig } from "./layers/conv.js";
export type { Conv2dTransposeConfig } from "./layers/conv-transpose.js";
export type { DenseConfig } from "./layers/dense.js";
export type { DropoutConfig } from "./layers/dropout.js";
export type { Opt as LayerOptions } from "./layers/index.js";
export type { Initializer } from "./layers/initializers.js";
export type { Fused, LayerGrad, LayerRun, PrepareContext } from "./layers/layer.js";
export type { AddConfig, ConcatConfig } from "./layers/merge.js";
export type { MultiplyConfig } from "./layers/multiply.js";
export type { SliceConfig } from "./layers/slice.js";
export type { ResizeConfig, ResizeCoordinates, ResizeNearest } from "./layers/resize.js";
export type { PadConfig } from "./layers/pad.js";
export type { MatmulConfig } from "./layers/matmul.js";
export type { LayerNormConfig } from "./layers/layer-norm.js";
export type { BinaryConfig, WhereConfig } from "./layers/binary.js";
export type { ConstantConfig } from "./layers/constant.js";
export type { NamedIO, NamedShape } from "./model/named.js";
export type { BatchNormConfig, LrnConfig, ScaleConfig } from "./layers/norm.js";
export type { GlobalPoolConfig, Pool2dConfig, Pool3dConfig } from "./layers/pool.js";
export type { FlattenConfig, PermuteConfig, ReshapeConfig } from "./layers/reshape.js";
export type { GraphNode } from "./model/graph.js";
export type { Fold, Plan } from "./model/plan.js";
export type { ModelView } from "./model/view.js";
export type { ZooOptions } from "./model/zoo.js";
export type { Conv2dGradients, Conv2dOptions, ConvBuffers, ConvCalls, ConvGeometry, ConvPaths, ConvTransposeBuffers, ConvTransposeCalls, ConvTransposeOptions } from "./ops/conv.js";
export type { ActivationName, BinaryOp, UnaryActivation } from "./ops/eltwise.js";
export type { Activation as FusedActivation, DenseCalls, GemmOptions, PackedMatrix } from "./ops/gemm.js";
export type { LossName } from "./ops/loss.js";
export type { BatchNormCalls, NormCalls, Steps } from "./ops/norm.js";
export type { MaxPoolResult, Pool2dOptions, Pool3dOptions, PoolCalls, PoolGeometry } from "./ops/pool.js";
export type { Brain, BrainOptions, Experience, TDTrainer, TDTrainerOptions, ValueNet } from "./rl/deepqlearn.js";
export type { DQN, DQNOptions } from "./rl/dqn.js";
export type { TDBatch } from "./rl/qlearning.js";
export type { Window as MovingAverageWindow } from "./rl/window.js";
export type { CallOf, KernelCall } from "./runtime/calls.js";
export type { Kernels, KernelName } from "./runtime/generated/kernels.js";
export type { Heap } from "./runtime/memory.js";
export type { PoolStartOptions, ThreadPool } from "./runtime/pool.js";
export type { Checkpoint, CheckpointConfig } from "./train/checkpoint.js";
export type { BatchInfo, Callback, EpochLogs, FitAsyncOptions, FitEvent, FitOptions, FitProgress, History, LearningRate } from "./train/fit.js";
export type { GradCheckResult } from "./train/gradcheck.js";
export type {
  Adadelta, AdadeltaOptions, Adagrad, AdagradOptions, Adam, AdamOptions, AdamW, Optimizer, OptimizerState, RMSProp, RmspropOptions, SGD, SgdOptions,
} from "./train/optimizers.js";
