/** The `kernel-lsp` task type: `kernel-lsp check` run by the discovered server program, read by the `$kernel-lsp` problem matcher. */

import * as vscode from 'vscode';
import { ServerCommand } from './discovery';
import { cliLaunch } from './launch';

export const TASK_TYPE = 'kernel-lsp';
export const PROBLEM_MATCHER = '$kernel-lsp';

export interface CheckTaskDefinition extends vscode.TaskDefinition {
    type: typeof TASK_TYPE;
    command: 'check';
    /** Files or directories to check (default: the whole tree). */
    paths?: string[];
    /** More `kernel-lsp check` options, e.g. `["--jobs", "4"]`. */
    args?: string[];
}

/** The `kernel-lsp check` arguments of a task definition, or what is wrong with it. */
export function checkArguments(definition: vscode.TaskDefinition): string[] | string {
    if (definition.command !== 'check') {
        return `a kernel-lsp task needs "command": "check", not ${JSON.stringify(definition.command)}`;
    }
    const extra: string[] = [];
    for (const key of ['paths', 'args'] as const) {
        const value: unknown = definition[key];
        if (value === undefined) {
            continue;
        }
        if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
            return `"${key}" of a kernel-lsp task must be an array of strings`;
        }
        extra.push(...(value as string[]));
    }
    return ['check', ...extra];
}

export class CheckTaskProvider implements vscode.TaskProvider {
    constructor(
        /** The server program (discovered now if need be), or why there is none. */
        private readonly server: () => Promise<ServerCommand | string>,
        private readonly log: (message: string) => void,
        /** Whether to offer the task (a kernel workspace; not a C++ project that merely activated the extension). */
        private readonly offered: () => boolean = () => true,
    ) {}

    async provideTasks(): Promise<vscode.Task[]> {
        const folder = vscode.workspace.workspaceFolders?.[0];
        if (!folder || !this.offered()) {
            return [];
        }
        const task = await this.build({ type: TASK_TYPE, command: 'check' }, folder);
        return task ? [task] : [];
    }

    async resolveTask(task: vscode.Task): Promise<vscode.Task | undefined> {
        if (task.definition.type !== TASK_TYPE) {
            return undefined;
        }
        const scope = task.scope ?? vscode.workspace.workspaceFolders?.[0];
        return scope === undefined ? undefined : this.build(task.definition, scope);
    }

    private async build(
        definition: vscode.TaskDefinition,
        scope: vscode.WorkspaceFolder | vscode.TaskScope,
    ): Promise<vscode.Task | undefined> {
        const args = checkArguments(definition);
        if (typeof args === 'string') {
            this.log(`Task: ${args}`);
            return undefined;
        }
        const server = await this.server();
        if (typeof server === 'string') {
            this.log(`Task: no kernel-lsp program to run the check (${server})`);
            return undefined;
        }
        const cwd = typeof scope === 'object' ? scope.uri.fsPath : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        const launch = cliLaunch(server, args, cwd);
        if (!launch) {
            this.log('Task: kernelLsp.server.path is a command line that does not end in "serve", so the check command cannot be derived from it');
            return undefined;
        }
        const execution = new vscode.ProcessExecution(launch.command, launch.args, launch.options);
        const name = args.length > 1 ? `check ${args.slice(1).join(' ')}` : 'check';
        return new vscode.Task(definition, scope, name, TASK_TYPE, execution, PROBLEM_MATCHER);
    }
}
