/** Maps VS Code settings to what the server receives, and decides which setting changes restart it; pure. */

/** The settings section of this extension and the LSP client id (so `kernelLsp.trace.server` works). */
export const SECTION = 'kernelLsp';

/** Keys of the `kernelLsp` section that the server reads; `server.*` and `trace.*` are the client's own. */
export const SERVER_KEYS = [
    'includePaths',
    'arch',
    'exclude',
    'severity',
    'disable',
    'debounceMs',
    'jobs',
    'maxFileBytes',
] as const;

export type ServerKey = (typeof SERVER_KEYS)[number];

/** `initializationOptions` and the answer to `workspace/configuration` for section `kernelLsp`. */
export type ServerSettings = Partial<Record<ServerKey, unknown>>;

/** Settings whose change restarts the server. */
export const RESTART_SECTIONS = [SECTION, 'python.defaultInterpreterPath'] as const;

/** Documents the server is given: C files and untitled C buffers, and every `.h` file whatever its language. */
export const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'c' },
    { scheme: 'untitled', language: 'c' },
    { scheme: 'file', pattern: '**/*.h' },
];

/**
 * Pick the server's keys out of the `kernelLsp` section (a plain object, as `get("kernelLsp")` returns
 * it). Values are passed through unchecked (the server validates them and reports bad ones); unset keys
 * are left out; values are deep-copied so the result is plain JSON.
 */
export function serverSettings(section: unknown): ServerSettings {
    const out: ServerSettings = {};
    if (typeof section !== 'object' || section === null) {
        return out;
    }
    const record = section as Record<string, unknown>;
    for (const key of SERVER_KEYS) {
        if (record[key] !== undefined) {
            out[key] = JSON.parse(JSON.stringify(record[key])) as unknown;
        }
    }
    return out;
}

/** Rewrite the client's answer to `workspace/configuration`: section `kernelLsp` gets `serverSettings`. */
export function mapConfigurationResult(items: ReadonlyArray<{ section?: string }>, results: unknown[]): unknown[] {
    return results.map((value, index) => (items[index]?.section === SECTION ? serverSettings(value) : value));
}

/** True when a configuration change (given as `affectsConfiguration`) must restart the server. */
export function needsRestart(affects: (section: string) => boolean): boolean {
    return RESTART_SECTIONS.some((section) => affects(section));
}
