import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindSocket, formatListenerFds, parseListenerFds, workerStdio } from './cluster.js';

describe('cluster listener descriptors', () => {
  it('passes the proxy socket as fd 4 and the HTTPS and h2c sockets after it, only those the primary has', () => {
    expect(workerStdio({ proxy: 21 })).toEqual({ stdio: ['inherit', 'inherit', 'inherit', 'ipc', 21], fds: { proxyFd: 4 } });
    expect(workerStdio({ proxy: 21, tls: 22, h2c: 23 })).toEqual({
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', 21, 22, 23],
      fds: { proxyFd: 4, tlsFd: 5, h2cFd: 6 },
    });
    // Without HTTPS (off, or its port taken in auto mode) the h2c socket moves up.
    expect(workerStdio({ proxy: 21, h2c: 23 }).fds).toEqual({ proxyFd: 4, h2cFd: 5 });
  });

  it('round-trips the descriptor numbers through GATEHOUSE_CLUSTER_FDS', () => {
    for (const sockets of [{ proxy: 9 }, { proxy: 9, tls: 10 }, { proxy: 9, h2c: 11 }, { proxy: 9, tls: 10, h2c: 11 }]) {
      const { fds } = workerStdio(sockets);
      expect(parseListenerFds(formatListenerFds(fds))).toEqual(fds);
    }
    expect(formatListenerFds({ proxyFd: 4, tlsFd: 5, h2cFd: 6 })).toBe('tls=5,h2c=6');
    // Nothing usable (unset, garbage, or a descriptor that is not after the proxy socket's): plain HTTP only.
    expect(parseListenerFds(undefined)).toEqual({ proxyFd: 4 });
    expect(parseListenerFds('tls=x,h2c=2,other=7')).toEqual({ proxyFd: 4 });
  });

  it('binds without listening: connections are refused until a worker listens on the socket', async () => {
    const s = await bindSocket('127.0.0.1', 0, 'HTTPS listener');
    expect(s.port).toBeGreaterThan(0);
    const code = await new Promise<string>((resolve) => {
      const c = connect(s.port, '127.0.0.1', () => {
        c.destroy();
        resolve('connected');
      });
      c.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    expect(code).toBe('ECONNREFUSED');
  });

  it('fails on a port another program listens on, naming the listener', async () => {
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const port = (other.address() as { port: number }).port;
      await expect(bindSocket('127.0.0.1', port, 'HTTPS listener')).rejects.toThrow(`cannot bind the HTTPS listener 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      other.close();
    }
  });
});
