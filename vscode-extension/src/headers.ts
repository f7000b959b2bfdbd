/** Which documents concern kernel-lsp, and which `.h` files VS Code opened as C++ become C; pure (file checks injected). */

import * as path from 'path';

/** `kernelLsp.headerLanguage`. */
export type HeaderLanguage = 'c' | 'unchanged';
export const HEADER_LANGUAGES: readonly HeaderLanguage[] = ['c', 'unchanged'];
export const DEFAULT_HEADER_LANGUAGE: HeaderLanguage = 'c';

/** A text document as far as this module needs (vscode.TextDocument fits). */
export interface DocumentLike {
    languageId: string;
    uri: { scheme: string; fsPath: string };
}

export interface TreeHost {
    /** True when `file` exists (file or directory). */
    exists(file: string): boolean;
    isDirectory(file: string): boolean;
}

/**
 * The top of the kernel tree holding `file`: the nearest ancestor with a `kernel-lsp.toml`, or
 * with a `Kconfig` or `Kbuild` beside an `include/linux/` directory (every directory of a kernel
 * tree has a Kconfig; only the top has include/linux). The server applies the same rule.
 */
export function kernelRoot(file: string, host: TreeHost): string | undefined {
    let dir = path.dirname(file);
    for (;;) {
        const kconfig = host.exists(path.join(dir, 'Kconfig')) || host.exists(path.join(dir, 'Kbuild'));
        if (host.exists(path.join(dir, 'kernel-lsp.toml')) || (kconfig && host.isDirectory(path.join(dir, 'include', 'linux')))) {
            return dir;
        }
        const parent = path.dirname(dir);
        if (parent === dir) {
            return undefined;
        }
        dir = parent;
    }
}

/** The setting's value, or the default and a message for a bad one. */
export function readHeaderLanguage(value: unknown): { value: HeaderLanguage; problem?: string } {
    if (value === undefined || value === null) {
        return { value: DEFAULT_HEADER_LANGUAGE };
    }
    if (typeof value === 'string' && (HEADER_LANGUAGES as readonly string[]).includes(value)) {
        return { value: value as HeaderLanguage };
    }
    return {
        value: DEFAULT_HEADER_LANGUAGE,
        problem: `kernelLsp.headerLanguage must be one of ${HEADER_LANGUAGES.map((v) => `"${v}"`).join(', ')}, not ${JSON.stringify(value)}; using "${DEFAULT_HEADER_LANGUAGE}"`,
    };
}

export function isHeaderFile(document: DocumentLike): boolean {
    return document.uri.scheme === 'file' && document.uri.fsPath.toLowerCase().endsWith('.h');
}

/** A `.h` file on disk that VS Code opened as C++ inside a kernel tree, with `headerLanguage` "c": it becomes C. */
export function shouldSwitchToC(document: DocumentLike, setting: HeaderLanguage, host: TreeHost): boolean {
    return (
        setting === 'c' && document.languageId === 'cpp' && isHeaderFile(document) && kernelRoot(document.uri.fsPath, host) !== undefined
    );
}

/** A document that makes the extension start the server: C (file or untitled), or a header inside a kernel tree. */
export function startsServer(document: DocumentLike, host: TreeHost): boolean {
    if (document.languageId === 'c' && (document.uri.scheme === 'file' || document.uri.scheme === 'untitled')) {
        return true;
    }
    return isHeaderFile(document) && kernelRoot(document.uri.fsPath, host) !== undefined;
}
