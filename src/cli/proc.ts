// The few process facts the CLI needs, without a dependency on Node's type definitions.
interface Proc {
  argv: string[];
  exitCode?: number;
  stdout: { write(s: string): boolean; isTTY?: boolean };
  stderr: { write(s: string): boolean };
  versions: { node?: string };
  env: Record<string, string | undefined>;
  once(event: "SIGINT" | "SIGTERM", listener: () => void): void;
  removeListener(event: "SIGINT" | "SIGTERM", listener: () => void): void;
  exit(code: number): never;
}
export const proc = (globalThis as { process?: Proc }).process!;
export const out = (s: string) => void proc.stdout.write(s + "\n");
export const err = (s: string) => void proc.stderr.write(s + "\n");

/**
 * A usage mistake found after parsing (an unknown dataset, a file that is not a model, an image
 * that does not fit the model): a one-line error and exit code 2, like commander's own.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
