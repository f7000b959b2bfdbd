import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    InspectedSetting,
    mapConfigurationResult,
    needsRestart,
    SECTION,
    SERVER_KEYS,
    serverSettings,
} from '../src/settings';

/** An inspect() over user (global) values, with optional workspace and folder values. */
function levels(
    global: Record<string, unknown>,
    workspace: Record<string, unknown> = {},
    folder: Record<string, unknown> = {},
): (key: string) => InspectedSetting {
    return (key) => ({ globalValue: global[key], workspaceValue: workspace[key], workspaceFolderValue: folder[key] });
}

describe('serverSettings', () => {
    const user = {
        'server.path': '/opt/kernel-lsp',
        'trace.server': 'verbose',
        includePaths: ['include', 'arch/{arch}/include'],
        arch: 'arm64',
        exclude: ['tools/**'],
        severity: { '504_2': 'off', '406_2': 'warning' } as Record<string, string>,
        disable: ['503_2'],
        debounceMs: 120,
        jobs: 2,
        maxFileBytes: 1024,
    };

    it('passes every server key the user set, and never server.* or trace.*', () => {
        assert.deepEqual(serverSettings(levels(user)), {
            includePaths: ['include', 'arch/{arch}/include'],
            arch: 'arm64',
            exclude: ['tools/**'],
            severity: { '504_2': 'off', '406_2': 'warning' },
            disable: ['503_2'],
            debounceMs: 120,
            jobs: 2,
            maxFileBytes: 1024,
        });
    });

    it('leaves out keys at their default, so kernel-lsp.toml and the server defaults apply', () => {
        assert.deepEqual(serverSettings(() => ({})), {});
        assert.deepEqual(serverSettings(() => undefined), {});
        assert.deepEqual(serverSettings(levels({ arch: 'riscv' })), { arch: 'riscv' });
    });

    it('takes the most specific level: folder, then workspace, then user', () => {
        const inspect = levels({ arch: 'x86', jobs: 4, exclude: ['a/**'] }, { arch: 'arm64', jobs: null }, { arch: 'riscv' });
        assert.deepEqual(serverSettings(inspect), { arch: 'riscv', jobs: null, exclude: ['a/**'] });
    });

    it('copies values, so later changes to the settings do not leak in', () => {
        const input = structuredClone(user);
        const out = serverSettings(levels(input));
        input.exclude.push('samples/**');
        input.severity['020_2'] = 'note';
        assert.deepEqual(out.exclude, ['tools/**']);
        assert.deepEqual(out.severity, { '504_2': 'off', '406_2': 'warning' });
    });

    it('passes bad values through for the server to report', () => {
        assert.deepEqual(serverSettings(levels({ arch: 7, debounceMs: 'soon', extra: true })), { arch: 7, debounceMs: 'soon' });
    });

    it('knows exactly the keys the server reads', () => {
        assert.deepEqual(
            [...SERVER_KEYS].sort(),
            ['arch', 'debounceMs', 'disable', 'docsUrl', 'exclude', 'includePaths', 'jobs', 'maxFileBytes', 'severity'],
        );
    });
});

describe('mapConfigurationResult', () => {
    it('answers section kernelLsp with the server settings of the item scope, and leaves others alone', () => {
        const items = [{ section: SECTION, scopeUri: 'file:///ws/a.c' }, { section: 'editor' }, {}, { section: SECTION }];
        const results = [{ arch: 'x86', server: { path: '/x' }, trace: { server: 'off' } }, { tabSize: 8 }, null, {}];
        const settingsFor = (scopeUri: string | undefined) => ({ arch: scopeUri ?? 'first folder' });
        assert.deepEqual(mapConfigurationResult(items, results, settingsFor), [
            { arch: 'file:///ws/a.c' },
            { tabSize: 8 },
            null,
            { arch: 'first folder' },
        ]);
    });
});

describe('needsRestart', () => {
    const affects = (changed: string[]) => (section: string) =>
        changed.some((key) => key === section || key.startsWith(`${section}.`));
    const table: Array<[string[], boolean]> = [
        [['kernelLsp.arch'], true],
        [['kernelLsp.server.path'], true],
        [['kernelLsp.trace.server'], true],
        [['kernelLsp.server.python'], true],
        [['kernelLsp.includePaths'], true],
        [['kernelLsp.headerLanguage'], false],
        [['python.defaultInterpreterPath'], false],
        [['python.analysis.typeCheckingMode'], false],
        [['editor.tabSize'], false],
        [['kernelLspExtra.value'], false],
        [[], false],
    ];
    for (const [changed, expected] of table) {
        it(`${changed.join(', ') || 'nothing'} -> ${expected}`, () => assert.equal(needsRestart(affects(changed)), expected));
    }
});
