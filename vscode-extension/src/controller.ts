/** Owns the language client's life: discovery, start, restart on setting changes, and the commands. */

import * as vscode from 'vscode';
import { COMMANDS, RequestSender, sendReindex } from './commands';
import { discoverServer, DiscoveryHost, DiscoverySettings, nodeDiscoveryHost, ServerCommand } from './discovery';
import { needsRestart, SECTION, serverSettings, ServerSettings } from './settings';

/** The part of a language client the controller uses (vscode-languageclient's LanguageClient fits). */
export interface ManagedClient extends RequestSender {
    start(): Promise<void>;
    stop(timeout?: number): Promise<void>;
}

export interface ClientSetup {
    initializationOptions: ServerSettings;
    /** The server's settings for a resource (`workspace/configuration` scopeUri), or the first folder. */
    settingsFor(scopeUri: string | undefined): ServerSettings;
    workspaceFolder: string | undefined;
    output: vscode.LogOutputChannel;
}

export type ClientFactory = (server: ServerCommand, setup: ClientSetup) => ManagedClient;
export type HostFactory = (workspaceFolder: string | undefined, log: (message: string) => void) => DiscoveryHost;

const STOP_TIMEOUT_MS = 2000;
const SHOW_OUTPUT = 'Show Output';
const OPEN_SETTINGS = 'Open Settings';

export class Controller implements vscode.Disposable {
    private client: ManagedClient | undefined;
    private started: Promise<boolean> = Promise.resolve(false);
    private queue: Promise<void> = Promise.resolve();
    private pending: Promise<void> | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly output: vscode.LogOutputChannel,
        private readonly createClient: ClientFactory,
        private readonly makeHost: HostFactory = nodeDiscoveryHost,
    ) {}

    /** Register the commands and the settings listener, then start the server. */
    activate(): Promise<void> {
        this.disposables.push(
            vscode.commands.registerCommand(COMMANDS.reindex, () => this.reindex()),
            vscode.commands.registerCommand(COMMANDS.restart, () => this.restart('restart command')),
            vscode.workspace.onDidChangeConfiguration((event) => {
                if (needsRestart((section) => event.affectsConfiguration(section))) {
                    void this.restart('settings changed');
                }
            }),
        );
        return this.restart('activation');
    }

    /**
     * Stop the running server (if any) and start a new one with the current settings. Restarts run one
     * at a time; requests made while one is still waiting to run share it (it reads the newest settings).
     */
    restart(reason: string): Promise<void> {
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
                'Kernel LSP: the server is not running, so it cannot reindex. See the "Kernel LSP" output.',
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

    private async startServer(reason: string): Promise<void> {
        await this.stopServer();
        const folder = vscode.workspace.workspaceFolders?.[0];
        const workspaceFolder = folder?.uri.fsPath;
        this.output.info(`Starting the server (${reason})`);
        const host = this.makeHost(workspaceFolder, (message) => this.output.info(message));
        const found = discoverServer(readDiscoverySettings(folder?.uri), host);
        if (!found.ok) {
            this.output.error(found.message);
            void this.notify(found.message);
            return;
        }
        const initializationOptions = settingsFor(undefined);
        this.output.info(`initializationOptions: ${JSON.stringify(initializationOptions)}`);
        const setup = { initializationOptions, settingsFor, workspaceFolder, output: this.output };
        const client = this.createClient(found.server, setup);
        this.client = client;
        this.started = client.start().then(
            () => true,
            (error: unknown) => {
                const message = `Kernel LSP: the server did not start (${describe(error)}).`;
                this.output.error(message);
                void this.notify(message);
                return false;
            },
        );
        await this.started;
    }

    private async stopServer(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.started = Promise.resolve(false);
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

/** Read the discovery settings; `python.defaultInterpreterPath` counts only when the user set it. */
export function readDiscoverySettings(scope: vscode.Uri | undefined): DiscoverySettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    const python = vscode.workspace.getConfiguration('python', scope).inspect<unknown>('defaultInterpreterPath');
    return {
        serverPath: config.get<unknown>('server.path'),
        python: config.get<unknown>('server.python'),
        defaultInterpreterPath: python?.workspaceFolderValue ?? python?.workspaceValue ?? python?.globalValue,
    };
}

function describe(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
