import net, { type AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** The address could not be bound; `message` is the one line an operator needs. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/**
 * The server's port, bound before anything else starts, so a port already in use is reported
 * before the data folder, database or bucket are touched. Connections that arrive while the rest
 * starts are held unread and handed to the HTTP server once it is ready: nothing is served early
 * and nobody who connected early is turned away. Should startup fail, the process exits and the
 * port goes with it.
 */
export interface PortHold {
  /** The bound port (the one the OS chose when FERRY_PORT is 0). */
  readonly port: number;
  /**
   * Frees the port for `server` to listen on it right away, and gives `server` the connections
   * accepted meanwhile. Call when the app is ready, just before it listens.
   */
  handOver(server: Server): void;
}

export async function holdPort(port: number, host: string): Promise<PortHold> {
  const held: net.Socket[] = [];
  const holder = net.createServer({ pauseOnConnect: true }, (socket) => {
    held.push(socket);
    socket.once('close', () => {
      const at = held.indexOf(socket);
      if (at !== -1) held.splice(at, 1);
    });
  });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port, host)));
    holder.listen({ port, host }, resolve);
  });
  const bound = (holder.address() as AddressInfo).port;
  return {
    port: bound,
    handOver(server) {
      holder.close();
      for (const socket of held.splice(0)) {
        // The documented way to give an HTTP server a connection it did not accept itself.
        server.emit('connection', socket);
        socket.resume();
      }
    },
  };
}

/** One line that names the setting to change; other errors pass through unchanged. */
export function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  const where = `port ${port} on ${host} (FERRY_PORT=${port}, FERRY_HOST=${host})`;
  if (error.code === 'EADDRINUSE') return new ListenError(`Ferry cannot start: ${where} is already in use; stop what listens there or set FERRY_PORT to a free port.`);
  if (error.code === 'EACCES') return new ListenError(`Ferry cannot start: no permission to listen on ${where}; use a port above 1023 or grant the permission.`);
  if (error.code === 'EADDRNOTAVAIL') return new ListenError(`Ferry cannot start: ${host} is not an address of this machine (FERRY_HOST=${host}).`);
  return error;
}
