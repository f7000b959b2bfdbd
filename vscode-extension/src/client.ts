/** Builds the vscode-languageclient client that runs the discovered server over stdio. */

import {
    Executable,
    LanguageClient,
    LanguageClientOptions,
    LSPAny,
    State,
} from 'vscode-languageclient/node';
import { ClientSetup, ClientState, ManagedClient } from './controller';
import { ServerCommand } from './discovery';
import { serverLaunch } from './launch';
import { DOCUMENT_SELECTOR, mapConfigurationResult, SECTION } from './settings';

const STATES: Record<State, ClientState> = {
    [State.Starting]: 'starting',
    [State.Running]: 'running',
    [State.Stopped]: 'stopped',
    [State.StartFailed]: 'stopped',
};

export function createLanguageClient(server: ServerCommand, setup: ClientSetup): ManagedClient {
    // No `transport`: for a command, vscode-languageclient would append --stdio (see launch.ts).
    const executable: Executable = serverLaunch(server, setup.workspaceFolder, process.env);
    const clientOptions: LanguageClientOptions = {
        documentSelector: DOCUMENT_SELECTOR,
        initializationOptions: setup.initializationOptions,
        outputChannel: setup.output,
        traceOutputChannel: setup.output,
        middleware: {
            workspace: {
                // Section "kernelLsp" is answered with the same keys as initializationOptions.
                configuration: async (params, token, next) => {
                    const result = await next(params, token);
                    // The rewritten values are JSON copies of the settings, so they are LSPAny.
                    return Array.isArray(result) ? (mapConfigurationResult(params.items, result, setup.settingsFor) as LSPAny[]) : result;
                },
            },
            // The index progress feeds the status bar too; VS Code still shows its own progress.
            handleWorkDoneProgress: (token, params, next) => {
                setup.onProgress(token, params);
                next(token, params);
            },
        },
    };
    // The id is the settings section, so vscode-languageclient reads the trace level from kernelLsp.trace.server.
    const client = new LanguageClient(SECTION, 'Kernel LSP', executable, clientOptions);
    client.onDidChangeState((event) => setup.onState(STATES[event.newState]));
    return client;
}
