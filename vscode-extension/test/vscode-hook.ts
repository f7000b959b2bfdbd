/** Makes `require("vscode")` load the fake; import this before any module that imports vscode. */

import Module = require('module');

const fake = require.resolve('./fake-vscode');
const patched = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = patched._resolveFilename;
patched._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === 'vscode' ? fake : original.call(this, request, ...rest);
};
