/** Extension entry point: activation with the real vscode-languageclient client. */

import * as vscode from 'vscode';
import { activateExtension } from './activate';
import { createLanguageClient } from './client';
import { Controller } from './controller';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    controller = await activateExtension(context, createLanguageClient);
}

export async function deactivate(): Promise<void> {
    await controller?.dispose();
    controller = undefined;
}
