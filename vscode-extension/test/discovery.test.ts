import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { PythonProbe, ServerBundle } from '../src/bundle';
import { discoverServer, DiscoveryHost, DiscoverySettings, expandVariables, notFoundMessage } from '../src/discovery';
import { isExecutableFile, nodeDiscoveryHost, probePython } from '../src/host';

const BUNDLE: ServerBundle = { libs: '/ext/bundled/libs', pythons: ['3.11', '3.12', '3.13', '3.14'], server: '0.1.0' };

interface FakeHost extends DiscoveryHost {
    logs: string[];
    probed: string[];
}

function cpython(version: string): PythonProbe {
    return { version, implementation: 'cpython', freeThreaded: false };
}

/** A host where `executables` exist, and each interpreter in `pythons` answers the probe as given. */
function fakeHost(
    executables: string[],
    pythons: Record<string, PythonProbe | string> = {},
    overrides: Partial<DiscoveryHost> = {},
): FakeHost {
    const files = new Set(executables);
    const logs: string[] = [];
    const probed: string[] = [];
    return {
        workspaceFolder: '/ws',
        homeDir: '/home/dev',
        env: { PATH: '/usr/local/bin:/usr/bin', VENV: '/opt/venv' },
        platform: 'linux',
        isExecutable: (file) => files.has(file),
        bundle: BUNDLE,
        probePython: (python) => {
            probed.push(python);
            return Promise.resolve(pythons[python] ?? 'no answer');
        },
        log: (message) => logs.push(message),
        logs,
        probed,
        ...overrides,
    };
}

const unset: DiscoverySettings = { serverPath: '', python: '' };
const BUNDLED_ARGS = ['-P', '-m', 'kernel_lsp', 'serve'];

describe('discovery order', () => {
    const settings: DiscoverySettings = { serverPath: '/opt/kl/bin/kernel-lsp', python: '/opt/py/bin/python' };
    const everything = ['/opt/kl/bin/kernel-lsp', '/opt/py/bin/python', '/usr/bin/python3', '/usr/bin/kernel-lsp'];
    // Each row: the executables that exist, the interpreters' versions, and the command chosen.
    const table: Array<[string, string[], Record<string, PythonProbe | string>, string | undefined, string[]]> = [
        ['server.path wins', everything, { '/opt/py/bin/python': cpython('3.12'), '/usr/bin/python3': cpython('3.11') }, '/opt/kl/bin/kernel-lsp', ['serve']],
        ['then the bundled server with server.python', everything.slice(1), { '/opt/py/bin/python': cpython('3.12'), '/usr/bin/python3': cpython('3.11') }, '/opt/py/bin/python', BUNDLED_ARGS],
        ['a server.python that is too old: python3', everything.slice(1), { '/opt/py/bin/python': cpython('3.10'), '/usr/bin/python3': cpython('3.13') }, '/usr/bin/python3', BUNDLED_ARGS],
        ['no server.python: python3', everything.slice(2), { '/usr/bin/python3': cpython('3.11') }, '/usr/bin/python3', BUNDLED_ARGS],
        ['python3 too old: kernel-lsp on PATH', everything.slice(2), { '/usr/bin/python3': cpython('3.9') }, '/usr/bin/kernel-lsp', ['serve']],
        ['python3 too new for the wheels: PATH', everything.slice(2), { '/usr/bin/python3': cpython('3.15') }, '/usr/bin/kernel-lsp', ['serve']],
        ['python3 that cannot run: PATH', everything.slice(2), { '/usr/bin/python3': 'spawn EACCES' }, '/usr/bin/kernel-lsp', ['serve']],
        ['first kernel-lsp on PATH', ['/usr/local/bin/kernel-lsp', '/usr/bin/kernel-lsp'], {}, '/usr/local/bin/kernel-lsp', ['serve']],
        ['nothing', [], {}, undefined, []],
    ];
    for (const [name, existing, pythons, command, args] of table) {
        it(`${name}: ${command ?? 'nothing'}`, async () => {
            const found = await discoverServer(settings, fakeHost(existing, pythons));
            if (command === undefined) {
                assert.equal(found.ok, false);
            } else {
                assert.ok(found.ok, JSON.stringify(found));
                assert.equal(found.server.command, command);
                assert.deepEqual(found.server.args, args);
            }
        });
    }

    it('the bundled server gets PYTHONPATH = bundled/libs and runs the CLI the same way', async () => {
        const found = await discoverServer(unset, fakeHost(['/usr/bin/python3'], { '/usr/bin/python3': cpython('3.14') }));
        assert.ok(found.ok);
        assert.deepEqual(found.server, {
            command: '/usr/bin/python3',
            args: ['-P', '-m', 'kernel_lsp', 'serve'],
            source: 'bundled',
            env: { PYTHONPATH: '/ext/bundled/libs' },
            cli: ['-P', '-m', 'kernel_lsp'],
        });
    });

    it('logs why each skipped option was skipped, in order', async () => {
        const host = fakeHost(['/opt/py/bin/python', '/usr/bin/python3', '/usr/bin/kernel-lsp'], {
            '/opt/py/bin/python': { version: '3.12', implementation: 'pypy', freeThreaded: false },
            '/usr/bin/python3': { version: '3.13', implementation: 'cpython', freeThreaded: true },
        });
        const found = await discoverServer({ serverPath: '/opt/kl/bin/kernel-lsp', python: '/opt/py/bin/python' }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.deepEqual(host.logs, [
            'kernelLsp.server.path: "/opt/kl/bin/kernel-lsp" does not exist or is not executable',
            'the bundled server with kernelLsp.server.python: /opt/py/bin/python is pypy 3.12 (the bundled server needs CPython 3.11-3.14)',
            'the bundled server with python3: /usr/bin/python3 is a free-threaded CPython 3.13 (the bundled server needs CPython 3.11-3.14, not a free-threaded build)',
            'Using kernel-lsp on PATH: /usr/bin/kernel-lsp serve',
        ]);
    });

    it('without a bundled server, says so and goes on to PATH without running python', async () => {
        const host = fakeHost(['/usr/bin/python3', '/usr/bin/kernel-lsp'], { '/usr/bin/python3': cpython('3.11') }, {
            bundle: 'this build of the extension has no bundled server',
        });
        const found = await discoverServer(unset, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.deepEqual(host.probed, []);
        assert.ok(host.logs.includes('the bundled server with python3: this build of the extension has no bundled server'));
    });
});

describe('the "no server" message', () => {
    it('names each thing tried with its reason, and what to do', async () => {
        const host = fakeHost(['/usr/bin/python3'], { '/usr/bin/python3': cpython('3.9') });
        const found = await discoverServer(unset, host);
        assert.equal(found.ok, false);
        assert.ok(!found.ok);
        assert.deepEqual(found.tried, [
            'kernelLsp.server.path: not set',
            'the bundled server with kernelLsp.server.python: not set',
            'the bundled server with python3: /usr/bin/python3 is Python 3.9 (the bundled server needs CPython 3.11-3.14)',
            'kernel-lsp on PATH: not found',
        ]);
        assert.equal(found.message, notFoundMessage(found.tried));
        for (const line of found.tried) {
            assert.ok(found.message.includes(line), line);
        }
        for (const hint of ['CPython 3.11 or later', 'kernelLsp.server.python', 'kernelLsp.server.path', 'pipx install <checkout>', 'uv tool install <checkout>', '"kernel-lsp" output channel']) {
            assert.ok(found.message.includes(hint), hint);
        }
    });

    it('never tells users to install kernel-lsp from a package registry (it is not published)', () => {
        const message = notFoundMessage(['x: y']);
        assert.doesNotMatch(message, /pip3? install kernel[-_]lsp/i);
        assert.doesNotMatch(message, /(pipx|uv tool) install kernel[-_]lsp/i);
        assert.doesNotMatch(message, /npm install/i);
    });
});

describe('kernelLsp.server.path', () => {
    it('an array is the whole command line, used without appending serve', async () => {
        const host = fakeHost(['/ws/.venv/bin/python']);
        const found = await discoverServer(
            { ...unset, serverPath: ['${workspaceFolder}/.venv/bin/python', '-m', 'kernel_lsp', 'serve', '--log-file=${userHome}/kl.log'] },
            host,
        );
        assert.ok(found.ok);
        assert.deepEqual(found.server, {
            command: '/ws/.venv/bin/python',
            args: ['-m', 'kernel_lsp', 'serve', '--log-file=/home/dev/kl.log'],
            source: 'kernelLsp.server.path',
            // serve is not last, so the CLI cannot be derived from this command line
            cli: undefined,
        });
    });

    it('an array that ends in serve runs the CLI with the rest', async () => {
        const found = await discoverServer({ ...unset, serverPath: ['/opt/py/bin/python', '-m', 'kernel_lsp', 'serve'] }, fakeHost(['/opt/py/bin/python']));
        assert.ok(found.ok);
        assert.deepEqual(found.server.cli, ['-m', 'kernel_lsp']);
    });

    it('a bare command name is looked up on PATH', async () => {
        const found = await discoverServer({ ...unset, serverPath: ['kernel-lsp', 'serve', '-v'] }, fakeHost(['/usr/bin/kernel-lsp']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/usr/bin/kernel-lsp');
        assert.equal(found.server.source, 'kernelLsp.server.path');
        assert.deepEqual(found.server.args, ['serve', '-v']);
    });

    it('a relative path is taken from the workspace folder', async () => {
        const found = await discoverServer({ ...unset, serverPath: 'tools/kernel-lsp' }, fakeHost(['/ws/tools/kernel-lsp']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/ws/tools/kernel-lsp');
        assert.deepEqual(found.server.cli, []);
    });

    it('a relative path with no folder open falls through with a reason', async () => {
        const host = fakeHost(['/usr/bin/kernel-lsp', 'tools/kernel-lsp'], {}, { workspaceFolder: undefined });
        const found = await discoverServer({ ...unset, serverPath: 'tools/kernel-lsp' }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs.some((line) => line.includes('relative path and no folder is open')));
    });

    it('${workspaceFolder} with no folder open falls through with a reason', async () => {
        const host = fakeHost(['/usr/bin/kernel-lsp'], {}, { workspaceFolder: undefined });
        const found = await discoverServer({ ...unset, serverPath: '${workspaceFolder}/kernel-lsp' }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs.some((line) => line.includes('cannot be expanded')));
    });

    for (const bad of [42, { path: '/x' }, ['/x', 3], [true]]) {
        it(`a setting of the wrong type (${JSON.stringify(bad)}) is reported and ignored`, async () => {
            const host = fakeHost(['/x', '/usr/bin/kernel-lsp']);
            const found = await discoverServer({ ...unset, serverPath: bad }, host);
            assert.ok(found.ok && found.server.source === 'PATH');
            assert.ok(host.logs[0].includes('must be a string or an array of strings'));
        });
    }

    it('an array whose command is empty falls through', async () => {
        const host = fakeHost(['/usr/bin/kernel-lsp']);
        const found = await discoverServer({ ...unset, serverPath: ['', 'serve'] }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs[0].includes('is empty'));
    });
});

describe('kernelLsp.server.python', () => {
    it('is expanded (~, ${env:NAME}) and probed', async () => {
        const host = fakeHost(['/home/dev/venv/bin/python', '/opt/venv/bin/python'], {
            '/home/dev/venv/bin/python': cpython('3.12'),
            '/opt/venv/bin/python': cpython('3.13'),
        });
        const tilde = await discoverServer({ ...unset, python: '~/venv/bin/python' }, host);
        const env = await discoverServer({ ...unset, python: '${env:VENV}/bin/python' }, host);
        assert.ok(tilde.ok && env.ok);
        assert.equal(tilde.server.command, '/home/dev/venv/bin/python');
        assert.equal(env.server.command, '/opt/venv/bin/python');
        assert.deepEqual(host.probed, ['/home/dev/venv/bin/python', '/opt/venv/bin/python']);
    });

    it('a bare interpreter name such as python3.12 is looked up on PATH', async () => {
        const found = await discoverServer({ ...unset, python: 'python3.12' }, fakeHost(['/usr/bin/python3.12'], { '/usr/bin/python3.12': cpython('3.12') }));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/usr/bin/python3.12');
        assert.equal(found.server.source, 'bundled');
    });

    it('a value that is not a string is reported', async () => {
        const host = fakeHost(['/usr/bin/kernel-lsp']);
        await discoverServer({ ...unset, python: ['/usr/bin/python3'] }, host);
        assert.ok(host.logs.includes('the bundled server with kernelLsp.server.python: kernelLsp.server.python must be a string; ignored'));
    });
});

describe('variable expansion', () => {
    const host = { workspaceFolder: '/ws', homeDir: '/home/dev', env: { A: 'alpha' } };
    const table: Array<[string, string]> = [
        ['${workspaceFolder}/bin/kernel-lsp', '/ws/bin/kernel-lsp'],
        ['~/bin/kernel-lsp', '/home/dev/bin/kernel-lsp'],
        ['~', '/home/dev'],
        ['${userHome}/x', '/home/dev/x'],
        ['/a/${env:A}/b', '/a/alpha/b'],
        ['/a/${env:MISSING}/b', '/a//b'],
        ['/keep/~/tilde', '/keep/~/tilde'],
        ['~user/x', '~user/x'],
        ['${unknown}/x', '${unknown}/x'],
        ['${workspaceFolder}:${workspaceFolder}', '/ws:/ws'],
    ];
    for (const [input, expected] of table) {
        it(`${input} -> ${expected}`, () => assert.equal(expandVariables(input, host), expected));
    }

    it('leaves ${workspaceFolder} when no folder is open', () => {
        assert.equal(expandVariables('${workspaceFolder}/x', { ...host, workspaceFolder: undefined }), '${workspaceFolder}/x');
    });
});

describe('Windows', () => {
    it('uses ; in PATH and tries PATHEXT endings', async () => {
        const host = fakeHost(['C:\\Py\\Scripts\\kernel-lsp.exe'], {}, {
            platform: 'win32',
            workspaceFolder: 'C:\\ws',
            env: { Path: 'C:\\Windows;C:\\Py\\Scripts', PATHEXT: '.COM;.EXE' },
        });
        const found = await discoverServer(unset, host);
        assert.ok(found.ok);
        assert.equal(found.server.command, 'C:\\Py\\Scripts\\kernel-lsp.exe');
    });

    it('an interpreter path without .exe finds python.exe', async () => {
        const host = fakeHost(['C:\\ws\\.venv\\Scripts\\python.exe'], { 'C:\\ws\\.venv\\Scripts\\python.exe': cpython('3.12') }, {
            platform: 'win32',
            workspaceFolder: 'C:\\ws',
            env: {},
        });
        const found = await discoverServer({ ...unset, python: '.venv\\Scripts\\python' }, host);
        assert.ok(found.ok);
        assert.equal(found.server.command, 'C:\\ws\\.venv\\Scripts\\python.exe');
    });
});

describe('the real host', () => {
    it('accepts executable regular files only', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-lsp-discovery-'));
        try {
            const exe = path.join(dir, 'kernel-lsp');
            const plain = path.join(dir, 'notes.txt');
            fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
            fs.writeFileSync(plain, 'x', { mode: 0o644 });
            assert.equal(isExecutableFile(exe), true);
            assert.equal(isExecutableFile(dir), false);
            assert.equal(isExecutableFile(path.join(dir, 'missing')), false);
            if (process.platform !== 'win32') {
                assert.equal(isExecutableFile(plain), false);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('reads bundled/bundle.json of the extension directory, or says there is none', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-lsp-bundle-'));
        try {
            assert.equal(nodeDiscoveryHost(dir, undefined, () => undefined).bundle, 'this build of the extension has no bundled server');
            fs.mkdirSync(path.join(dir, 'bundled'));
            fs.writeFileSync(path.join(dir, 'bundled', 'bundle.json'), JSON.stringify({ pythons: ['3.11', '3.12'], server: '0.1.0' }));
            assert.deepEqual(nodeDiscoveryHost(dir, undefined, () => undefined).bundle, {
                libs: path.join(dir, 'bundled', 'libs'),
                pythons: ['3.11', '3.12'],
                server: '0.1.0',
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('probes a real interpreter, and reports one that cannot run', async () => {
        const python = findOnPath(['python3']);
        assert.ok(python, 'python3 must be on PATH to run this test');
        const probe = await probePython(python);
        assert.ok(typeof probe !== 'string', String(probe));
        assert.match(probe.version, /^3\.\d+$/);
        const missing = await probePython(path.join(os.tmpdir(), 'no-such-python'));
        assert.equal(typeof missing, 'string');
    });
});

function findOnPath(names: string[]): string | undefined {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        for (const name of names) {
            const file = path.join(dir, name);
            if (dir !== '' && isExecutableFile(file)) {
                return file;
            }
        }
    }
    return undefined;
}
