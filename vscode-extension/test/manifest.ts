/** Reads the extension's package.json for tests. */

import * as fs from 'fs';
import * as path from 'path';

export interface SettingSchema {
    type?: string | string[];
    default?: unknown;
    scope?: string;
    description?: string;
    markdownDescription?: string;
    enum?: string[];
    minimum?: number;
    maximum?: number;
    properties?: Record<string, { enum?: string[]; description?: string }>;
    additionalProperties?: { enum?: string[] };
}

export interface ProblemMatcher {
    name: string;
    label: string;
    owner: string;
    source: string;
    fileLocation: string[];
    pattern: { regexp: string; file: number; line: number; column: number; severity: number; message: number; code: number };
}

export interface Manifest {
    name: string;
    main: string;
    icon: string;
    engines: { vscode: string };
    activationEvents: string[];
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    contributes: {
        commands: Array<{ command: string; title: string }>;
        configuration: { properties: Record<string, SettingSchema> };
        problemMatchers: ProblemMatcher[];
        taskDefinitions: Array<{ type: string; required: string[]; properties: Record<string, { type: string; enum?: string[] }> }>;
    };
}

export const manifest = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'),
) as Manifest;

/** Contributed defaults as flat dotted keys, as the fake vscode module stores them. */
export function contributedDefaults(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(manifest.contributes.configuration.properties)) {
        out[key] = schema.default;
    }
    return out;
}
