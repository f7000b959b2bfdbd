/** The status-bar item: shows the StatusModel, fed by the server's progress and VS Code's diagnostics. */

import * as vscode from 'vscode';
import { countFindings, ProgressValue, ServerState, StatusModel } from './status';

export const STATUS_ITEM_ID = 'kernelLsp.status';

export class StatusBar implements vscode.Disposable {
    readonly model = new StatusModel();
    private readonly item: vscode.StatusBarItem;
    private readonly listener: vscode.Disposable;

    constructor() {
        this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Left, 10);
        this.item.name = 'kernel-lsp';
        this.listener = vscode.languages.onDidChangeDiagnostics(() => this.recount());
        this.recount();
    }

    setServer(state: ServerState): void {
        this.model.setServer(state);
        this.render();
    }

    /** A `$/progress` work-done value from the server. */
    onProgress(token: string | number, value: ProgressValue): void {
        this.model.onProgress(token, value);
        this.render();
    }

    /** Count the findings again (all files' diagnostics with source `kernel-lsp`). */
    recount(): void {
        this.model.setCounts(countFindings(vscode.languages.getDiagnostics()));
        this.render();
    }

    dispose(): void {
        this.listener.dispose();
        this.item.dispose();
    }

    private render(): void {
        const view = this.model.view();
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.command = view.command;
        this.item.backgroundColor = view.alert ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        if (view.visible) {
            this.item.show();
        } else {
            this.item.hide();
        }
    }
}
