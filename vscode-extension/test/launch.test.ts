import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerCommand } from '../src/discovery';
import { cliLaunch, serverLaunch } from '../src/launch';

const bundled: ServerCommand = {
    command: '/usr/bin/python3',
    args: ['-P', '-m', 'kernel_lsp', 'serve'],
    source: 'bundled',
    env: { PYTHONPATH: '/ext/bundled/libs' },
    cli: ['-P', '-m', 'kernel_lsp'],
};

describe('serverLaunch', () => {
    it('runs exactly the discovered command line: no --stdio (kernel-lsp serve rejects it)', () => {
        const launch = serverLaunch(bundled, '/ws', { PATH: '/usr/bin', HOME: '/home/dev' });
        assert.equal(launch.command, '/usr/bin/python3');
        assert.deepEqual(launch.args, ['-P', '-m', 'kernel_lsp', 'serve']);
        assert.equal(launch.options.cwd, '/ws');
        assert.equal('transport' in launch, false);
    });

    it('gives a complete environment, with the bundled PYTHONPATH winning over the user one', () => {
        const launch = serverLaunch(bundled, '/ws', { PATH: '/usr/bin', HOME: '/home/dev', PYTHONPATH: '/mine', UNSET: undefined });
        assert.deepEqual(launch.options.env, { PATH: '/usr/bin', HOME: '/home/dev', PYTHONPATH: '/ext/bundled/libs' });
    });

    it('leaves the environment alone for a server that needs no variables', () => {
        const launch = serverLaunch({ command: '/usr/bin/kernel-lsp', args: ['serve'], source: 'PATH', cli: [] }, undefined, { PATH: '/usr/bin' });
        assert.deepEqual(launch.options.env, { PATH: '/usr/bin' });
    });
});

describe('cliLaunch', () => {
    it('runs a subcommand with the same program and only the server variables (tasks merge env)', () => {
        assert.deepEqual(cliLaunch(bundled, ['check', 'fs/open.c'], '/ws'), {
            command: '/usr/bin/python3',
            args: ['-P', '-m', 'kernel_lsp', 'check', 'fs/open.c'],
            options: { cwd: '/ws', env: { PYTHONPATH: '/ext/bundled/libs' } },
        });
    });

    it('has nothing to run when the command line cannot run the CLI', () => {
        assert.equal(cliLaunch({ command: '/x', args: ['serve', '-v'], source: 'kernelLsp.server.path' }, ['check'], '/ws'), undefined);
    });
});
