/** A stand-in for the `vscode` module, with just what the extension uses, that tests can drive and inspect. */

type Listener<T> = (event: T) => unknown;

export interface Disposable {
    dispose(): void;
}

function getPath(tree: Record<string, unknown>, key: string): unknown {
    let node: unknown = tree;
    for (const part of key.split('.')) {
        if (typeof node !== 'object' || node === null) {
            return undefined;
        }
        node = (node as Record<string, unknown>)[part];
    }
    return node;
}

function setPath(tree: Record<string, unknown>, key: string, value: unknown): void {
    const parts = key.split('.');
    let node = tree;
    for (const part of parts.slice(0, -1)) {
        if (typeof node[part] !== 'object' || node[part] === null) {
            node[part] = {};
        }
        node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
}

function merge(base: unknown, over: unknown): unknown {
    if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null) {
        return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(over as Record<string, unknown>)) {
        out[key] = merge(out[key], value);
    }
    return out;
}

/** Settings in two layers, like VS Code: contributed defaults and the user's values (flat dotted keys). */
export const state = {
    defaults: {} as Record<string, unknown>,
    user: {} as Record<string, unknown>,
    workspaceFolders: undefined as Array<{ uri: { fsPath: string }; name: string; index: number }> | undefined,
    commands: new Map<string, (...args: unknown[]) => unknown>(),
    executed: [] as Array<{ command: string; args: unknown[] }>,
    errors: [] as string[],
    configListeners: [] as Array<Listener<{ affectsConfiguration(section: string): boolean }>>,
};

export function reset(): void {
    state.defaults = {};
    state.user = {};
    state.workspaceFolders = undefined;
    state.commands.clear();
    state.executed = [];
    state.errors = [];
    state.configListeners = [];
}

function tree(layer: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(layer)) {
        setPath(out, key, value);
    }
    return out;
}

/** Change user settings and fire onDidChangeConfiguration, as the Settings editor would. */
export function updateSettings(changes: Record<string, unknown>): void {
    Object.assign(state.user, changes);
    const changed = Object.keys(changes);
    const event = {
        affectsConfiguration: (section: string) =>
            changed.some((key) => key === section || key.startsWith(`${section}.`) || section.startsWith(`${key}.`)),
    };
    for (const listener of state.configListeners) {
        listener(event);
    }
}

export const workspace = {
    get workspaceFolders() {
        return state.workspaceFolders;
    },
    getConfiguration(section?: string) {
        const prefix = section ? `${section}.` : '';
        const full = (key: string) => prefix + key;
        return {
            get<T>(key: string, fallback?: T): T | undefined {
                const value = merge(getPath(tree(state.defaults), full(key)), getPath(tree(state.user), full(key)));
                return (value === undefined ? fallback : value) as T | undefined;
            },
            inspect<T>(key: string) {
                return {
                    key: full(key),
                    defaultValue: getPath(tree(state.defaults), full(key)) as T | undefined,
                    globalValue: getPath(tree(state.user), full(key)) as T | undefined,
                    workspaceValue: undefined as T | undefined,
                    workspaceFolderValue: undefined as T | undefined,
                };
            },
        };
    },
    onDidChangeConfiguration(listener: Listener<{ affectsConfiguration(section: string): boolean }>): Disposable {
        state.configListeners.push(listener);
        return { dispose: () => state.configListeners.splice(state.configListeners.indexOf(listener), 1) };
    },
};

export const Uri = {
    parse(value: string) {
        return { fsPath: value.replace(/^file:\/\//, ''), toString: () => value };
    },
};

export const window = {
    showErrorMessage(message: string): Promise<string | undefined> {
        state.errors.push(message);
        return Promise.resolve(undefined);
    },
};

export const commands = {
    registerCommand(command: string, callback: (...args: unknown[]) => unknown): Disposable {
        state.commands.set(command, callback);
        return { dispose: () => state.commands.delete(command) };
    },
    executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
        state.executed.push({ command, args });
        const callback = state.commands.get(command);
        return Promise.resolve(callback?.(...args));
    },
};

/** A LogOutputChannel that records its lines. */
export class FakeOutput {
    readonly lines: string[] = [];
    info(message: string): void {
        this.lines.push(`info ${message}`);
    }
    warn(message: string): void {
        this.lines.push(`warn ${message}`);
    }
    error(message: string): void {
        this.lines.push(`error ${message}`);
    }
    show(): void {}
}
