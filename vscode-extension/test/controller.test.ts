import './vscode-hook';
import * as assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import * as vscode from 'vscode';
import { PythonProbe } from '../src/bundle';
import { ClientSetup, Controller, ManagedClient } from '../src/controller';
import { DiscoveryHost, ServerCommand } from '../src/discovery';
import { TreeHost } from '../src/headers';
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
    async start(): Promise<void> {
        await startGate;
        if (this.failStart) {
            throw new Error('spawn ENOENT');
        }
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
let pythons: Record<string, PythonProbe>;
let failStart: boolean;
/** Client starts wait for this. */
let startGate: Promise<void>;
let output: fake.FakeOutput;
/** Paths that exist in the fake file system; those ending in / are directories. */
let tree: Set<string>;

const KERNEL_TREE = ['/ws/Kconfig', '/ws/include/linux/', '/ws/fs/Kconfig'];

function treeHost(): TreeHost {
    return { exists: (file) => tree.has(file) || tree.has(`${file}/`), isDirectory: (file) => tree.has(`${file}/`) };
}

function makeController(): Controller {
    const makeHost = (workspaceFolder: string | undefined, log: (message: string) => void): DiscoveryHost => ({
        workspaceFolder,
        homeDir: '/home/dev',
        env: { PATH: '/usr/bin' },
        platform: 'linux',
        isExecutable: (file) => executables.has(file),
        bundle: { libs: '/ext/bundled/libs', pythons: ['3.11', '3.12', '3.13', '3.14'], server: '0.1.0' },
        probePython: (python) => Promise.resolve(pythons[python] ?? 'not runnable'),
        log,
    });
    const createClient = (server: ServerCommand, setup: ClientSetup) => {
        const client = new FakeClient(server, setup, failStart);
        clients.push(client);
        return client;
    };
    return new Controller(output as unknown as vscode.LogOutputChannel, { createClient, makeHost, tree: treeHost() });
}

function statusItem(): fake.FakeStatusBarItem {
    assert.equal(fake.state.statusItems.length, 1);
    return fake.state.statusItems[0];
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
    fake.reset();
    fake.state.defaults = contributedDefaults();
    fake.state.workspaceFolders = [{ uri: { fsPath: '/ws' }, name: 'ws', index: 0 }];
    fake.state.documents = [fake.document('/ws/kernel/sys.c', 'c')];
    clients = [];
    executables = new Set(['/usr/bin/kernel-lsp', '/usr/bin/python3']);
    pythons = { '/usr/bin/python3': { version: '3.11', implementation: 'cpython', freeThreaded: false } };
    failStart = false;
    startGate = Promise.resolve();
    output = new fake.FakeOutput();
    tree = new Set();
});

describe('activation', () => {
    it('starts the bundled server with python3 and the settings as initializationOptions', async () => {
        await makeController().activate();
        assert.equal(clients.length, 1);
        assert.deepEqual(clients[0].server, {
            command: '/usr/bin/python3',
            args: ['-P', '-m', 'kernel_lsp', 'serve'],
            source: 'bundled',
            env: { PYTHONPATH: '/ext/bundled/libs' },
            cli: ['-P', '-m', 'kernel_lsp'],
        });
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
            'kernelLsp.headerLanguage': 'unchanged',
        };
        executables.add('/ws/.venv/bin/python');
        pythons['/ws/.venv/bin/python'] = { version: '3.13', implementation: 'cpython', freeThreaded: false };
        await makeController().activate();
        assert.equal(clients[0].server.command, '/ws/.venv/bin/python');
        assert.deepEqual(clients[0].setup.initializationOptions, { severity: { '504_2': 'off' }, jobs: 4 });
        assert.deepEqual(clients[0].setup.settingsFor('file:///ws/kernel/sys.c'), { severity: { '504_2': 'off' }, jobs: 4 });
    });

    it('registers the commands and the check task provider', async () => {
        await makeController().activate();
        assert.deepEqual([...fake.state.commands.keys()].sort(), ['kernelLsp.reindex', 'kernelLsp.restart', 'kernelLsp.showOutput']);
        assert.deepEqual([...fake.state.taskProviders.keys()], ['kernel-lsp']);
    });

    it('says what was tried when no server is found, and starts no client', async () => {
        executables.clear();
        await makeController().activate();
        assert.equal(clients.length, 0);
        assert.equal(fake.state.errors.length, 1);
        assert.match(fake.state.errors[0], /^Kernel LSP: no kernel-lsp server could be started\. Tried \(1\) kernelLsp\.server\.path: not set;/);
        assert.match(fake.state.errors[0], /\(4\) kernel-lsp on PATH: not found/);
        assert.ok(output.lines.includes(`error ${fake.state.errors[0]}`));
        assert.equal(statusItem().text, '$(error) kernel-lsp: not running');
        assert.equal(statusItem().command, 'kernelLsp.showOutput');
        assert.deepEqual(statusItem().backgroundColor, new fake.ThemeColor('statusBarItem.errorBackground'));
    });

    it('reports a server that does not start', async () => {
        failStart = true;
        await makeController().activate();
        assert.equal(fake.state.errors.length, 1);
        assert.match(fake.state.errors[0], /did not start \(spawn ENOENT\)/);
        assert.equal(statusItem().text, '$(error) kernel-lsp: not running');
    });
});

describe('when the server starts', () => {
    it('not for a C++ file outside a kernel tree; then for the first C file opened', async () => {
        fake.state.documents = [fake.document('/ws/src/main.cpp', 'cpp'), fake.document('/ws/src/util.h', 'cpp')];
        await makeController().activate();
        assert.equal(clients.length, 0);
        assert.equal(statusItem().visible, false);
        fake.openDocument(fake.document('/ws/src/glue.c', 'c'));
        await tick();
        assert.equal(clients.length, 1);
        fake.openDocument(fake.document('/ws/src/more.c', 'c'));
        await tick();
        assert.equal(clients.length, 1, 'one server for the workspace');
    });

    it('at activation when the workspace folder is a kernel tree, even with no file open', async () => {
        fake.state.documents = [];
        KERNEL_TREE.forEach((file) => tree.add(file));
        await makeController().activate();
        assert.equal(clients.length, 1);
    });

    it('at activation when the workspace holds a kernel-lsp.toml', async () => {
        fake.state.documents = [];
        fake.state.files = ['/ws/sub/kernel-lsp.toml'];
        await makeController().activate();
        assert.equal(clients.length, 1);
    });
});

describe('kernelLsp.headerLanguage', () => {
    it('"c" (default): a kernel-tree .h opened as C++ becomes C, and starts the server', async () => {
        KERNEL_TREE.forEach((file) => tree.add(file));
        fake.state.documents = [];
        fake.state.workspaceFolders = [{ uri: { fsPath: '/ws/fs' }, name: 'fs', index: 0 }];
        tree.delete('/ws/include/linux/');
        await makeController().activate();
        assert.equal(clients.length, 0, 'not a kernel tree without include/linux');
        tree.add('/ws/include/linux/');
        fake.openDocument(fake.document('/ws/fs/internal.h', 'cpp'));
        await tick();
        assert.deepEqual(fake.state.languageSwitches, [{ path: '/ws/fs/internal.h', from: 'cpp', to: 'c' }]);
        assert.equal(clients.length, 1);
        assert.ok(output.lines.includes('info /ws/fs/internal.h: opened as C++, switched to C (kernelLsp.headerLanguage)'));
    });

    it('"c": headers already open at activation are switched', async () => {
        KERNEL_TREE.forEach((file) => tree.add(file));
        fake.state.documents = [fake.document('/ws/include/linux/fs.h', 'cpp'), fake.document('/ws/include/linux/fs.hpp', 'cpp')];
        await makeController().activate();
        assert.deepEqual(fake.state.languageSwitches, [{ path: '/ws/include/linux/fs.h', from: 'cpp', to: 'c' }]);
    });

    it('"c": a .h outside a kernel tree keeps its language', async () => {
        fake.openDocument(fake.document('/home/dev/qt/widget.h', 'cpp'));
        await makeController().activate();
        fake.openDocument(fake.document('/home/dev/qt/other.h', 'cpp'));
        await tick();
        assert.deepEqual(fake.state.languageSwitches, []);
    });

    it('"unchanged": headers keep C++ (the server still gets them), until the setting becomes "c"', async () => {
        KERNEL_TREE.forEach((file) => tree.add(file));
        fake.state.user = { 'kernelLsp.headerLanguage': 'unchanged' };
        fake.state.documents = [fake.document('/ws/include/linux/fs.h', 'cpp')];
        const controller = makeController();
        await controller.activate();
        assert.deepEqual(fake.state.languageSwitches, []);
        assert.equal(clients.length, 1);
        fake.updateSettings({ 'kernelLsp.headerLanguage': 'c' });
        await tick();
        await controller.idle();
        assert.deepEqual(fake.state.languageSwitches, [{ path: '/ws/include/linux/fs.h', from: 'cpp', to: 'c' }]);
        assert.equal(clients.length, 1, 'changing headerLanguage does not restart the server');
    });

    it('a bad value is reported and "c" is used', async () => {
        KERNEL_TREE.forEach((file) => tree.add(file));
        fake.state.user = { 'kernelLsp.headerLanguage': 'c++' };
        fake.state.documents = [fake.document('/ws/include/linux/fs.h', 'cpp')];
        await makeController().activate();
        assert.equal(fake.state.languageSwitches.length, 1);
        assert.ok(output.lines.includes('warn kernelLsp.headerLanguage must be one of "c", "unchanged", not "c++"; using "c"'));
    });
});

describe('status bar', () => {
    it('shows starting, then running with no findings', async () => {
        let open = () => {};
        startGate = new Promise((resolve) => (open = resolve));
        const controller = makeController();
        const activation = controller.activate();
        while (clients.length === 0) {
            await tick();
        }
        assert.equal(statusItem().text, '$(sync~spin) kernel-lsp: starting');
        assert.equal(statusItem().visible, true);
        open();
        await activation;
        assert.equal(statusItem().visible, true);
        assert.equal(statusItem().name, 'kernel-lsp');
        assert.equal(statusItem().text, '$(check) kernel-lsp');
        assert.equal(statusItem().command, 'workbench.actions.view.problems');
        assert.equal(statusItem().backgroundColor, undefined);
    });

    it('follows the index progress the server reports', async () => {
        await makeController().activate();
        const setup = clients[0].setup;
        setup.onProgress('kernel-lsp-index-1', { kind: 'begin', title: 'kernel-lsp: indexing', percentage: 0, message: 'reading the tree' });
        assert.equal(statusItem().text, '$(sync~spin) kernel-lsp: indexing 0%');
        assert.match(String(statusItem().tooltip), /^kernel-lsp: indexing: reading the tree\n/);
        setup.onProgress('kernel-lsp-index-1', { kind: 'report', percentage: 42, message: '420/1000 fs/open.c' });
        assert.equal(statusItem().text, '$(sync~spin) kernel-lsp: indexing 42%');
        assert.match(String(statusItem().tooltip), /420\/1000 fs\/open\.c/);
        setup.onProgress('kernel-lsp-index-1', { kind: 'end', message: '1000 files' });
        assert.equal(statusItem().text, '$(check) kernel-lsp');
    });

    it('counts the diagnostics whose source is kernel-lsp', async () => {
        await makeController().activate();
        fake.setDiagnostics([
            ['/ws/kernel/sys.c', [
                { source: 'kernel-lsp', severity: 0, message: 'implicit declaration of function ktime_get_real_ns' },
                { source: 'kernel-lsp', severity: 0, message: 'nr_processes is called but defined nowhere' },
                { source: 'cpptools', severity: 0, message: 'not ours' },
            ]],
            ['/ws/drivers/ledctl.c', [{ source: 'kernel-lsp', severity: 1, message: 'include resolves to no file' }]],
            ['/ws/mm/vmscan.c', [{ source: 'gcc', severity: 1, message: 'not ours either' }]],
        ]);
        assert.equal(statusItem().text, '$(error) 2 $(warning) 1 kernel-lsp');
        assert.match(String(statusItem().tooltip), /^Findings: 2 errors, 1 warning in 2 files\./);
        fake.setDiagnostics([['/ws/kernel/sys.c', [{ source: 'kernel-lsp', severity: 2, message: 'a note' }]]]);
        assert.equal(statusItem().text, '$(error) 0 $(warning) 0 $(info) 1 kernel-lsp');
        fake.setDiagnostics([]);
        assert.equal(statusItem().text, '$(check) kernel-lsp');
    });

    it('a server that stops on its own shows as not running', async () => {
        await makeController().activate();
        clients[0].setup.onState('stopped');
        assert.equal(statusItem().text, '$(error) kernel-lsp: not running');
        clients[0].setup.onState('running');
        assert.equal(statusItem().text, '$(check) kernel-lsp');
    });

    it('state changes of a replaced client are ignored', async () => {
        const controller = makeController();
        await controller.activate();
        await controller.restart('test');
        clients[0].setup.onState('stopped');
        assert.equal(statusItem().text, '$(check) kernel-lsp');
    });
});

describe('restart on settings change', () => {
    const table: Array<[Record<string, unknown>, boolean]> = [
        [{ 'kernelLsp.arch': 'arm64' }, true],
        [{ 'kernelLsp.server.path': '/usr/bin/kernel-lsp' }, true],
        [{ 'kernelLsp.server.python': '/usr/bin/python3' }, true],
        [{ 'kernelLsp.trace.server': 'messages' }, true],
        [{ 'kernelLsp.headerLanguage': 'unchanged' }, false],
        [{ 'python.defaultInterpreterPath': '/usr/bin/python3' }, false],
        [{ 'editor.tabSize': 8 }, false],
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

    it('a change before the server was wanted starts nothing', async () => {
        fake.state.documents = [];
        const controller = makeController();
        await controller.activate();
        fake.updateSettings({ 'kernelLsp.arch': 'arm64' });
        await controller.idle();
        assert.equal(clients.length, 0);
    });

    it('the new server gets the new settings', async () => {
        const controller = makeController();
        await controller.activate();
        fake.updateSettings({ 'kernelLsp.arch': 'arm64', 'kernelLsp.server.path': '/usr/bin/kernel-lsp' });
        await controller.idle();
        assert.equal(clients[1].setup.initializationOptions.arch, 'arm64');
        assert.deepEqual([clients[1].server.command, ...clients[1].server.args], ['/usr/bin/kernel-lsp', 'serve']);
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
        await tick();
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
        assert.match(fake.state.errors[0], /not running.*"kernel-lsp" output/);
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

    it('kernelLsp.showOutput shows the output channel', async () => {
        await makeController().activate();
        await vscode.commands.executeCommand('kernelLsp.showOutput');
        assert.equal(output.shown, 1);
    });

    it('dispose stops the server and unregisters everything', async () => {
        const controller = makeController();
        await controller.activate();
        await controller.dispose();
        assert.equal(clients[0].stopped, true);
        assert.equal(fake.state.commands.size, 0);
        assert.equal(fake.state.configListeners.length, 0);
        assert.equal(fake.state.openListeners.length, 0);
        assert.equal(fake.state.diagnosticListeners.length, 0);
        assert.equal(fake.state.taskProviders.size, 0);
        assert.equal(statusItem().disposed, true);
    });
});

describe('the kernel-lsp check task', () => {
    const provider = () => {
        const found = fake.state.taskProviders.get('kernel-lsp');
        assert.ok(found);
        return found;
    };

    it('runs kernel-lsp check with the bundled server in the workspace folder, read by $kernel-lsp', async () => {
        await makeController().activate();
        const tasks = await provider().provideTasks();
        assert.equal(tasks.length, 1);
        const [task] = tasks;
        assert.equal(task.name, 'check');
        assert.equal(task.source, 'kernel-lsp');
        assert.deepEqual(task.definition, { type: 'kernel-lsp', command: 'check' });
        assert.equal(task.problemMatchers, '$kernel-lsp');
        assert.deepEqual(task.execution, new fake.ProcessExecution('/usr/bin/python3', ['-P', '-m', 'kernel_lsp', 'check'], {
            cwd: '/ws',
            env: { PYTHONPATH: '/ext/bundled/libs' },
        }));
    });

    it('resolves a tasks.json task with paths and args', async () => {
        fake.state.user = { 'kernelLsp.server.path': '/usr/bin/kernel-lsp' };
        await makeController().activate();
        const folder = fake.state.workspaceFolders?.[0];
        const definition = { type: 'kernel-lsp', command: 'check', paths: ['fs/open.c'], args: ['--jobs', '2'] };
        const task = await provider().resolveTask(new fake.Task(definition, folder, 'check', 'kernel-lsp'));
        assert.ok(task);
        assert.deepEqual(task.execution, new fake.ProcessExecution('/usr/bin/kernel-lsp', ['check', 'fs/open.c', '--jobs', '2'], { cwd: '/ws', env: {} }));
        assert.equal(task.name, 'check fs/open.c --jobs 2');
    });

    it('is not offered in a workspace that did not start the server (a C++ project)', async () => {
        fake.state.documents = [fake.document('/ws/src/main.cpp', 'cpp')];
        await makeController().activate();
        assert.equal(clients.length, 0);
        assert.deepEqual(await provider().provideTasks(), []);
    });

    it('a tasks.json task before the server started discovers the program itself', async () => {
        fake.state.documents = [];
        await makeController().activate();
        assert.equal(clients.length, 0);
        const definition = { type: 'kernel-lsp', command: 'check' };
        const task = await provider().resolveTask(new fake.Task(definition, fake.state.workspaceFolders?.[0], 'check', 'kernel-lsp'));
        assert.equal(task?.execution?.process, '/usr/bin/python3');
    });

    const bad: Array<[string, Record<string, unknown>, string]> = [
        ['an unknown command', { type: 'kernel-lsp', command: 'fix' }, 'Task: a kernel-lsp task needs "command": "check", not "fix"'],
        ['paths that are not strings', { type: 'kernel-lsp', command: 'check', paths: [1] }, 'Task: "paths" of a kernel-lsp task must be an array of strings'],
    ];
    for (const [name, definition, message] of bad) {
        it(`${name} is logged and gives no task`, async () => {
            await makeController().activate();
            const task = await provider().resolveTask(new fake.Task(definition as { type: string }, fake.state.workspaceFolders?.[0], 'x', 'kernel-lsp'));
            assert.equal(task, undefined);
            assert.ok(output.lines.includes(`info ${message}`), output.lines.join('\n'));
        });
    }

    it('a server.path command line that does not end in serve gives no task, with a reason', async () => {
        fake.state.user = { 'kernelLsp.server.path': ['/usr/bin/kernel-lsp', 'serve', '-v'] };
        await makeController().activate();
        assert.deepEqual(await provider().provideTasks(), []);
        assert.ok(output.lines.some((line) => line.includes('does not end in "serve"')));
    });
});
