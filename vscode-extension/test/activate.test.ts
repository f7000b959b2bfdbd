import './vscode-hook';
import * as assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { activateExtension, OUTPUT_CHANNEL } from '../src/activate';
import * as fake from './fake-vscode';
import { contributedDefaults } from './manifest';

beforeEach(() => {
    fake.reset();
    fake.state.defaults = contributedDefaults();
});

describe('activateExtension', () => {
    it('creates the log output channel "kernel-lsp" and hands it to the extension context', async () => {
        const subscriptions: Array<{ dispose(): unknown }> = [];
        const controller = await activateExtension({ extensionPath: '/ext', subscriptions }, () => {
            throw new Error('no C document is open, so no client is created');
        });
        assert.equal(OUTPUT_CHANNEL, 'kernel-lsp');
        assert.deepEqual(fake.state.outputChannels, [{ name: 'kernel-lsp', options: { log: true } }]);
        assert.equal(subscriptions.length, 1);
        assert.ok(fake.state.commands.has('kernelLsp.showOutput'));
        await controller.dispose();
    });
});
