/** Activation without the language-client library: the "kernel-lsp" output channel and the controller (the client factory injected). */

import * as vscode from 'vscode';
import { ClientFactory, Controller, defaultHostFactory } from './controller';

/** The output channel's name (docs/vscode.md tells users to pick it in View → Output). */
export const OUTPUT_CHANNEL = 'kernel-lsp';

export async function activateExtension(
    context: Pick<vscode.ExtensionContext, 'extensionPath' | 'subscriptions'>,
    createClient: ClientFactory,
): Promise<Controller> {
    const output = vscode.window.createOutputChannel(OUTPUT_CHANNEL, { log: true });
    context.subscriptions.push(output);
    const controller = new Controller(output, { createClient, makeHost: defaultHostFactory(context.extensionPath) });
    await controller.activate();
    return controller;
}
