// Data loading: datasets, MNIST (IDX), splits, normalisation, augmentation.
export { makeDataset, slice, split, channelStats, normalize } from "./dataset.js";
export type { Dataset, Normalization } from "./dataset.js";
export { parseIdx } from "./idx.js";
export type { Idx } from "./idx.js";
export { mnistFromBytes, loadMnist } from "./mnist.js";
export { augmenter } from "./augment.js";
export type { AugmentOptions, Augmenter } from "./augment.js";
export { readBytes, writeBytes, maybeGunzip, mnistDataDir, NotFoundError } from "./files.js";
