import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, spawnFerry } from '../support/server-process.ts';

/** Ferry's own process started as an operator starts it, on a data folder that does not exist yet. */
describe('starting Ferry', () => {
  let root: string;
  let dataDir: string;
  let stopChild: (() => Promise<unknown>) | undefined;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-start-'));
    dataDir = path.join(root, 'data');
  });
  afterEach(async () => {
    await stopChild?.();
    stopChild = undefined;
    await fs.rm(root, { recursive: true, force: true });
  });

  function start(env: Record<string, string>) {
    const ferry = spawnFerry({ FERRY_DATA_DIR: dataDir, ...env });
    stopChild = async () => {
      if (ferry.child.exitCode === null && ferry.child.signalCode === null) ferry.child.kill('SIGKILL');
      await ferry.exited;
    };
    return ferry;
  }

  it('on a port already in use prints one line naming FERRY_PORT, exits non-zero and creates nothing', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const ferry = start({ FERRY_PORT: String(port) });
      const { code } = await ferry.exited;
      expect(code).not.toBe(0);
      const lines = ferry.output().trim().split('\n');
      expect(lines, ferry.output()).toHaveLength(1);
      expect(lines[0]).toContain(`FERRY_PORT=${port}`);
      expect(lines[0]).toMatch(/already in use/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('answers a client that connected while it was still starting, once it is ready', async () => {
    const port = await freePort();
    const ferry = start({ FERRY_PORT: String(port) });
    // Connect as soon as the port accepts: that is before the database is open.
    let socket: net.Socket | undefined;
    for (const deadline = Date.now() + 30_000; !socket; ) {
      if (ferry.child.exitCode !== null) throw new Error(`exited early:\n${ferry.output()}`);
      socket = await new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!socket) {
        if (Date.now() > deadline) throw new Error(`never listened:\n${ferry.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('with S3 storage prints no AWS SDK warning about the Node version', async () => {
    const closedPort = await freePort();
    const ferry = start({
      FERRY_PORT: String(await freePort()),
      FERRY_STORAGE: 's3',
      FERRY_S3_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      FERRY_S3_BUCKET: 'ferry-startup-test',
      FERRY_S3_ACCESS_KEY_ID: 'test',
      FERRY_S3_SECRET_ACCESS_KEY: 'test-secret',
    });
    // Nothing answers at that endpoint, so start-up fails once the S3 client has been built and used.
    await ferry.exited;
    expect(ferry.output()).toMatch(/Ferry failed to start/);
    expect(ferry.output()).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
  });
});
