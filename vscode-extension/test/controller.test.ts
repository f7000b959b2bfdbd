import './vscode-hook';
import * as assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import * as vscode from 'vscode';
import { ClientSetup, Controller, ManagedClient } from '../src/controller';
import { DiscoveryHost, NOT_FOUND_MESSAGE, ServerCommand } from '../src/discovery';
import * as fake from './fake-vscode';
import { contributedDefaults } from './manifest';

class FakeClient implements ManagedClient {
    readonly requests: Array<[string, unknown]> = [];
    stopped = false;
    constructor(
        readonly server: ServerCommand,
        readonly setup: ClientSetup,
        private readonly failStart: boolean,
    ) {}
    start(): Promise<void> {
        return this.failStart ? Promise.reject(new Error('spawn ENOENT')) : Promise.resolve();
    }
    stop(): Promise<void> {
        this.stopped = true;
        return Promise.resolve();
    }
    sendRequest(method: string, params: unknown): Promise<unknown> {
        this.requests.push([method, params]);
        return Promise.resolve(null);
    }
}

let clients: FakeClient[];
let executables: Set<string>;
let failStart: boolean;
let output: fake.FakeOutput;

function makeController(): Controller {
    const host = (workspaceFolder: string | undefined, log: (message: string) => void): DiscoveryHost => ({
        workspaceFolder,
        homeDir: '/home/dev',
        env: { PATH: '/usr/bin' },
        platform: 'linux',
        isExecutable: (file) => executables.has(file),
        log,
    });
    const create = (server: ServerCommand, setup: ClientSetup) => {
        const client = new FakeClient(server, setup, failStart);
        clients.push(client);
        return client;
    };
    return new Controller(output as unknown as vscode.LogOutputChannel, create, host);
}

beforeEach(() => {
    fake.reset();
    fake.state.defaults = { ...contributedDefaults(), 'python.defaultInterpreterPath': 'python' };
    fake.state.workspaceFolders = [{ uri: { fsPath: '/ws' }, name: 'ws', index: 0 }];
    clients = [];
    executables = new Set(['/usr/bin/kernel-lsp', '/usr/bin/python', '/usr/bin/python3']);
    failStart = false;
    output = new fake.FakeOutput();
});

describe('activation', () => {
    it('starts kernel-lsp from PATH with the settings as initializationOptions', async () => {
        await makeController().activate();
        assert.equal(clients.length, 1);
        // python.defaultInterpreterPath still has its default ("python"): it is not used.
        assert.deepEqual([clients[0].server.command, ...clients[0].server.args], ['/usr/bin/kernel-lsp', 'serve']);
        // Settings at their defaults are not sent: the server applies kernel-lsp.toml and its own defaults.
        assert.deepEqual(clients[0].setup.initializationOptions, {});
        assert.equal(clients[0].setup.workspaceFolder, '/ws');
        assert.deepEqual(fake.state.errors, []);
    });

    it('uses the user settings', async () => {
        fake.state.user = {
            'kernelLsp.server.python': '${workspaceFolder}/.venv/bin/python',
            'kernelLsp.severity': { '504_2': 'off' },
            'kernelLsp.jobs': 4,
            'kernelLsp.trace.server': 'verbose',
        };
        executables.add('/ws/.venv/bin/python');
        await makeController().activate();
        assert.deepEqual(clients[0].server, {
            command: '/ws/.venv/bin/python',
            args: ['-m', 'kernel_lsp', 'serve'],
            source: 'kernelLsp.server.python',
        });
        assert.deepEqual(clients[0].setup.initializationOptions, { severity: { '504_2': 'off' }, jobs: 4 });
        assert.deepEqual(clients[0].setup.settingsFor('file:///ws/kernel/sys.c'), { severity: { '504_2': 'off' }, jobs: 4 });
    });

    it('registers both commands', async () => {
        await makeController().activate();
        assert.deepEqual([...fake.state.commands.keys()].sort(), ['kernelLsp.reindex', 'kernelLsp.restart']);
    });

    it('shows what to install when no server is found, and starts no client', async () => {
        executables.clear();
        await makeController().activate();
        assert.equal(clients.length, 0);
        assert.deepEqual(fake.state.errors, [NOT_FOUND_MESSAGE]);
        assert.ok(output.lines.some((line) => line === `error ${NOT_FOUND_MESSAGE}`));
    });

    it('reports a server that does not start', async () => {
        failStart = true;
        await makeController().activate();
        assert.equal(fake.state.errors.length, 1);
        assert.match(fake.state.errors[0], /did not start \(spawn ENOENT\)/);
    });
});

describe('restart on settings change', () => {
    const table: Array<[Record<string, unknown>, boolean]> = [
        [{ 'kernelLsp.arch': 'arm64' }, true],
        [{ 'kernelLsp.server.path': '/usr/bin/kernel-lsp' }, true],
        [{ 'kernelLsp.trace.server': 'messages' }, true],
        [{ 'python.defaultInterpreterPath': '/usr/bin/python3' }, true],
        [{ 'editor.tabSize': 8 }, false],
        [{ 'python.analysis.typeCheckingMode': 'strict' }, false],
    ];
    for (const [change, restarts] of table) {
        it(`${Object.keys(change)[0]} ${restarts ? 'restarts' : 'does not restart'} the server`, async () => {
            const controller = makeController();
            await controller.activate();
            fake.updateSettings(change);
            await controller.idle();
            assert.equal(clients.length, restarts ? 2 : 1);
            assert.equal(clients[0].stopped, restarts);
        });
    }

    it('the new server gets the new settings', async () => {
        const controller = makeController();
        await controller.activate();
        fake.updateSettings({ 'kernelLsp.arch': 'arm64', 'python.defaultInterpreterPath': '/usr/bin/python3' });
        await controller.idle();
        assert.equal(clients[1].setup.initializationOptions.arch, 'arm64');
        assert.deepEqual([clients[1].server.command, ...clients[1].server.args], ['/usr/bin/python3', '-m', 'kernel_lsp', 'serve']);
    });

    it('a burst of changes restarts once', async () => {
        const controller = makeController();
        await controller.activate();
        fake.updateSettings({ 'kernelLsp.arch': 'arm' });
        fake.updateSettings({ 'kernelLsp.arch': 'arm6' });
        fake.updateSettings({ 'kernelLsp.arch': 'arm64' });
        await controller.idle();
        assert.equal(clients.length, 2);
        assert.equal(clients[1].setup.initializationOptions.arch, 'arm64');
    });

    it('a change while a restart runs restarts again afterwards', async () => {
        const controller = makeController();
        await controller.activate();
        fake.updateSettings({ 'kernelLsp.arch': 'arm' });
        await new Promise((resolve) => setImmediate(resolve));
        fake.updateSettings({ 'kernelLsp.arch': 'arm64' });
        await controller.idle();
        assert.equal(clients.length, 3);
        assert.deepEqual(
            clients.map((client) => client.stopped),
            [true, true, false],
        );
        assert.equal(clients[2].setup.initializationOptions.arch, 'arm64');
    });
});

describe('commands', () => {
    it('kernelLsp.reindex sends workspace/executeCommand kernel-lsp.reindex with no arguments', async () => {
        await makeController().activate();
        await vscode.commands.executeCommand('kernelLsp.reindex');
        assert.deepEqual(clients[0].requests, [['workspace/executeCommand', { command: 'kernel-lsp.reindex' }]]);
    });

    it('kernelLsp.reindex without a server says so', async () => {
        executables.clear();
        await makeController().activate();
        fake.state.errors = [];
        await vscode.commands.executeCommand('kernelLsp.reindex');
        assert.equal(fake.state.errors.length, 1);
        assert.match(fake.state.errors[0], /not running/);
    });

    it('kernelLsp.restart replaces the client', async () => {
        await makeController().activate();
        await vscode.commands.executeCommand('kernelLsp.restart');
        assert.equal(clients.length, 2);
        assert.deepEqual(
            clients.map((client) => client.stopped),
            [true, false],
        );
        await vscode.commands.executeCommand('kernelLsp.reindex');
        assert.deepEqual(clients[0].requests, []);
        assert.equal(clients[1].requests.length, 1);
    });

    it('dispose stops the server and unregisters everything', async () => {
        const controller = makeController();
        await controller.activate();
        await controller.dispose();
        assert.equal(clients[0].stopped, true);
        assert.equal(fake.state.commands.size, 0);
        assert.equal(fake.state.configListeners.length, 0);
    });
});
