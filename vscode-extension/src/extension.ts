/** Extension entry point: creates the "Kernel LSP" output channel and the controller. */

import * as vscode from 'vscode';
import { createLanguageClient } from './client';
import { Controller } from './controller';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const output = vscode.window.createOutputChannel('Kernel LSP', { log: true });
    controller = new Controller(output, createLanguageClient);
    context.subscriptions.push(output);
    await controller.activate();
}

export async function deactivate(): Promise<void> {
    await controller?.dispose();
    controller = undefined;
}
