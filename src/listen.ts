import type { Server } from 'node:http';

/** The HTTP listener could not be opened: a port in use, a privileged port, an address the machine lacks. */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    readonly host: string,
    readonly port: number,
  ) {
    super(ListenError.describe(code, host, port));
    this.name = 'ListenError';
  }

  private static describe(code: string, host: string, port: number): string {
    const other = `pick another with --port <n> or PORT=<n> (0 takes any free port)`;
    switch (code) {
      case 'EADDRINUSE':
        return `port ${port} on ${host} is already in use (by another program, or a Roster already running); stop it or ${other}`;
      case 'EACCES':
        return `no permission to listen on port ${port} of ${host} (ports below 1024 need privileges); ${other}`;
      case 'EADDRNOTAVAIL':
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `cannot listen on ${host}: this machine has no such address; set HOST (or --host) to one of its addresses, e.g. 127.0.0.1 or 0.0.0.0`;
      default:
        return `cannot listen on ${host}:${port} (${code})`;
    }
  }
}

/** Listens on `port` of `host`, or fails with a {@link ListenError}. */
export async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new ListenError(error.code ?? 'UNKNOWN', host, port));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
