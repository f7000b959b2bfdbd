import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
    discoverServer,
    DiscoveryHost,
    DiscoverySettings,
    expandVariables,
    NOT_FOUND_MESSAGE,
    nodeDiscoveryHost,
} from '../src/discovery';

interface FakeHost extends DiscoveryHost {
    logs: string[];
}

function fakeHost(executables: string[], overrides: Partial<DiscoveryHost> = {}): FakeHost {
    const files = new Set(executables);
    const logs: string[] = [];
    return {
        workspaceFolder: '/ws',
        homeDir: '/home/dev',
        env: { PATH: '/usr/local/bin:/usr/bin', VENV: '/opt/venv' },
        platform: 'linux',
        isExecutable: (file) => files.has(file),
        log: (message) => logs.push(message),
        logs,
        ...overrides,
    };
}

const unset: DiscoverySettings = { serverPath: '', python: '', defaultInterpreterPath: undefined };

describe('discovery order', () => {
    const settings: DiscoverySettings = {
        serverPath: '/opt/kl/bin/kernel-lsp',
        python: '/opt/venv/bin/python',
        defaultInterpreterPath: '/usr/bin/python3',
    };
    // Each row: the executables that exist, and the command discovery must choose.
    const table: Array<[string[], string | undefined, string[]]> = [
        [
            ['/opt/kl/bin/kernel-lsp', '/opt/venv/bin/python', '/usr/bin/python3', '/usr/bin/kernel-lsp'],
            '/opt/kl/bin/kernel-lsp',
            ['serve'],
        ],
        [['/opt/venv/bin/python', '/usr/bin/python3', '/usr/bin/kernel-lsp'], '/opt/venv/bin/python', ['-m', 'kernel_lsp', 'serve']],
        [['/usr/bin/python3', '/usr/bin/kernel-lsp'], '/usr/bin/python3', ['-m', 'kernel_lsp', 'serve']],
        [['/usr/bin/kernel-lsp'], '/usr/bin/kernel-lsp', ['serve']],
        [['/usr/local/bin/kernel-lsp', '/usr/bin/kernel-lsp'], '/usr/local/bin/kernel-lsp', ['serve']],
        [[], undefined, []],
    ];
    for (const [existing, command, args] of table) {
        it(`with ${existing.join(', ') || 'nothing'} chooses ${command ?? 'nothing'}`, () => {
            const host = fakeHost(existing);
            const found = discoverServer(settings, host);
            if (command === undefined) {
                assert.deepEqual(found, { ok: false, message: NOT_FOUND_MESSAGE });
            } else {
                assert.ok(found.ok);
                assert.equal(found.server.command, command);
                assert.deepEqual(found.server.args, args);
            }
        });
    }

    it('logs why each skipped option was skipped', () => {
        const host = fakeHost(['/usr/bin/kernel-lsp']);
        const found = discoverServer(settings, host);
        assert.ok(found.ok);
        assert.equal(found.server.source, 'PATH');
        const skipped = host.logs.filter((line) => line.includes('trying the next option'));
        assert.deepEqual(
            skipped.map((line) => line.split(':')[0]),
            ['kernelLsp.server.path', 'kernelLsp.server.python', 'python.defaultInterpreterPath'],
        );
        assert.ok(skipped[0].includes('/opt/kl/bin/kernel-lsp'));
        assert.match(host.logs[host.logs.length - 1], /^Using PATH: \/usr\/bin\/kernel-lsp serve$/);
    });

    it('skips unset settings without a message', () => {
        const host = fakeHost(['/usr/bin/kernel-lsp']);
        const found = discoverServer(unset, host);
        assert.ok(found.ok);
        assert.equal(found.server.source, 'PATH');
        assert.deepEqual(host.logs, ['Using PATH: /usr/bin/kernel-lsp serve']);
    });

    it('tells the user what to install and which setting to set', () => {
        const found = discoverServer(unset, fakeHost([]));
        assert.equal(found.ok, false);
        assert.ok(!found.ok && found.message.includes('pip install kernel-lsp'));
        assert.ok(!found.ok && found.message.includes('kernelLsp.server.path'));
        assert.ok(!found.ok && found.message.includes('kernelLsp.server.python'));
    });
});

describe('kernelLsp.server.path', () => {
    it('an array is the whole command line, used without appending serve', () => {
        const host = fakeHost(['/ws/.venv/bin/python']);
        const found = discoverServer(
            { ...unset, serverPath: ['${workspaceFolder}/.venv/bin/python', '-m', 'kernel_lsp', 'serve', '--log=${userHome}/kl.log'] },
            host,
        );
        assert.ok(found.ok);
        assert.deepEqual(found.server, {
            command: '/ws/.venv/bin/python',
            args: ['-m', 'kernel_lsp', 'serve', '--log=/home/dev/kl.log'],
            source: 'kernelLsp.server.path',
        });
    });

    it('a bare command name is looked up on PATH', () => {
        const found = discoverServer({ ...unset, serverPath: ['kernel-lsp', 'serve', '--stdio'] }, fakeHost(['/usr/bin/kernel-lsp']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/usr/bin/kernel-lsp');
        assert.equal(found.server.source, 'kernelLsp.server.path');
        assert.deepEqual(found.server.args, ['serve', '--stdio']);
    });

    it('a relative path is taken from the workspace folder', () => {
        const found = discoverServer({ ...unset, serverPath: 'tools/kernel-lsp' }, fakeHost(['/ws/tools/kernel-lsp']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/ws/tools/kernel-lsp');
    });

    it('a relative path with no folder open falls through with a reason', () => {
        const host = fakeHost(['/usr/bin/kernel-lsp', 'tools/kernel-lsp'], { workspaceFolder: undefined });
        const found = discoverServer({ ...unset, serverPath: 'tools/kernel-lsp' }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs.some((line) => line.includes('relative path and no folder is open')));
    });

    it('${workspaceFolder} with no folder open falls through with a reason', () => {
        const host = fakeHost(['/usr/bin/kernel-lsp'], { workspaceFolder: undefined });
        const found = discoverServer({ ...unset, serverPath: '${workspaceFolder}/kernel-lsp' }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs.some((line) => line.includes('cannot be expanded')));
    });

    for (const bad of [42, { path: '/x' }, ['/x', 3], [true]]) {
        it(`a setting of the wrong type (${JSON.stringify(bad)}) is reported and ignored`, () => {
            const host = fakeHost(['/x', '/usr/bin/kernel-lsp']);
            const found = discoverServer({ ...unset, serverPath: bad }, host);
            assert.ok(found.ok && found.server.source === 'PATH');
            assert.ok(host.logs[0].includes('must be a string or an array of strings'));
        });
    }

    it('an array whose command is empty falls through', () => {
        const host = fakeHost(['/usr/bin/kernel-lsp']);
        const found = discoverServer({ ...unset, serverPath: ['', 'serve'] }, host);
        assert.ok(found.ok && found.server.source === 'PATH');
        assert.ok(host.logs[0].includes('is empty'));
    });
});

describe('Python interpreter', () => {
    it('kernelLsp.server.python wins over python.defaultInterpreterPath', () => {
        const found = discoverServer(
            { ...unset, python: '~/venv/bin/python', defaultInterpreterPath: '/usr/bin/python3' },
            fakeHost(['/home/dev/venv/bin/python', '/usr/bin/python3']),
        );
        assert.ok(found.ok);
        assert.deepEqual(found.server, {
            command: '/home/dev/venv/bin/python',
            args: ['-m', 'kernel_lsp', 'serve'],
            source: 'kernelLsp.server.python',
        });
    });

    it('a bare interpreter name such as python3 is looked up on PATH', () => {
        const found = discoverServer({ ...unset, defaultInterpreterPath: 'python3' }, fakeHost(['/usr/bin/python3']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/usr/bin/python3');
        assert.equal(found.server.source, 'python.defaultInterpreterPath');
    });

    it('${env:NAME} is expanded', () => {
        const found = discoverServer({ ...unset, python: '${env:VENV}/bin/python' }, fakeHost(['/opt/venv/bin/python']));
        assert.ok(found.ok);
        assert.equal(found.server.command, '/opt/venv/bin/python');
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
    it('uses ; in PATH and tries PATHEXT endings', () => {
        const host = fakeHost(['C:\\Py\\Scripts\\kernel-lsp.exe'], {
            platform: 'win32',
            workspaceFolder: 'C:\\ws',
            env: { Path: 'C:\\Windows;C:\\Py\\Scripts', PATHEXT: '.COM;.EXE' },
        });
        const found = discoverServer(unset, host);
        assert.ok(found.ok);
        assert.equal(found.server.command, 'C:\\Py\\Scripts\\kernel-lsp.exe');
    });

    it('an interpreter path without .exe finds python.exe', () => {
        const host = fakeHost(['C:\\ws\\.venv\\Scripts\\python.exe'], { platform: 'win32', workspaceFolder: 'C:\\ws', env: {} });
        const found = discoverServer({ ...unset, python: '.venv\\Scripts\\python' }, host);
        assert.ok(found.ok);
        assert.equal(found.server.command, 'C:\\ws\\.venv\\Scripts\\python.exe');
    });
});

describe('nodeDiscoveryHost', () => {
    it('accepts executable regular files only', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-lsp-discovery-'));
        try {
            const exe = path.join(dir, 'kernel-lsp');
            const plain = path.join(dir, 'notes.txt');
            fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
            fs.writeFileSync(plain, 'x', { mode: 0o644 });
            const host = nodeDiscoveryHost(dir, () => undefined);
            assert.equal(host.isExecutable(exe), true);
            assert.equal(host.isExecutable(dir), false);
            assert.equal(host.isExecutable(path.join(dir, 'missing')), false);
            if (process.platform !== 'win32') {
                assert.equal(host.isExecutable(plain), false);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
