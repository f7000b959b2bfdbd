/** Owns the language client's life: when to start, discovery, restart on setting changes, the commands, status and tasks. */

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { COMMANDS, RequestSender, sendReindex } from './commands';
import { discoverServer, DiscoveryHost, DiscoverySettings, ServerCommand } from './discovery';
import { kernelRoot, readHeaderLanguage, shouldSwitchToC, startsServer, TreeHost } from './headers';
import { nodeDiscoveryHost } from './host';
import { HEADER_LANGUAGE_SECTION, needsRestart, SECTION, serverSettings, ServerSettings } from './settings';
import { ProgressValue } from './status';
import { StatusBar } from './statusbar';
import { CheckTaskProvider, TASK_TYPE } from './tasks';

/** The part of a language client the controller uses (vscode-languageclient's LanguageClient fits). */
export interface ManagedClient extends RequestSender {
    start(): Promise<void>;
    stop(timeout?: number): Promise<void>;
}

export type ClientState = 'starting' | 'running' | 'stopped';

export interface ClientSetup {
    initializationOptions: ServerSettings;
    /** The server's settings for a resource (`workspace/configuration` scopeUri), or the first folder. */
    settingsFor(scopeUri: string | undefined): ServerSettings;
    workspaceFolder: string | undefined;
    output: vscode.LogOutputChannel;
    /** Each `$/progress` work-done value the server sends. */
    onProgress(token: string | number, value: ProgressValue): void;
    /** The client's state changes (a server that exits on its own makes it `stopped`). */
    onState(state: ClientState): void;
}

export type ClientFactory = (server: ServerCommand, setup: ClientSetup) => ManagedClient;
export type HostFactory = (workspaceFolder: string | undefined, log: (message: string) => void) => DiscoveryHost;

export interface ControllerOptions {
    createClient: ClientFactory;
    /** The discovery host (default: the real one, with the extension's bundled server). */
    makeHost: HostFactory;
    /** File checks for finding kernel trees (default: the real file system). */
    tree?: TreeHost;
}

const STOP_TIMEOUT_MS = 2000;
const SHOW_OUTPUT = 'Show Output';
const OPEN_SETTINGS = 'Open Settings';

export const fsTreeHost: TreeHost = {
    exists: (file) => fs.existsSync(file),
    isDirectory: (file) => {
        try {
            return fs.statSync(file).isDirectory();
        } catch {
            return false;
        }
    },
};

export function defaultHostFactory(extensionPath: string): HostFactory {
    return (workspaceFolder, log) => nodeDiscoveryHost(extensionPath, workspaceFolder, log);
}

export class Controller implements vscode.Disposable {
    private client: ManagedClient | undefined;
    private server: ServerCommand | undefined;
    private started: Promise<boolean> = Promise.resolve(false);
    private queue: Promise<void> = Promise.resolve();
    private pending: Promise<void> | undefined;
    private wanted = false;
    private readonly disposables: vscode.Disposable[] = [];
    private readonly status: StatusBar;
    private readonly tree: TreeHost;

    constructor(
        private readonly output: vscode.LogOutputChannel,
        private readonly options: ControllerOptions,
    ) {
        this.tree = options.tree ?? fsTreeHost;
        this.status = new StatusBar();
    }

    /**
     * Register the commands, listeners and the task provider; switch open headers to C; start the
     * server now if a C file or a kernel-tree header is open or the workspace is a kernel tree,
     * else when the first such document opens (the extension also activates for C++ files).
     */
    async activate(): Promise<void> {
        this.disposables.push(
            this.status,
            vscode.commands.registerCommand(COMMANDS.reindex, () => this.reindex()),
            vscode.commands.registerCommand(COMMANDS.restart, () => this.restart('restart command')),
            vscode.commands.registerCommand(COMMANDS.showOutput, () => this.output.show()),
            vscode.workspace.onDidChangeConfiguration((event) => this.onConfiguration(event)),
            vscode.workspace.onDidOpenTextDocument((document) => this.onOpen(document)),
            vscode.tasks.registerTaskProvider(
                TASK_TYPE,
                new CheckTaskProvider(() => this.serverForTask(), (m) => this.output.info(m), () => this.wanted),
            ),
        );
        const documents = [...vscode.workspace.textDocuments];
        await Promise.all(documents.map((document) => this.switchHeader(document)));
        if (documents.some((document) => startsServer(document, this.tree)) || (await this.isKernelWorkspace())) {
            await this.restart('activation');
        } else {
            this.output.info('Waiting for a C file or a kernel-tree header to be opened before starting the server');
        }
    }

    /**
     * Stop the running server (if any) and start a new one with the current settings. Restarts run one
     * at a time; requests made while one is still waiting to run share it (it reads the newest settings).
     */
    restart(reason: string): Promise<void> {
        this.wanted = true;
        if (this.pending) {
            return this.pending;
        }
        const run = this.queue
            .then(() => {
                this.pending = undefined;
                return this.startServer(reason);
            })
            .catch((error: unknown) => this.output.error(`Restart failed: ${describe(error)}`));
        this.pending = run;
        this.queue = run;
        return run;
    }

    /** Resolves when no restart is queued or running. */
    idle(): Promise<void> {
        return this.queue;
    }

    /** `kernelLsp.reindex`: ask the running server to rebuild its model. */
    async reindex(): Promise<void> {
        const client = (await this.started) ? this.client : undefined;
        if (!client) {
            void vscode.window.showErrorMessage(
                'Kernel LSP: the server is not running, so it cannot reindex. See the "kernel-lsp" output.',
            );
            return;
        }
        this.output.info('Reindex requested');
        try {
            await sendReindex(client);
        } catch (error) {
            this.output.error(`Reindex failed: ${describe(error)}`);
            void vscode.window.showErrorMessage(`Kernel LSP: reindex failed: ${describe(error)}`);
        }
    }

    async dispose(): Promise<void> {
        for (const disposable of this.disposables.splice(0)) {
            disposable.dispose();
        }
        await this.idle();
        await this.stopServer();
    }

    private onConfiguration(event: vscode.ConfigurationChangeEvent): void {
        if (event.affectsConfiguration(HEADER_LANGUAGE_SECTION)) {
            vscode.workspace.textDocuments.forEach((document) => void this.switchHeader(document));
        }
        if (this.wanted && needsRestart((section) => event.affectsConfiguration(section))) {
            void this.restart('settings changed');
        }
    }

    private onOpen(document: vscode.TextDocument): void {
        void this.switchHeader(document);
        if (!this.wanted && startsServer(document, this.tree)) {
            void this.restart(`${path.basename(document.uri.fsPath)} was opened`);
        }
    }

    /** With `kernelLsp.headerLanguage` "c", a kernel-tree `.h` file VS Code opened as C++ becomes C. */
    private async switchHeader(document: vscode.TextDocument): Promise<void> {
        const setting = readHeaderLanguage(vscode.workspace.getConfiguration(SECTION, document.uri).get<unknown>('headerLanguage'));
        if (setting.problem) {
            this.output.warn(setting.problem);
        }
        if (!shouldSwitchToC(document, setting.value, this.tree)) {
            return;
        }
        try {
            await vscode.languages.setTextDocumentLanguage(document, 'c');
            this.output.info(`${document.uri.fsPath}: opened as C++, switched to C (kernelLsp.headerLanguage)`);
        } catch (error) {
            this.output.warn(`${document.uri.fsPath}: could not switch to C: ${describe(error)}`);
        }
    }

    /** A workspace folder inside a kernel tree, or a `kernel-lsp.toml` anywhere in the workspace. */
    private async isKernelWorkspace(): Promise<boolean> {
        const folders = vscode.workspace.workspaceFolders ?? [];
        if (folders.some((folder) => kernelRoot(path.join(folder.uri.fsPath, '_'), this.tree) !== undefined)) {
            return true;
        }
        return folders.length > 0 && (await vscode.workspace.findFiles('**/kernel-lsp.toml', '**/node_modules/**', 1)).length > 0;
    }

    private async discover(): Promise<ServerCommand | string> {
        const folder = vscode.workspace.workspaceFolders?.[0];
        const host = this.options.makeHost(folder?.uri.fsPath, (message) => this.output.info(message));
        const found = await discoverServer(readDiscoverySettings(folder?.uri), host);
        return found.ok ? found.server : found.message;
    }

    /** The program the check task runs: the running server's, or a fresh discovery. */
    private async serverForTask(): Promise<ServerCommand | string> {
        return this.server ?? this.discover();
    }

    private async startServer(reason: string): Promise<void> {
        await this.stopServer();
        const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        this.output.info(`Starting the server (${reason})`);
        this.status.setServer({ kind: 'starting' });
        const found = await this.discover();
        if (typeof found === 'string') {
            this.output.error(found);
            this.status.setServer({ kind: 'failed', reason: 'No kernel-lsp server could be started.' });
            void this.notify(found);
            return;
        }
        this.server = found;
        const initializationOptions = settingsFor(undefined);
        this.output.info(`initializationOptions: ${JSON.stringify(initializationOptions)}`);
        let client: ManagedClient | undefined = undefined;
        const setup: ClientSetup = {
            initializationOptions,
            settingsFor,
            workspaceFolder,
            output: this.output,
            onProgress: (token, value) => this.status.onProgress(token, value),
            onState: (state) => {
                if (client !== undefined && client === this.client) {
                    this.onClientState(state);
                }
            },
        };
        client = this.options.createClient(found, setup);
        this.client = client;
        this.started = client.start().then(
            () => {
                this.status.setServer({ kind: 'running' });
                return true;
            },
            (error: unknown) => {
                const message = `Kernel LSP: the server did not start (${describe(error)}).`;
                this.output.error(message);
                this.status.setServer({ kind: 'failed', reason: message });
                void this.notify(message);
                return false;
            },
        );
        await this.started;
    }

    private onClientState(state: ClientState): void {
        if (state === 'stopped') {
            this.status.setServer({ kind: 'failed', reason: 'The kernel-lsp server stopped.' });
        } else if (state === 'running') {
            this.status.setServer({ kind: 'running' });
        }
    }

    private async stopServer(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.server = undefined;
        this.started = Promise.resolve(false);
        this.status.setServer({ kind: 'stopped' });
        if (!client) {
            return;
        }
        try {
            await client.stop(STOP_TIMEOUT_MS);
        } catch (error) {
            this.output.warn(`Stopping the server: ${describe(error)}`);
        }
    }

    private async notify(message: string): Promise<void> {
        const choice = await vscode.window.showErrorMessage(message, SHOW_OUTPUT, OPEN_SETTINGS);
        if (choice === SHOW_OUTPUT) {
            this.output.show();
        } else if (choice === OPEN_SETTINGS) {
            await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.server`);
        }
    }
}

/** The server keys the user set, for `scopeUri` or else the first workspace folder. */
export function settingsFor(scopeUri: string | undefined): ServerSettings {
    const scope = scopeUri ? vscode.Uri.parse(scopeUri) : vscode.workspace.workspaceFolders?.[0]?.uri;
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return serverSettings((key) => config.inspect<unknown>(key));
}

/** Read the discovery settings. */
export function readDiscoverySettings(scope: vscode.Uri | undefined): DiscoverySettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return { serverPath: config.get<unknown>('server.path'), python: config.get<unknown>('server.python') };
}

function describe(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
