// Every ONNX op fovea imports and every layer type it exports, by family: each family's file keeps
// an op's import next to its export. To support a new op, add its handlers there (or a new family
// file listed here); nothing else in io/onnx changes.
import type { Exporter, Importer, Rewrite } from "./context.js";
import * as activation from "./ops/activation.js";
import * as conv from "./ops/conv.js";
import * as gemm from "./ops/gemm.js";
import * as merge from "./ops/merge.js";
import * as norm from "./ops/norm.js";
import * as pool from "./ops/pool.js";
import * as resize from "./ops/resize.js";
import * as shape from "./ops/shape.js";

/**
 * A family: its ops' importers, its layers' exporters, rewrites of decomposed ops it recognises, and
 * the exporters that take features flattened from an image as ONNX holds them (flatAware; the
 * others get them in fovea's order).
 */
interface Family { importers: Record<string, Importer>; exporters: Record<string, Exporter>; rewrites?: Rewrite[]; flatAware?: readonly string[] }
const FAMILIES: Family[] = [shape, conv, pool, gemm, activation, norm, merge, resize];

/** ONNX op type → its importer. */
export const IMPORTERS: Readonly<Record<string, Importer>> = Object.assign({}, ...FAMILIES.map((f) => f.importers));

/** Rewrites of the node list before import (decompositions recognised as one op), by family. */
export const REWRITES: readonly Rewrite[] = FAMILIES.flatMap((f) => f.rewrites ?? []);

/** The layer types whose exporters take features flattened from an image in ONNX's CHW order. */
export const FLAT_AWARE: ReadonlySet<string> = new Set(FAMILIES.flatMap((f) => f.flatAware ?? []));

/** fovea layer type → its exporter. */
export const EXPORTERS: Readonly<Record<string, Exporter>> = Object.assign({}, ...FAMILIES.map((f) => f.exporters));
