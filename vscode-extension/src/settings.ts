/** Maps VS Code settings to what the server receives, and decides which setting changes restart it; pure. */

/** The settings section of this extension and the LSP client id (so `kernelLsp.trace.server` works). */
export const SECTION = 'kernelLsp';

/** Keys of the `kernelLsp` section that the server reads; `server.*`, `trace.*` and `headerLanguage` are the client's own. */
export const SERVER_KEYS = [
    'includePaths',
    'arch',
    'exclude',
    'severity',
    'disable',
    'debounceMs',
    'jobs',
    'maxFileBytes',
    'docsUrl',
] as const;

export type ServerKey = (typeof SERVER_KEYS)[number];

/** `initializationOptions` and the answer to `workspace/configuration` for section `kernelLsp`. */
export type ServerSettings = Partial<Record<ServerKey, unknown>>;

/** Settings whose change restarts the server: what it receives, how it is found, the trace level. */
export const RESTART_SECTIONS: readonly string[] = [
    `${SECTION}.server`,
    `${SECTION}.trace`,
    ...SERVER_KEYS.map((key) => `${SECTION}.${key}`),
];

/** The client's own setting for `.h` files opened as C++ (changing it restarts nothing). */
export const HEADER_LANGUAGE_SECTION = `${SECTION}.headerLanguage`;

/**
 * Documents the server is given: C files and untitled C buffers, and every `.h` file whatever its
 * language (VS Code opens `.h` as C++ unless `kernelLsp.headerLanguage` switches it to C).
 */
export const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'c' },
    { scheme: 'untitled', language: 'c' },
    { scheme: 'file', pattern: '**/*.h' },
    // design specifications (docs/design.md): diagnostics, hover, definition, "Verify demand"
    { scheme: 'file', pattern: '**/*.demand.yaml' },
    { scheme: 'file', pattern: '**/*.layers.yaml' },
];

/** One setting's values per level, as `WorkspaceConfiguration.inspect` gives them. */
export interface InspectedSetting {
    globalValue?: unknown;
    workspaceValue?: unknown;
    workspaceFolderValue?: unknown;
}

/**
 * The server keys the user set (in user, workspace or folder settings; the most specific wins).
 * Keys left at their default are not sent, so `kernel-lsp.toml` and the server's own defaults apply
 * to them (an empty `includePaths` would otherwise switch off include auto-detection). Values are
 * passed through unchecked (the server validates them and reports bad ones) as plain JSON copies.
 */
export function serverSettings(inspect: (key: ServerKey) => InspectedSetting | undefined): ServerSettings {
    const out: ServerSettings = {};
    for (const key of SERVER_KEYS) {
        const levels = inspect(key);
        const value = [levels?.workspaceFolderValue, levels?.workspaceValue, levels?.globalValue].find(
            (item) => item !== undefined,
        );
        if (value !== undefined) {
            out[key] = JSON.parse(JSON.stringify(value)) as unknown;
        }
    }
    return out;
}

/**
 * Rewrite the client's answer to `workspace/configuration`: an item for section `kernelLsp` gets
 * `settingsFor(scopeUri)` (the same keys as `initializationOptions`); other items are left alone.
 */
export function mapConfigurationResult(
    items: ReadonlyArray<{ section?: string; scopeUri?: string }>,
    results: unknown[],
    settingsFor: (scopeUri: string | undefined) => ServerSettings,
): unknown[] {
    return results.map((value, index) =>
        items[index]?.section === SECTION ? settingsFor(items[index].scopeUri) : value,
    );
}

/** True when a configuration change (given as `affectsConfiguration`) must restart the server. */
export function needsRestart(affects: (section: string) => boolean): boolean {
    return RESTART_SECTIONS.some((section) => affects(section));
}
