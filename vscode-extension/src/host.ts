/** The real discovery host: this process's environment, file system and child processes. */

import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { loadBundle, parseProbe, PYTHON_PROBE, PythonProbe } from './bundle';
import { DiscoveryHost } from './discovery';

const PROBE_TIMEOUT_MS = 15000;

export function isExecutableFile(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function readText(file: string): string | undefined {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch {
        return undefined;
    }
}

/** Run `<python> -c PYTHON_PROBE`: what it says about itself, or why it could not be run. */
export function probePython(python: string): Promise<PythonProbe | string> {
    return new Promise((resolve) => {
        execFile(python, ['-c', PYTHON_PROBE], { timeout: PROBE_TIMEOUT_MS, windowsHide: true }, (error, stdout, stderr) => {
            if (error) {
                const detail = String(stderr).trim().split('\n').pop() || error.message;
                resolve(detail);
            } else {
                resolve(parseProbe(String(stdout)));
            }
        });
    });
}

export function nodeDiscoveryHost(
    extensionPath: string,
    workspaceFolder: string | undefined,
    log: (message: string) => void,
): DiscoveryHost {
    return {
        workspaceFolder,
        homeDir: os.homedir(),
        env: process.env,
        platform: process.platform,
        isExecutable: isExecutableFile,
        bundle: loadBundle(extensionPath, readText),
        probePython,
        log,
    };
}
