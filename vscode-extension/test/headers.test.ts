import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DocumentLike, kernelRoot, readHeaderLanguage, shouldSwitchToC, startsServer, TreeHost } from '../src/headers';

/** Paths that exist; those ending in / are directories. */
function tree(paths: string[]): TreeHost {
    const set = new Set(paths);
    return { exists: (file) => set.has(file) || set.has(`${file}/`), isDirectory: (file) => set.has(`${file}/`) };
}

const linux = tree(['/src/linux/Kconfig', '/src/linux/include/linux/', '/src/linux/fs/Kconfig', '/src/linux/fs/ext4/Kconfig']);
const custom = tree(['/home/dev/os/kernel-lsp.toml', '/home/dev/os/sub/Kconfig']);

function doc(fsPath: string, languageId: string, scheme = 'file'): DocumentLike {
    return { languageId, uri: { scheme, fsPath } };
}

describe('kernelRoot', () => {
    const table: Array<[TreeHost, string, string | undefined]> = [
        [linux, '/src/linux/fs/ext4/ext4.h', '/src/linux'],
        [linux, '/src/linux/include/linux/fs.h', '/src/linux'],
        [linux, '/src/linux/Makefile', '/src/linux'],
        [linux, '/src/other/a.h', undefined],
        [custom, '/home/dev/os/sub/x.h', '/home/dev/os'],
        [tree(['/a/Kconfig', '/a/include/']), '/a/b.h', undefined],
        [tree(['/a/Kbuild', '/a/include/linux/']), '/a/b/c.h', '/a'],
    ];
    for (const [host, file, root] of table) {
        it(`${file} -> ${root ?? 'no kernel tree'}`, () => assert.equal(kernelRoot(file, host), root));
    }
});

describe('shouldSwitchToC', () => {
    const table: Array<[DocumentLike, 'c' | 'unchanged', boolean]> = [
        [doc('/src/linux/fs/ext4/ext4.h', 'cpp'), 'c', true],
        [doc('/src/linux/fs/ext4/EXT4.H', 'cpp'), 'c', true],
        [doc('/src/linux/fs/ext4/ext4.h', 'cpp'), 'unchanged', false],
        [doc('/src/linux/fs/ext4/ext4.h', 'c'), 'c', false],
        [doc('/src/linux/fs/ext4/ext4.h', 'objective-c'), 'c', false],
        [doc('/src/linux/tools/foo.hpp', 'cpp'), 'c', false],
        [doc('/src/linux/tools/foo.cpp', 'cpp'), 'c', false],
        [doc('/src/other/widget.h', 'cpp'), 'c', false],
        [doc('/src/linux/fs/ext4/ext4.h', 'cpp', 'git'), 'c', false],
    ];
    for (const [document, setting, expected] of table) {
        it(`${document.uri.scheme}:${document.uri.fsPath} (${document.languageId}, ${setting}) -> ${expected}`, () => {
            assert.equal(shouldSwitchToC(document, setting, linux), expected);
        });
    }
});

describe('startsServer', () => {
    const table: Array<[DocumentLike, boolean]> = [
        [doc('/anywhere/main.c', 'c'), true],
        [doc('Untitled-1', 'c', 'untitled'), true],
        [doc('/src/linux/fs/ext4/ext4.h', 'cpp'), true],
        [doc('/src/other/widget.h', 'cpp'), false],
        [doc('/src/linux/tools/perf/x.cpp', 'cpp'), false],
        [doc('/anywhere/main.c', 'c', 'git'), false],
    ];
    for (const [document, expected] of table) {
        it(`${document.uri.scheme}:${document.uri.fsPath} (${document.languageId}) -> ${expected}`, () => {
            assert.equal(startsServer(document, linux), expected);
        });
    }
});

describe('readHeaderLanguage', () => {
    it('takes c and unchanged, defaults to c, and reports anything else', () => {
        assert.deepEqual(readHeaderLanguage('c'), { value: 'c' });
        assert.deepEqual(readHeaderLanguage('unchanged'), { value: 'unchanged' });
        assert.deepEqual(readHeaderLanguage(undefined), { value: 'c' });
        const bad = readHeaderLanguage(3);
        assert.equal(bad.value, 'c');
        assert.equal(bad.problem, 'kernelLsp.headerLanguage must be one of "c", "unchanged", not 3; using "c"');
    });
});
