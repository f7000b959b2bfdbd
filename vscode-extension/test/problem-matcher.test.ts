/**
 * The contributed `$kernel-lsp` problem matcher against real `kernel-lsp check` output: each text
 * line must give the path, line, column, severity, message and code of the same finding in the
 * JSON report of the same run. The lines come from KERNEL_LSP_CHECK_TEXT / KERNEL_LSP_CHECK_JSON
 * when set (tests/test_vscode_extension.py runs the real CLI for them), else from test/data (a
 * captured run of `kernel-lsp check --root fixtures/linux-tree`).
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { manifest } from './manifest';

interface JsonFinding {
    code: string;
    severity: string;
    path: string;
    line: number;
    column: number;
    message: string;
}

const DATA = path.join(__dirname, '..', '..', 'test', 'data');
const textFile = process.env.KERNEL_LSP_CHECK_TEXT ?? path.join(DATA, 'check-output.txt');
const jsonFile = process.env.KERNEL_LSP_CHECK_JSON ?? path.join(DATA, 'check-output.json');

const matcher = manifest.contributes.problemMatchers[0];
const pattern = matcher.pattern;
const regexp = new RegExp(pattern.regexp);

function parse(line: string): JsonFinding & { file: string } | undefined {
    const m = regexp.exec(line);
    if (!m) {
        return undefined;
    }
    return {
        file: m[pattern.file],
        path: m[pattern.file],
        line: Number(m[pattern.line]),
        column: Number(m[pattern.column]),
        severity: m[pattern.severity],
        message: m[pattern.message],
        code: m[pattern.code],
    };
}

describe('the $kernel-lsp problem matcher', () => {
    it('is contributed under the name kernel-lsp, resolving relative paths against the workspace folder', () => {
        assert.equal(manifest.contributes.problemMatchers.length, 1);
        assert.equal(matcher.name, 'kernel-lsp');
        assert.equal(matcher.owner, 'kernel-lsp');
        assert.deepEqual(matcher.fileLocation, ['autoDetect', '${workspaceFolder}']);
    });

    it(`reads every finding of a real kernel-lsp check run (${path.basename(textFile)})`, () => {
        const lines = fs.readFileSync(textFile, 'utf8').split('\n').filter((line) => line !== '');
        const findings = (JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { findings: JsonFinding[] }).findings;
        assert.ok(findings.length >= 10, `${jsonFile} has only ${findings.length} findings`);
        assert.ok(new Set(findings.map((f) => f.severity)).size >= 2, 'errors and warnings both occur');
        const parsed = lines.map((line) => parse(line));
        const unmatched = lines.filter((_, index) => parsed[index] === undefined);
        assert.deepEqual(unmatched, [], 'every output line is a finding');
        assert.deepEqual(
            parsed.map((p) => p && { path: p.path, line: p.line, column: p.column, severity: p.severity, message: p.message, code: p.code }),
            findings.map((f) => ({ path: f.path, line: f.line, column: f.column, severity: f.severity, message: f.message, code: f.code })),
        );
    });

    const table: Array<[string, Partial<JsonFinding> | undefined]> = [
        ['fs/stat.c:34:7: error: implicit declaration of function \'do_sys_open\' [404_2]', { path: 'fs/stat.c', line: 34, column: 7, severity: 'error', code: '404_2' }],
        ['/abs/tree/kernel/sys.c:3:1: note: message with [brackets] inside [020_2]', { path: '/abs/tree/kernel/sys.c', severity: 'note', message: 'message with [brackets] inside', code: '020_2' }],
        ['prog.o:1:1: error: R3 !read_ok at insn 4 [E012]', { path: 'prog.o', code: 'E012', message: 'R3 !read_ok at insn 4' }],
        ['kernel/sys.c:3:1: warning: no code at the end', { path: 'kernel/sys.c', code: undefined, message: 'no code at the end' }],
        ['kernel-lsp: 21 errors, 1 warning in 9 of 30 files checked', undefined],
        ['indexing ━━━━━━━━━ 30/30 0:00:01', undefined],
        ['kernel/sys.c:3: error: no column [404_2]', undefined],
    ];
    for (const [line, expected] of table) {
        it(`${expected ? 'reads' : 'ignores'}: ${line}`, () => {
            const got = parse(line);
            if (expected === undefined) {
                assert.equal(got, undefined);
                return;
            }
            assert.ok(got);
            for (const [key, value] of Object.entries(expected)) {
                assert.equal(got[key as keyof JsonFinding], value, key);
            }
        });
    }
});
