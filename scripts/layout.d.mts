/** The TS mirror of the constants in assembly/common/geometry.ts (see layout.mjs). */
export function layoutModule(source: string): string;
