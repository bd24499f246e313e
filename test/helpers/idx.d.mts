export function idx(dims: number[], data: Uint8Array): Uint8Array;
/** n 28×28 images: class k is a bright vertical bar near column 3 + 2k, with noise. */
export function tinyMnist(n: number, seed: number): { images: Uint8Array; labels: Uint8Array };
export const gz: (b: Uint8Array) => Uint8Array;
/** A new temporary folder holding a tiny MNIST in its four IDX files: tinyMnist(train, 1), tinyMnist(test, 2). */
export function tinyMnistDir(prefix: string, train: number, test: number): string;
