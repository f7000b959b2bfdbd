import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapConfigurationResult, needsRestart, SECTION, SERVER_KEYS, serverSettings } from '../src/settings';

describe('serverSettings', () => {
    const section = {
        server: { path: '/opt/kernel-lsp', python: '/usr/bin/python3' },
        trace: { server: 'verbose' },
        includePaths: ['include', 'arch/{arch}/include'],
        arch: 'arm64',
        exclude: ['tools/**'],
        severity: { '504_2': 'off', '406_2': 'warning' } as Record<string, string>,
        disable: ['503_2'],
        debounceMs: 120,
        jobs: null,
        maxFileBytes: 1024,
    };

    it('passes every server key and drops server.* and trace.*', () => {
        assert.deepEqual(serverSettings(section), {
            includePaths: ['include', 'arch/{arch}/include'],
            arch: 'arm64',
            exclude: ['tools/**'],
            severity: { '504_2': 'off', '406_2': 'warning' },
            disable: ['503_2'],
            debounceMs: 120,
            jobs: null,
            maxFileBytes: 1024,
        });
    });

    it('copies values, so later changes to the settings object do not leak in', () => {
        const input = structuredClone(section);
        const out = serverSettings(input);
        input.exclude.push('samples/**');
        input.severity['020_2'] = 'note';
        assert.deepEqual(out.exclude, ['tools/**']);
        assert.deepEqual(out.severity, { '504_2': 'off', '406_2': 'warning' });
    });

    it('passes bad values through for the server to report, and leaves unset keys out', () => {
        assert.deepEqual(serverSettings({ arch: 7, debounceMs: 'soon', extra: true }), { arch: 7, debounceMs: 'soon' });
    });

    for (const input of [undefined, null, 'x', 3]) {
        it(`gives {} for a section that is not an object (${String(input)})`, () => {
            assert.deepEqual(serverSettings(input), {});
        });
    }

    it('knows exactly the keys the server reads', () => {
        assert.deepEqual(
            [...SERVER_KEYS].sort(),
            ['arch', 'debounceMs', 'disable', 'exclude', 'includePaths', 'jobs', 'maxFileBytes', 'severity'],
        );
    });
});

describe('mapConfigurationResult', () => {
    it('rewrites the kernelLsp section only', () => {
        const items = [{ section: SECTION }, { section: 'editor' }, {}];
        const results = [{ arch: 'x86', server: { path: '/x' }, trace: { server: 'off' } }, { tabSize: 8 }, null];
        assert.deepEqual(mapConfigurationResult(items, results), [{ arch: 'x86' }, { tabSize: 8 }, null]);
    });
});

describe('needsRestart', () => {
    const affects = (changed: string[]) => (section: string) =>
        changed.some((key) => key === section || key.startsWith(`${section}.`));
    const table: Array<[string[], boolean]> = [
        [['kernelLsp.arch'], true],
        [['kernelLsp.server.path'], true],
        [['kernelLsp.trace.server'], true],
        [['python.defaultInterpreterPath'], true],
        [['python.analysis.typeCheckingMode'], false],
        [['editor.tabSize'], false],
        [['kernelLspExtra.value'], false],
        [[], false],
    ];
    for (const [changed, expected] of table) {
        it(`${changed.join(', ') || 'nothing'} -> ${expected}`, () => assert.equal(needsRestart(affects(changed)), expected));
    }
});
