// Types of server.mjs (the tests import it from TypeScript).
export function serve(root: string, options?: { isolated?: boolean; port?: number }): Promise<{ url: string; close(): Promise<void> }>;
