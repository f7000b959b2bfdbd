/** What the status-bar item says: server state, index progress and finding counts; pure (no vscode). */

import { COMMANDS } from './commands';

/** The `source` of kernel-lsp's diagnostics. */
export const DIAGNOSTIC_SOURCE = 'kernel-lsp';

/** A `$/progress` work-done value (begin, report or end), as the server sends it. */
export interface ProgressValue {
    kind: 'begin' | 'report' | 'end';
    title?: string;
    message?: string;
    percentage?: number;
}

export interface FindingCounts {
    errors: number;
    warnings: number;
    notes: number;
    files: number;
}

/** A diagnostic as far as counting goes (vscode.Diagnostic fits; severity: 0 error, 1 warning, 2 information, 3 hint). */
export interface CountedDiagnostic {
    source?: string;
    severity: number;
}

export type ServerState =
    | { kind: 'stopped' }
    | { kind: 'starting' }
    | { kind: 'running' }
    | { kind: 'failed'; reason: string };

export interface StatusView {
    visible: boolean;
    text: string;
    tooltip: string;
    /** The command run on click. */
    command: string;
    /** Error background: the server is not running. */
    alert: boolean;
}

export const SHOW_OUTPUT_COMMAND = COMMANDS.showOutput;
export const SHOW_PROBLEMS_COMMAND = 'workbench.actions.view.problems';

/** Count kernel-lsp's diagnostics (source `kernel-lsp`) over all files. */
export function countFindings(entries: ReadonlyArray<readonly [unknown, readonly CountedDiagnostic[]]>): FindingCounts {
    const counts: FindingCounts = { errors: 0, warnings: 0, notes: 0, files: 0 };
    for (const [, diagnostics] of entries) {
        const ours = diagnostics.filter((diagnostic) => diagnostic.source === DIAGNOSTIC_SOURCE);
        counts.files += ours.length > 0 ? 1 : 0;
        for (const diagnostic of ours) {
            if (diagnostic.severity === 0) {
                counts.errors += 1;
            } else if (diagnostic.severity === 1) {
                counts.warnings += 1;
            } else {
                counts.notes += 1;
            }
        }
    }
    return counts;
}

function plural(count: number, word: string): string {
    return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function describeCounts(counts: FindingCounts): string {
    const parts = [plural(counts.errors, 'error'), plural(counts.warnings, 'warning')];
    if (counts.notes > 0) {
        parts.push(plural(counts.notes, 'note'));
    }
    return parts.join(', ');
}

interface ActiveProgress {
    title: string;
    message?: string;
    percentage?: number;
}

/** The status item's state; feed it events, read `view()`. */
export class StatusModel {
    private server: ServerState = { kind: 'stopped' };
    private readonly progress = new Map<string | number, ActiveProgress>();
    private counts: FindingCounts = { errors: 0, warnings: 0, notes: 0, files: 0 };

    setServer(state: ServerState): void {
        this.server = state;
        if (state.kind !== 'running') {
            this.progress.clear();
        }
    }

    onProgress(token: string | number, value: ProgressValue): void {
        if (value.kind === 'end') {
            this.progress.delete(token);
            return;
        }
        const previous = this.progress.get(token);
        this.progress.set(token, {
            title: value.title ?? previous?.title ?? 'working',
            message: value.message ?? previous?.message,
            percentage: value.percentage ?? previous?.percentage,
        });
    }

    setCounts(counts: FindingCounts): void {
        this.counts = counts;
    }

    view(): StatusView {
        const findings = `Findings: ${describeCounts(this.counts)} in ${plural(this.counts.files, 'file')}.`;
        switch (this.server.kind) {
            case 'stopped':
                return { visible: false, text: '', tooltip: '', command: SHOW_OUTPUT_COMMAND, alert: false };
            case 'starting':
                return this.item('$(sync~spin) kernel-lsp: starting', 'Starting the kernel-lsp server.', SHOW_OUTPUT_COMMAND);
            case 'failed':
                return {
                    ...this.item('$(error) kernel-lsp: not running', `${this.server.reason}\nClick to show the kernel-lsp output.`, SHOW_OUTPUT_COMMAND),
                    alert: true,
                };
            case 'running':
                return this.runningView(findings);
        }
    }

    private runningView(findings: string): StatusView {
        const active = [...this.progress.values()].pop();
        if (active) {
            const title = active.title.replace(/^kernel-lsp:\s*/, '');
            const percent = active.percentage === undefined ? '' : ` ${Math.round(active.percentage)}%`;
            const detail = active.message ? `kernel-lsp: ${title}: ${active.message}` : `kernel-lsp: ${title}`;
            return this.item(`$(sync~spin) kernel-lsp: ${title}${percent}`, `${detail}\n${findings}`, SHOW_OUTPUT_COMMAND);
        }
        const { errors, warnings, notes } = this.counts;
        if (errors + warnings + notes === 0) {
            return this.item('$(check) kernel-lsp', `kernel-lsp is running. ${findings}`, SHOW_PROBLEMS_COMMAND);
        }
        const text = `$(error) ${errors} $(warning) ${warnings}${notes > 0 ? ` $(info) ${notes}` : ''} kernel-lsp`;
        return this.item(text, `${findings}\nClick to open the Problems view.`, SHOW_PROBLEMS_COMMAND);
    }

    private item(text: string, tooltip: string, command: string): StatusView {
        return { visible: true, text, tooltip, command, alert: false };
    }
}
