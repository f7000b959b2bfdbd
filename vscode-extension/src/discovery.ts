/** Finds the command that starts the kernel-lsp server; pure (file system, processes and environment injected, no vscode). */

import { pythonProblem, PythonProbe, ServerBundle } from './bundle';
import { expandVariables, PathHost, resolveExecutable, which } from './paths';

export { expandVariables, which } from './paths';

/** The settings discovery reads, as raw values (the user may have written anything). */
export interface DiscoverySettings {
    /** `kernelLsp.server.path`: executable path (string) or full command line (array). */
    serverPath: unknown;
    /** `kernelLsp.server.python`: the interpreter that runs the bundled server. */
    python: unknown;
}

/** What discovery needs from the outside world. */
export interface DiscoveryHost extends PathHost {
    /** The server bundled in this build of the extension, or why there is none. */
    bundle: ServerBundle | string;
    /** Run `python` to learn its version (a reason string when it cannot be run). */
    probePython(python: string): Promise<PythonProbe | string>;
    log(message: string): void;
}

export type ServerSource = 'kernelLsp.server.path' | 'bundled' | 'PATH';

export interface ServerCommand {
    command: string;
    /** Arguments that start the language server. */
    args: string[];
    source: ServerSource;
    /** Variables added to the environment of VS Code (the bundled server's PYTHONPATH). */
    env?: Record<string, string>;
    /** Arguments before a CLI subcommand (`<command> ...cli check`); absent when the command line cannot run the CLI. */
    cli?: string[];
}

export type Discovery = { ok: true; server: ServerCommand } | { ok: false; message: string; tried: string[] };

export const SERVER_EXECUTABLE = 'kernel-lsp';
/** The interpreter tried for the bundled server when `kernelLsp.server.python` is not set. */
export const DEFAULT_PYTHON = 'python3';

/** One way of starting the server: a command, or why it cannot be used. */
type Attempt = { what: string; run: () => Promise<ServerCommand | string> };

/**
 * Try, in order: `kernelLsp.server.path`; the bundled server with `kernelLsp.server.python`, then
 * with `python3` (each must be a CPython version the bundle was built for); `kernel-lsp` on PATH.
 * The first that works wins; each one skipped is logged with its reason, and the failure message
 * lists them all.
 */
export async function discoverServer(settings: DiscoverySettings, host: DiscoveryHost): Promise<Discovery> {
    const attempts: Attempt[] = [
        { what: 'kernelLsp.server.path', run: async () => fromServerPath(settings.serverPath, host) },
        {
            what: 'the bundled server with kernelLsp.server.python',
            run: async () => (isSet(settings.python) ? fromBundle(settings.python, host) : 'not set'),
        },
        { what: `the bundled server with ${DEFAULT_PYTHON}`, run: () => fromBundle(DEFAULT_PYTHON, host) },
        { what: `${SERVER_EXECUTABLE} on PATH`, run: async () => fromSearchPath(host) },
    ];
    const tried: string[] = [];
    for (const attempt of attempts) {
        const result = await attempt.run();
        if (typeof result !== 'string') {
            host.log(`Using ${attempt.what}: ${[result.command, ...result.args].join(' ')}`);
            return { ok: true, server: result };
        }
        host.log(`${attempt.what}: ${result}`);
        tried.push(`${attempt.what}: ${result}`);
    }
    return { ok: false, message: notFoundMessage(tried), tried };
}

/**
 * The "no server" message: what was tried and why each failed, and what to do. It never names a
 * package-registry install: kernel-lsp is not published on PyPI.
 */
export function notFoundMessage(tried: string[]): string {
    const steps = tried.map((line, index) => `(${index + 1}) ${line}`).join('; ');
    return (
        `Kernel LSP: no kernel-lsp server could be started. Tried ${steps}. ` +
        'Install CPython 3.11 or later (or set "kernelLsp.server.python" to one) to run the bundled server, ' +
        'or install the kernel-lsp command from a kernel-lsp checkout ("pipx install <checkout>" or ' +
        '"uv tool install <checkout>") and set "kernelLsp.server.path" if it is not on PATH. ' +
        'The "kernel-lsp" output channel has the details.'
    );
}

function isSet(value: unknown): boolean {
    return !(value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0));
}

function fromServerPath(value: unknown, host: DiscoveryHost): ServerCommand | string {
    const source = 'kernelLsp.server.path';
    if (!isSet(value)) {
        return 'not set';
    }
    if (typeof value === 'string') {
        const found = resolveExecutable(value, host);
        return typeof found === 'string' ? { command: found, args: ['serve'], source, cli: [] } : found.problem;
    }
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
        const [first, ...rest] = value as string[];
        const found = resolveExecutable(first, host);
        if (typeof found !== 'string') {
            return found.problem;
        }
        const args = rest.map((arg) => expandVariables(arg, host));
        // A command line that ends in `serve` runs the CLI with the rest: `<command> ...rest check`.
        const cli = args[args.length - 1] === 'serve' ? args.slice(0, -1) : undefined;
        return { command: found, args, source, cli };
    }
    return 'must be a string or an array of strings; ignored';
}

async function fromBundle(python: unknown, host: DiscoveryHost): Promise<ServerCommand | string> {
    if (typeof host.bundle === 'string') {
        return host.bundle;
    }
    if (typeof python !== 'string') {
        return 'kernelLsp.server.python must be a string; ignored';
    }
    const found = resolveExecutable(python, host);
    if (typeof found !== 'string') {
        return found.problem;
    }
    const probe = await host.probePython(found);
    if (typeof probe === 'string') {
        return `${found} could not be run (${probe})`;
    }
    const problem = pythonProblem(probe, host.bundle);
    if (problem) {
        return `${found} is ${problem}`;
    }
    // -P: the working directory (the workspace) is not put on sys.path, so nothing in it can
    // stand in for the bundled packages.
    const cli = ['-P', '-m', 'kernel_lsp'];
    return { command: found, args: [...cli, 'serve'], source: 'bundled', env: { PYTHONPATH: host.bundle.libs }, cli };
}

function fromSearchPath(host: DiscoveryHost): ServerCommand | string {
    const command = which(SERVER_EXECUTABLE, host);
    return command ? { command, args: ['serve'], source: 'PATH', cli: [] } : 'not found';
}
