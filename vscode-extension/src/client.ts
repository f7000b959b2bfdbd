/** Builds the vscode-languageclient client that runs the discovered server over stdio. */

import {
    LanguageClient,
    LanguageClientOptions,
    LSPAny,
    ServerOptions,
    TransportKind,
} from 'vscode-languageclient/node';
import { ClientSetup, ManagedClient } from './controller';
import { ServerCommand } from './discovery';
import { DOCUMENT_SELECTOR, mapConfigurationResult, SECTION } from './settings';

export function createLanguageClient(server: ServerCommand, setup: ClientSetup): ManagedClient {
    const serverOptions: ServerOptions = {
        command: server.command,
        args: server.args,
        transport: TransportKind.stdio,
        options: { cwd: setup.workspaceFolder },
    };
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
        },
    };
    // The id is the settings section, so vscode-languageclient reads the trace level from kernelLsp.trace.server.
    return new LanguageClient(SECTION, 'Kernel LSP', serverOptions, clientOptions);
}
