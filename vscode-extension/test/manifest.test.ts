import './vscode-hook';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../src/commands';
import { DEFAULT_HEADER_LANGUAGE, HEADER_LANGUAGES } from '../src/headers';
import { SECTION, SERVER_KEYS } from '../src/settings';
import { PROBLEM_MATCHER, TASK_TYPE } from '../src/tasks';
import { manifest } from './manifest';

const settings = manifest.contributes.configuration.properties;
const CODES = ['020_2', '404_2', '405_2', '406_2', '407_2', '408_2', '502_2', '503_2', '504_2'];

describe('package.json', () => {
    it('contributes each server key as a setting, plus server.*, headerLanguage and trace.server', () => {
        const expected = [
            ...SERVER_KEYS.map((key) => `${SECTION}.${key}`),
            `${SECTION}.server.path`,
            `${SECTION}.server.python`,
            `${SECTION}.headerLanguage`,
            `${SECTION}.trace.server`,
        ];
        assert.deepEqual(Object.keys(settings).sort(), expected.sort());
    });

    for (const [key, schema] of Object.entries(settings)) {
        it(`${key} has a type, a default, a scope and a description`, () => {
            assert.ok(schema.type, 'type');
            assert.ok('default' in schema, 'default');
            assert.ok(schema.scope, 'scope');
            assert.ok((schema.markdownDescription ?? schema.description ?? '').length > 20, 'description');
        });
    }

    it('has the documented defaults', () => {
        const defaults = Object.fromEntries(Object.entries(settings).map(([key, schema]) => [key, schema.default]));
        assert.deepEqual(defaults, {
            'kernelLsp.server.path': '',
            'kernelLsp.server.python': '',
            'kernelLsp.headerLanguage': 'c',
            'kernelLsp.includePaths': [],
            'kernelLsp.arch': 'x86',
            'kernelLsp.exclude': [],
            'kernelLsp.severity': {},
            'kernelLsp.disable': [],
            'kernelLsp.debounceMs': 10,
            'kernelLsp.jobs': null,
            'kernelLsp.maxFileBytes': 4194304,
            'kernelLsp.docsUrl': '',
            'kernelLsp.trace.server': 'off',
        });
        assert.deepEqual([settings['kernelLsp.debounceMs'].minimum, settings['kernelLsp.debounceMs'].maximum], [0, 5000]);
    });

    it('documents every finding code in kernelLsp.severity with the four levels', () => {
        const severity = settings['kernelLsp.severity'];
        assert.deepEqual(Object.keys(severity.properties ?? {}), CODES);
        for (const code of CODES) {
            assert.deepEqual(severity.properties?.[code].enum, ['error', 'warning', 'note', 'off']);
            assert.ok(severity.markdownDescription?.includes(code), code);
        }
        assert.deepEqual(severity.additionalProperties?.enum, ['error', 'warning', 'note', 'off']);
    });

    it('contributes the commands the extension registers', () => {
        assert.deepEqual(manifest.contributes.commands, [
            { command: COMMANDS.reindex, title: 'Kernel LSP: Reindex workspace' },
            { command: COMMANDS.restart, title: 'Kernel LSP: Restart server' },
            { command: COMMANDS.showOutput, title: 'Kernel LSP: Show output' },
        ]);
    });

    it('activates on C files, on C++ (VS Code opens .h as C++) and kernel-lsp.toml, from the bundle', () => {
        assert.deepEqual(manifest.activationEvents, ['onLanguage:c', 'onLanguage:cpp', 'workspaceContains:**/kernel-lsp.toml']);
        assert.equal(manifest.main, './dist/extension.js');
    });

    it('kernelLsp.headerLanguage offers c and unchanged, each described', () => {
        const schema = settings['kernelLsp.headerLanguage'];
        assert.deepEqual(schema.enum, [...HEADER_LANGUAGES]);
        assert.equal(schema.default, DEFAULT_HEADER_LANGUAGE);
        assert.equal((schema as { enumDescriptions?: string[] }).enumDescriptions?.length, HEADER_LANGUAGES.length);
    });

    it('contributes the kernel-lsp task type the task provider serves', () => {
        const [definition] = manifest.contributes.taskDefinitions;
        assert.equal(definition.type, TASK_TYPE);
        assert.deepEqual(definition.required, ['command']);
        assert.deepEqual(definition.properties.command.enum, ['check']);
        assert.deepEqual(Object.keys(definition.properties).sort(), ['args', 'command', 'paths']);
        assert.equal(`$${manifest.contributes.problemMatchers[0].name}`, PROBLEM_MATCHER);
    });

    it('has a 128x128 PNG icon', () => {
        assert.equal(manifest.icon, 'images/icon.png');
        const png = fs.readFileSync(path.join(__dirname, '..', '..', manifest.icon));
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
        assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    });

    it('pins exact versions, and @types/vscode matches engines.vscode', () => {
        for (const version of [...Object.values(manifest.dependencies), ...Object.values(manifest.devDependencies)]) {
            assert.match(version, /^\d+\.\d+\.\d+$/);
        }
        assert.equal(`^${manifest.devDependencies['@types/vscode']}`, manifest.engines.vscode);
    });

    it('asks for the VS Code version the installed vscode-languageclient needs', () => {
        const file = path.join(__dirname, '..', '..', 'node_modules', 'vscode-languageclient', 'package.json');
        const client = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string; engines: { vscode: string } };
        assert.equal(client.version, manifest.dependencies['vscode-languageclient']);
        assert.equal(client.engines.vscode, manifest.engines.vscode);
    });
});
