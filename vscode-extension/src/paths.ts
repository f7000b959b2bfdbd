/** Expands and resolves the executable paths users write in settings; pure (file checks injected). */

import * as path from 'path';

export interface PathHost {
    workspaceFolder: string | undefined;
    homeDir: string;
    env: Readonly<Record<string, string | undefined>>;
    platform: string;
    /** True when `file` exists, is a regular file and may be executed. */
    isExecutable(file: string): boolean;
}

/**
 * Expand `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`. A variable that cannot
 * be expanded (no folder open) is left as written, so the existence check reports it.
 */
export function expandVariables(value: string, host: Pick<PathHost, 'workspaceFolder' | 'homeDir' | 'env'>): string {
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

/**
 * Expand, make absolute (relative paths are taken from the workspace folder; a bare name is looked
 * up on PATH) and check a setting's executable; the absolute path, or why it cannot be used.
 */
export function resolveExecutable(raw: string, host: PathHost): string | { problem: string } {
    const expanded = expandVariables(raw.trim(), host);
    if (expanded === '') {
        return { problem: 'is empty; ignored' };
    }
    if (expanded.includes('${')) {
        return { problem: `"${raw}" uses a variable that cannot be expanded here (no folder open?)` };
    }
    const paths = pathApi(host);
    if (!expanded.includes('/') && !expanded.includes(paths.sep)) {
        return which(expanded, host) ?? { problem: `"${expanded}" was not found on PATH` };
    }
    if (!paths.isAbsolute(expanded) && !host.workspaceFolder) {
        return { problem: `"${expanded}" is a relative path and no folder is open` };
    }
    const absolute = paths.isAbsolute(expanded) ? expanded : paths.join(host.workspaceFolder ?? '', expanded);
    const found = withExtensions(absolute, host).find((file) => host.isExecutable(file));
    return found ?? { problem: `"${absolute}" does not exist or is not executable` };
}

/** Look a command name up on PATH (with PATHEXT on Windows). */
export function which(name: string, host: PathHost): string | undefined {
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

function withExtensions(file: string, host: PathHost): string[] {
    if (host.platform !== 'win32' || pathApi(host).extname(file) !== '') {
        return [file];
    }
    const exts = (host.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((ext) => ext !== '');
    return [file, ...exts.map((ext) => file + ext.toLowerCase())];
}

function pathApi(host: Pick<PathHost, 'platform'>): path.PlatformPath {
    return host.platform === 'win32' ? path.win32 : path.posix;
}
