/** Finds the command that starts the kernel-lsp server; pure (file system and environment injected, no vscode). */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The settings discovery reads, as raw values (the user may have written anything). */
export interface DiscoverySettings {
    /** `kernelLsp.server.path`: executable path (string) or full command line (array). */
    serverPath: unknown;
    /** `kernelLsp.server.python`. */
    python: unknown;
    /** `python.defaultInterpreterPath`, only when the user set it (its default, "python", is ignored). */
    defaultInterpreterPath: unknown;
}

/** What discovery needs from the outside world. */
export interface DiscoveryHost {
    workspaceFolder: string | undefined;
    homeDir: string;
    env: Readonly<Record<string, string | undefined>>;
    platform: string;
    /** True when `file` exists, is a regular file and may be executed. */
    isExecutable(file: string): boolean;
    log(message: string): void;
}

export type ServerSource =
    | 'kernelLsp.server.path'
    | 'kernelLsp.server.python'
    | 'python.defaultInterpreterPath'
    | 'PATH';

export interface ServerCommand {
    command: string;
    args: string[];
    source: ServerSource;
}

export type Discovery = { ok: true; server: ServerCommand } | { ok: false; message: string };

export const SERVER_EXECUTABLE = 'kernel-lsp';

export const NOT_FOUND_MESSAGE =
    'Kernel LSP: the kernel-lsp server was not found. Install it with "pip install kernel-lsp" ' +
    '(so that "kernel-lsp" is on PATH, or into the Python environment VS Code uses), or set ' +
    '"kernelLsp.server.path" to the kernel-lsp executable or "kernelLsp.server.python" to a Python ' +
    'interpreter that has it. The "Kernel LSP" output channel lists what was tried.';

/** Try each way of starting the server in order; the first that names an existing executable wins. */
export function discoverServer(settings: DiscoverySettings, host: DiscoveryHost): Discovery {
    const attempts: Array<() => ServerCommand | undefined> = [
        () => fromServerPath(settings.serverPath, host),
        () => fromPython('kernelLsp.server.python', settings.python, host),
        () => fromPython('python.defaultInterpreterPath', settings.defaultInterpreterPath, host),
        () => fromSearchPath(host),
    ];
    for (const attempt of attempts) {
        const server = attempt();
        if (server) {
            host.log(`Using ${server.source}: ${[server.command, ...server.args].join(' ')}`);
            return { ok: true, server };
        }
    }
    return { ok: false, message: NOT_FOUND_MESSAGE };
}

function fromServerPath(value: unknown, host: DiscoveryHost): ServerCommand | undefined {
    const source = 'kernelLsp.server.path';
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) {
        return undefined;
    }
    if (typeof value === 'string') {
        const command = resolveExecutable(source, value, host);
        return command ? { command, args: ['serve'], source } : undefined;
    }
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
        const [first, ...rest] = value as string[];
        const command = resolveExecutable(source, first, host);
        return command ? { command, args: rest.map((arg) => expandVariables(arg, host)), source } : undefined;
    }
    host.log(`${source} must be a string or an array of strings; ignored`);
    return undefined;
}

function fromPython(source: ServerSource, value: unknown, host: DiscoveryHost): ServerCommand | undefined {
    if (value === undefined || value === null || value === '') {
        return undefined;
    }
    if (typeof value !== 'string') {
        host.log(`${source} must be a string; ignored`);
        return undefined;
    }
    const command = resolveExecutable(source, value, host);
    return command ? { command, args: ['-m', 'kernel_lsp', 'serve'], source } : undefined;
}

function fromSearchPath(host: DiscoveryHost): ServerCommand | undefined {
    const command = which(SERVER_EXECUTABLE, host);
    if (!command) {
        host.log(`${SERVER_EXECUTABLE} was not found on PATH`);
        return undefined;
    }
    return { command, args: ['serve'], source: 'PATH' };
}

/**
 * Expand `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`. A variable that cannot
 * be expanded (no folder open) is left as written, so the existence check reports it.
 */
export function expandVariables(value: string, host: Pick<DiscoveryHost, 'workspaceFolder' | 'homeDir' | 'env'>): string {
    let out = value.replace(/\$\{(workspaceFolder|userHome|env:([^}]*))\}/g, (match, name: string, envName?: string) => {
        if (name === 'workspaceFolder') {
            return host.workspaceFolder ?? match;
        }
        if (name === 'userHome') {
            return host.homeDir;
        }
        return host.env[envName ?? ''] ?? '';
    });
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
        out = host.homeDir + out.slice(1);
    }
    return out;
}

/** Expand, make absolute (relative paths are taken from the workspace folder), check; log why not. */
function resolveExecutable(source: string, raw: string, host: DiscoveryHost): string | undefined {
    const expanded = expandVariables(raw.trim(), host);
    if (expanded === '') {
        host.log(`${source} is empty; ignored`);
        return undefined;
    }
    if (expanded.includes('${')) {
        host.log(`${source}: "${raw}" uses a variable that cannot be expanded here (no folder open?); trying the next option`);
        return undefined;
    }
    const paths = pathApi(host);
    if (!expanded.includes('/') && !expanded.includes(paths.sep)) {
        const found = which(expanded, host);
        if (!found) {
            host.log(`${source}: "${expanded}" was not found on PATH; trying the next option`);
        }
        return found;
    }
    if (!paths.isAbsolute(expanded) && !host.workspaceFolder) {
        host.log(`${source}: "${expanded}" is a relative path and no folder is open; trying the next option`);
        return undefined;
    }
    const absolute = paths.isAbsolute(expanded) ? expanded : paths.join(host.workspaceFolder ?? '', expanded);
    const found = withExtensions(absolute, host).find((file) => host.isExecutable(file));
    if (!found) {
        host.log(`${source}: "${absolute}" does not exist or is not executable; trying the next option`);
    }
    return found;
}

/** Look a command name up on PATH (with PATHEXT on Windows). */
export function which(name: string, host: DiscoveryHost): string | undefined {
    const paths = pathApi(host);
    const searchPath = host.env.PATH ?? host.env.Path ?? '';
    const delimiter = host.platform === 'win32' ? ';' : ':';
    for (const dir of searchPath.split(delimiter)) {
        if (dir === '') {
            continue;
        }
        const found = withExtensions(paths.join(dir, name), host).find((file) => host.isExecutable(file));
        if (found) {
            return found;
        }
    }
    return undefined;
}

function withExtensions(file: string, host: DiscoveryHost): string[] {
    if (host.platform !== 'win32' || pathApi(host).extname(file) !== '') {
        return [file];
    }
    const exts = (host.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((ext) => ext !== '');
    return [file, ...exts.map((ext) => file + ext.toLowerCase())];
}

function pathApi(host: Pick<DiscoveryHost, 'platform'>): path.PlatformPath {
    return host.platform === 'win32' ? path.win32 : path.posix;
}

/** The real host: this process's environment and file system. */
export function nodeDiscoveryHost(workspaceFolder: string | undefined, log: (message: string) => void): DiscoveryHost {
    return {
        workspaceFolder,
        homeDir: os.homedir(),
        env: process.env,
        platform: process.platform,
        isExecutable(file: string): boolean {
            try {
                fs.accessSync(file, fs.constants.X_OK);
                return fs.statSync(file).isFile();
            } catch {
                return false;
            }
        },
        log,
    };
}
