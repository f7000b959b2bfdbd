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

export interface Manifest {
    name: string;
    main: string;
    engines: { vscode: string };
    activationEvents: string[];
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    contributes: {
        commands: Array<{ command: string; title: string }>;
        configuration: { properties: Record<string, SettingSchema> };
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
