// Types of console/build.mjs for the TypeScript that imports it (local/start.ts).
export function consoleIsStale(): boolean;
export function buildConsole(options?: { force?: boolean; quiet?: boolean }): Promise<boolean>;
