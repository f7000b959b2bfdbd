/** The server bundled in the .vsix (`bundled/bundle.json`, `bundled/libs`) and which Pythons can run it; pure. */

import * as path from 'path';

/** What `scripts/build-vsix.sh` bundled: the libraries directory and the CPython versions it has wheels for. */
export interface ServerBundle {
    /** Absolute path of `bundled/libs` (the PYTHONPATH of the bundled server). */
    libs: string;
    /** CPython versions (`3.11`, ...) whose compiled modules are in `libs`. */
    pythons: string[];
    /** kernel-lsp version of the bundled server. */
    server: string;
}

/** What the interpreter says about itself (the output of PYTHON_PROBE). */
export interface PythonProbe {
    version: string;
    implementation: string;
    /** A free-threaded build (`python3.13t`): needs wheels of its own ABI. */
    freeThreaded: boolean;
}

/** Run as `<python> -c PYTHON_PROBE`; prints a PythonProbe as JSON (any Python 3 can run it). */
export const PYTHON_PROBE =
    'import json, sys, sysconfig; print(json.dumps({"version": "%d.%d" % sys.version_info[:2], ' +
    '"implementation": sys.implementation.name, "freeThreaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED"))}))';

/**
 * Read `bundled/bundle.json` of the extension at `extensionPath` (its text given by `read`); the
 * bundle, or why this build has none.
 */
export function loadBundle(extensionPath: string, read: (file: string) => string | undefined): ServerBundle | string {
    const file = path.join(extensionPath, 'bundled', 'bundle.json');
    const text = read(file);
    if (text === undefined) {
        return 'this build of the extension has no bundled server';
    }
    try {
        const data = JSON.parse(text) as { pythons?: unknown; server?: unknown };
        const pythons = Array.isArray(data.pythons) ? data.pythons.filter((v): v is string => typeof v === 'string') : [];
        if (pythons.length === 0) {
            return `${file} lists no Python versions`;
        }
        return { libs: path.join(extensionPath, 'bundled', 'libs'), pythons, server: String(data.server ?? '') };
    } catch (error) {
        return `${file} is not valid JSON (${error instanceof Error ? error.message : String(error)})`;
    }
}

/** Parse the probe's output; a PythonProbe, or why the output is not one. */
export function parseProbe(stdout: string): PythonProbe | string {
    try {
        const data = JSON.parse(stdout.trim()) as Partial<PythonProbe>;
        if (typeof data.version === 'string' && typeof data.implementation === 'string') {
            return { version: data.version, implementation: data.implementation, freeThreaded: data.freeThreaded === true };
        }
    } catch {
        // fall through
    }
    return `unexpected output ${JSON.stringify(stdout.trim().slice(0, 200))}`;
}

/** Why this interpreter cannot run the bundled server (undefined when it can), e.g. `Python 3.10 (...)`. */
export function pythonProblem(probe: PythonProbe, bundle: Pick<ServerBundle, 'pythons'>): string | undefined {
    const supported = `the bundled server needs CPython ${versionRange(bundle.pythons)}`;
    if (probe.implementation !== 'cpython') {
        return `${probe.implementation} ${probe.version} (${supported})`;
    }
    if (probe.freeThreaded) {
        return `a free-threaded CPython ${probe.version} (${supported}, not a free-threaded build)`;
    }
    if (!bundle.pythons.includes(probe.version)) {
        return `Python ${probe.version} (${supported})`;
    }
    return undefined;
}

/** `3.11-3.14` for consecutive versions, else a list. */
export function versionRange(versions: string[]): string {
    const minors = versions.map((v) => Number(v.split('.')[1]));
    const consecutive = versions.every((v, i) => v.startsWith('3.') && (i === 0 || minors[i] === minors[i - 1] + 1));
    return consecutive && versions.length > 1 ? `${versions[0]}-${versions[versions.length - 1]}` : versions.join(', ');
}
