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

/** A text document as the extension sees it. */
export interface FakeDocument {
    languageId: string;
    uri: { scheme: string; fsPath: string; toString(): string };
}

/** A diagnostic as the extension reads it. */
export interface FakeDiagnostic {
    source?: string;
    severity: number;
    message: string;
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
    documents: [] as FakeDocument[],
    openListeners: [] as Array<Listener<FakeDocument>>,
    /** Files findFiles can find (absolute paths). */
    files: [] as string[],
    languageSwitches: [] as Array<{ path: string; from: string; to: string }>,
    diagnostics: [] as Array<[{ fsPath: string }, FakeDiagnostic[]]>,
    diagnosticListeners: [] as Array<Listener<unknown>>,
    statusItems: [] as FakeStatusBarItem[],
    taskProviders: new Map<string, TaskProviderLike>(),
    outputChannels: [] as Array<{ name: string; options: unknown }>,
};

export function reset(): void {
    state.defaults = {};
    state.user = {};
    state.workspaceFolders = undefined;
    state.commands.clear();
    state.executed = [];
    state.errors = [];
    state.configListeners = [];
    state.documents = [];
    state.openListeners = [];
    state.files = [];
    state.languageSwitches = [];
    state.diagnostics = [];
    state.diagnosticListeners = [];
    state.statusItems = [];
    state.taskProviders.clear();
    state.outputChannels = [];
}

/** A document on disk (scheme file) or untitled. */
export function document(fsPath: string, languageId: string, scheme = 'file'): FakeDocument {
    return { languageId, uri: { scheme, fsPath, toString: () => `${scheme}://${fsPath}` } };
}

/** Open a document, as the editor would: it joins textDocuments and onDidOpenTextDocument fires. */
export function openDocument(doc: FakeDocument): void {
    state.documents.push(doc);
    for (const listener of [...state.openListeners]) {
        listener(doc);
    }
}

/** Replace every file's diagnostics and fire onDidChangeDiagnostics. */
export function setDiagnostics(entries: Array<[string, FakeDiagnostic[]]>): void {
    state.diagnostics = entries.map(([fsPath, diagnostics]) => [{ fsPath }, diagnostics]);
    for (const listener of [...state.diagnosticListeners]) {
        listener({ uris: entries.map(([fsPath]) => ({ fsPath })) });
    }
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
    get textDocuments() {
        return state.documents;
    },
    onDidOpenTextDocument(listener: Listener<FakeDocument>): Disposable {
        state.openListeners.push(listener);
        return { dispose: () => state.openListeners.splice(state.openListeners.indexOf(listener), 1) };
    },
    /** Only globs of the form "**" + "/name": the files whose base name is name. */
    findFiles(include: string, _exclude?: string, maxResults?: number): Promise<Array<{ fsPath: string }>> {
        const name = include.replace(/^\*\*\//, '');
        const found = state.files.filter((file) => file.split('/').pop() === name).map((fsPath) => ({ fsPath }));
        return Promise.resolve(found.slice(0, maxResults ?? found.length));
    },
};

export const languages = {
    /** Like VS Code: the document is closed and opened again with the new language. */
    setTextDocumentLanguage(doc: FakeDocument, languageId: string): Promise<FakeDocument> {
        state.languageSwitches.push({ path: doc.uri.fsPath, from: doc.languageId, to: languageId });
        state.documents = state.documents.filter((item) => item !== doc);
        const reopened = { ...doc, languageId };
        openDocument(reopened);
        return Promise.resolve(reopened);
    },
    getDiagnostics(): Array<[{ fsPath: string }, FakeDiagnostic[]]> {
        return state.diagnostics;
    },
    onDidChangeDiagnostics(listener: Listener<unknown>): Disposable {
        state.diagnosticListeners.push(listener);
        return { dispose: () => state.diagnosticListeners.splice(state.diagnosticListeners.indexOf(listener), 1) };
    },
};

export const StatusBarAlignment = { Left: 1, Right: 2 } as const;

export class ThemeColor {
    constructor(readonly id: string) {}
}

export class FakeStatusBarItem {
    text = '';
    tooltip: string | undefined = undefined;
    command: string | undefined = undefined;
    name: string | undefined = undefined;
    backgroundColor: ThemeColor | undefined = undefined;
    visible = false;
    disposed = false;
    constructor(
        readonly id: string,
        readonly alignment: number,
        readonly priority: number,
    ) {}
    show(): void {
        this.visible = true;
    }
    hide(): void {
        this.visible = false;
    }
    dispose(): void {
        this.disposed = true;
        this.visible = false;
    }
}

export const TaskScope = { Global: 1, Workspace: 2 } as const;

export class ProcessExecution {
    constructor(
        readonly process: string,
        readonly args: string[],
        readonly options?: { cwd?: string; env?: Record<string, string> },
    ) {}
}

export class Task {
    constructor(
        readonly definition: { type: string; [key: string]: unknown },
        readonly scope: unknown,
        readonly name: string,
        readonly source: string,
        readonly execution?: ProcessExecution,
        readonly problemMatchers?: string | string[],
    ) {}
}

export interface TaskProviderLike {
    provideTasks(): Promise<Task[]> | Task[];
    resolveTask(task: Task): Promise<Task | undefined> | Task | undefined;
}

export const tasks = {
    registerTaskProvider(type: string, provider: TaskProviderLike): Disposable {
        state.taskProviders.set(type, provider);
        return { dispose: () => state.taskProviders.delete(type) };
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
    createStatusBarItem(id: string, alignment: number, priority: number): FakeStatusBarItem {
        const item = new FakeStatusBarItem(id, alignment, priority);
        state.statusItems.push(item);
        return item;
    },
    createOutputChannel(name: string, options?: unknown): FakeOutput {
        state.outputChannels.push({ name, options });
        return new FakeOutput();
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
    shown = 0;
    show(): void {
        this.shown += 1;
    }
    dispose(): void {}
}
