// CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin): records of 1 label byte and
// 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows of 32) → NHWC 32×32×3 in [0, 1].
import { ConfigError, FormatError, show, checkBytes } from "../errors.js";
import { makeDataset, type Dataset } from "./dataset.js";
import { NotFoundError, readBytes } from "./files.js";

export const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
const RECORD = 1 + 3072;

/** One or more batch files' bytes as a dataset; `sources` name them in errors. */
export function cifar10FromBytes(batches: Uint8Array[], names: string[] = []): Dataset {
  if (!Array.isArray(batches) || !Array.isArray(names)) throw new ConfigError(`cifar10FromBytes: expected a list of batches' bytes and a list of their names, got ${show(batches)} and ${show(names)}`);
  const sources = batches.map((_, i) => names[i] ?? `batch ${i}`);
  batches.forEach((b, i) => checkBytes(b, sources[i]!, "a CIFAR-10 batch's bytes"));
  batches.forEach((b, i) => {
    if (b.length === 0 || b.length % RECORD !== 0) {
      throw new FormatError(`${sources[i]}: ${b.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each)`);
    }
    for (let r = 0; r < b.length / RECORD; r++) {
      if (b[r * RECORD]! > 9) throw new FormatError(`${sources[i]}: record ${r} has label ${b[r * RECORD]}; CIFAR-10 labels are 0-9`);
    }
  });
  const n = batches.reduce((a, b) => a + b.length / RECORD, 0);
  const x = new Float32Array(n * 3072), y = new Int32Array(n);
  let i = 0;
  for (const b of batches) {
    for (let r = 0; r < b.length / RECORD; r++, i++) {
      const o = r * RECORD;
      y[i] = b[o]!;
      for (let p = 0; p < 1024; p++) {
        for (let c = 0; c < 3; c++) x[i * 3072 + p * 3 + c] = b[o + 1 + c * 1024 + p]! / 255;
      }
    }
  }
  return makeDataset(x, y, [32, 32, 3], CIFAR10_CLASSES);
}

/** The training batches (data_batch_1..5.bin) or test_batch.bin of a CIFAR-10 binary directory. */
export async function loadCifar10(dir: string, split: "train" | "test"): Promise<Dataset> {
  if (split !== "train" && split !== "test") throw new ConfigError(`loadCifar10: split must be "train" or "test", got ${show(split)}`);
  const base = dir.replace(/\/$/, "");
  const names = split === "train" ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ["test_batch.bin"];
  const paths = names.map((n) => `${base}/${n}`);
  // read together; a failure named in the files' order (the first to fail in time varied from run to run)
  const read = await Promise.allSettled(paths.map((p) => readBytes(p)));
  const failed = read.find((r) => r.status === "rejected");
  if (failed) {
    const e: unknown = failed.reason;
    // the file the user most likely lacks: say which set of files this is and where it comes from
    if (e instanceof NotFoundError && e.reason === "missing") {
      throw new NotFoundError(`${e.message}: ${dir} must hold CIFAR-10's binary version (data_batch_1.bin … data_batch_5.bin and test_batch.bin, from cifar-10-binary.tar.gz)`);
    }
    throw e;
  }
  return cifar10FromBytes(read.map((r) => (r.status === "fulfilled" ? r.value : new Uint8Array(0))), paths);
}
