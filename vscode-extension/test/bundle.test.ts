import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadBundle, parseProbe, pythonProblem, PythonProbe, versionRange } from '../src/bundle';

const bundle = { pythons: ['3.11', '3.12', '3.13', '3.14'] };
const cpython = (version: string): PythonProbe => ({ version, implementation: 'cpython', freeThreaded: false });

describe('pythonProblem', () => {
    const table: Array<[PythonProbe, string | undefined]> = [
        [cpython('3.11'), undefined],
        [cpython('3.14'), undefined],
        [cpython('3.10'), 'Python 3.10 (the bundled server needs CPython 3.11-3.14)'],
        [cpython('3.15'), 'Python 3.15 (the bundled server needs CPython 3.11-3.14)'],
        [cpython('2.7'), 'Python 2.7 (the bundled server needs CPython 3.11-3.14)'],
        [{ version: '3.11', implementation: 'pypy', freeThreaded: false }, 'pypy 3.11 (the bundled server needs CPython 3.11-3.14)'],
        [{ version: '3.13', implementation: 'cpython', freeThreaded: true }, 'a free-threaded CPython 3.13 (the bundled server needs CPython 3.11-3.14, not a free-threaded build)'],
    ];
    for (const [probe, expected] of table) {
        it(`${probe.implementation} ${probe.version}${probe.freeThreaded ? 't' : ''} -> ${expected ?? 'ok'}`, () => {
            assert.equal(pythonProblem(probe, bundle), expected);
        });
    }
});

describe('versionRange', () => {
    it('joins consecutive versions with a dash, lists the others', () => {
        assert.equal(versionRange(['3.11', '3.12', '3.13']), '3.11-3.13');
        assert.equal(versionRange(['3.11', '3.13']), '3.11, 3.13');
        assert.equal(versionRange(['3.12']), '3.12');
    });
});

describe('parseProbe', () => {
    it('reads the probe JSON and rejects anything else', () => {
        assert.deepEqual(parseProbe('{"version": "3.12", "implementation": "cpython", "freeThreaded": false}\n'), cpython('3.12'));
        assert.match(String(parseProbe('Python 3.12.1')), /^unexpected output "Python 3.12.1"$/);
        assert.match(String(parseProbe('{"version": 3}')), /^unexpected output/);
    });
});

describe('loadBundle', () => {
    const at = (text: string | undefined) => loadBundle('/ext', (file) => (file === path.join('/ext', 'bundled', 'bundle.json') ? text : undefined));
    it('reads bundled/bundle.json', () => {
        assert.deepEqual(at('{"pythons": ["3.11", "3.12"], "server": "0.1.0", "platform": "manylinux2014_x86_64"}'), {
            libs: path.join('/ext', 'bundled', 'libs'),
            pythons: ['3.11', '3.12'],
            server: '0.1.0',
        });
    });
    it('says why there is no bundle', () => {
        assert.equal(at(undefined), 'this build of the extension has no bundled server');
        assert.match(String(at('{')), /bundle\.json is not valid JSON/);
        assert.match(String(at('{"pythons": []}')), /bundle\.json lists no Python versions/);
    });
});
