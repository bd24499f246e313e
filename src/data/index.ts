// Data loading: datasets, MNIST (IDX), splits, normalisation, augmentation.
export { makeDataset, slice, split, channelStats, normalize } from "./dataset.js";
export type { Dataset, Normalization } from "./dataset.js";
export { parseIdx } from "./idx.js";
export type { Idx } from "./idx.js";
export { mnistFromBytes, loadMnist, loadFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from "./mnist.js";
export { augmenter } from "./augment.js";
export type { AugmentOptions, Augmenter } from "./augment.js";
export { readBytes, writeBytes, fileWriter, listDir, maybeGunzip, mnistDataDir, NotFoundError, WriteError, type Unreadable } from "./files.js";
export type { WriteOptions, FileWriter } from "./files.js";
export { cifar10FromBytes, loadCifar10, CIFAR10_CLASSES } from "./cifar10.js";
export { decodeImage, imageToArray, loadImage, loadImageFolder, encodePng, fromImageData, fromCanvas } from "./images.js";
export type { ImageToArrayOptions } from "./images.js";
export type { Rgba, CanvasLike } from "./images.js";
