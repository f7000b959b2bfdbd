/** Turns a discovered server into the process to spawn (server or CLI subcommand); pure. */

import { ServerCommand } from './discovery';

export interface Launch {
    command: string;
    args: string[];
    options: { cwd: string | undefined; env: Record<string, string> };
}

/** The environment for the process: VS Code's own, plus the server's variables (they win). */
export function launchEnv(server: ServerCommand, base: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(base)) {
        if (value !== undefined) {
            env[key] = value;
        }
    }
    return { ...env, ...(server.env ?? {}) };
}

/**
 * The language server process. The environment is complete (vscode-languageclient hands an
 * executable's `options.env` to `spawn` as it is), and no transport is named: for a command,
 * vscode-languageclient would append `--stdio`, which `kernel-lsp serve` rejects; stdio is its default.
 */
export function serverLaunch(server: ServerCommand, cwd: string | undefined, base: Readonly<Record<string, string | undefined>>): Launch {
    return { command: server.command, args: [...server.args], options: { cwd, env: launchEnv(server, base) } };
}

/**
 * `kernel-lsp <subcommand>` with the same program, as a task runs it (VS Code merges a task's `env`
 * into its own, so only the server's variables are given); undefined when the command line cannot run the CLI.
 */
export function cliLaunch(server: ServerCommand, subcommand: string[], cwd: string | undefined): Launch | undefined {
    if (server.cli === undefined) {
        return undefined;
    }
    return { command: server.command, args: [...server.cli, ...subcommand], options: { cwd, env: { ...(server.env ?? {}) } } };
}
