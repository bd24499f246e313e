// The few process facts the CLI needs, without a dependency on Node's type definitions.
interface Proc {
  argv: string[];
  exitCode?: number;
  stdout: { write(s: string): boolean; isTTY?: boolean };
  stderr: { write(s: string): boolean };
  versions: { node?: string };
  env: Record<string, string | undefined>;
}
export const proc = (globalThis as { process?: Proc }).process!;
export const out = (s: string) => void proc.stdout.write(s + "\n");
export const err = (s: string) => void proc.stderr.write(s + "\n");
