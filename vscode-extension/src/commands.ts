/** Extension commands and the server requests they send; pure (the client is injected). */

export const COMMANDS = {
    reindex: 'kernelLsp.reindex',
    restart: 'kernelLsp.restart',
    showOutput: 'kernelLsp.showOutput',
} as const;

/** The server-side command (`workspace/executeCommand`) that rebuilds the model of the workspace. */
export const SERVER_REINDEX = 'kernel-lsp.reindex';

/** The part of a language client that sends requests. */
export interface RequestSender {
    sendRequest(method: string, params: unknown): Promise<unknown>;
}

/** Ask the server to reindex the workspace; resolves with the server's answer. */
export function sendReindex(client: RequestSender): Promise<unknown> {
    return client.sendRequest('workspace/executeCommand', { command: SERVER_REINDEX });
}
