/**
 * A real nginx in front of Ferry instances, for the scale-out end-to-end tests. Its site config is
 * deploy/nginx/ferry.conf (the example the README quotes) with only the addresses swapped: the
 * upstream servers become the test instances' loopback ports, `listen` a free loopback port, and
 * the access log a file in nginx's temp prefix. Everything nginx writes (pid, logs, temp bodies)
 * stays in that temp folder; it runs in the foreground as our child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server-process.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const EXAMPLE_CONFIG = path.join(REPO_ROOT, 'deploy/nginx/ferry.conf');

/** The nginx binary (FERRY_TEST_NGINX, the usual sbin folders, then PATH), or null. */
export function nginxBinary(): string | null {
  const candidates = [
    process.env.FERRY_TEST_NGINX,
    '/usr/sbin/nginx',
    '/usr/local/sbin/nginx',
    '/usr/local/nginx/sbin/nginx',
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'nginx')),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** True when nginx can be started here (Linux, for the /proc socket lookups, and a binary). */
export const nginxAvailable = (): boolean => process.platform === 'linux' && nginxBinary() !== null;

export interface NginxOptions {
  /** Loopback ports of the Ferry instances, in upstream order. */
  upstreams: number[];
  /** Directives added to the proxied location, for the tests only (e.g. a debug header). */
  extraLocationDirectives?: string[];
}

/**
 * The site config of deploy/nginx/ferry.conf for this test: comment lines dropped, the upstream's
 * servers, the listen address and the access log path replaced. Throws if the example no longer
 * has the shape this relies on (one `upstream ferry` with servers, one `listen`, one access log).
 */
export function renderSiteConfig(example: string, options: NginxOptions & { listenPort: number; prefix: string }): string {
  let text = example.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
  const replaceOnce = (pattern: RegExp, replacement: (match: string, ...groups: string[]) => string, what: string) => {
    const matches = text.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`));
    if (matches?.length !== 1) throw new Error(`${EXAMPLE_CONFIG}: expected exactly one ${what}, found ${matches?.length ?? 0}`);
    text = text.replace(pattern, replacement);
  };
  replaceOnce(/upstream\s+ferry\s*\{([^}]*)\}/, (_match, body) => {
    if (!/^\s*server\s+/m.test(body!)) throw new Error(`${EXAMPLE_CONFIG}: the upstream names no server`);
    const kept = body!.split('\n').filter((line) => !/^\s*server\s+/.test(line));
    // The example's server parameters (max_fails=0 ...) stay: they are part of what is tested.
    const params = /^\s*server\s+\S+?((?:\s+[^;\s]+)*)\s*;/m.exec(body!)?.[1] ?? '';
    const servers = options.upstreams.map((port) => `    server 127.0.0.1:${port}${params};`);
    return `upstream ferry {\n${[...servers, ...kept].join('\n')}\n}`;
  }, '`upstream ferry { ... }`');
  replaceOnce(/^(\s*)listen\s+[^;]+;/m, (_match, indent) => `${indent}listen 127.0.0.1:${options.listenPort};`, '`listen`');
  replaceOnce(/^(\s*)access_log\s+\S+/m, (_match, indent) => `${indent}access_log ${path.join(options.prefix, 'access.log')}`, '`access_log`');
  if (options.extraLocationDirectives?.length) {
    replaceOnce(/^(\s*)proxy_pass\s+[^;]+;/m, (match, indent) => `${match}\n${options.extraLocationDirectives!.map((d) => `${indent}${d}`).join('\n')}`, '`proxy_pass`');
  }
  return text;
}

/** The main nginx.conf around the site config: one worker, every path inside `prefix`. */
function mainConfig(prefix: string, siteFile: string): string {
  const p = (name: string) => path.join(prefix, name);
  return [
    // As root, workers would drop to `nobody` and could not use the 0700 temp folder.
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} notice;`,
    'events { worker_connections 512; }',
    'http {',
    `  client_body_temp_path ${p('client_body')};`,
    `  proxy_temp_path ${p('proxy')};`,
    `  fastcgi_temp_path ${p('fastcgi')};`,
    `  uwsgi_temp_path ${p('uwsgi')};`,
    `  scgi_temp_path ${p('scgi')};`,
    `  include ${siteFile};`,
    '}',
    '',
  ].join('\n');
}

export interface Nginx {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  port: number;
  prefix: string;
  child: ChildProcess;
  /** nginx's stderr and error log, for failure messages. */
  output(): string;
  /**
   * Remote ports of nginx's ESTABLISHED connections to the upstreams right now, one entry per
   * connection (no upstream keepalive, so each is one request in flight). Read from
   * /proc/net/tcp{,6}, matched to nginx's own sockets by inode.
   */
  upstreamConnections(): number[];
  stop(): Promise<void>;
}

/** Starts nginx in front of `upstreams`; resolves once it answers HTTP (any status). */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed');
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-nginx-'));
  const port = await freePort();
  const siteFile = path.join(prefix, 'ferry.conf');
  await fsp.writeFile(siteFile, renderSiteConfig(await fsp.readFile(EXAMPLE_CONFIG, 'utf8'), { ...options, listenPort: port, prefix }));
  const confFile = path.join(prefix, 'nginx.conf');
  await fsp.writeFile(confFile, mainConfig(prefix, siteFile));

  const errorLog = path.join(prefix, 'error.log');
  const child = spawn(binary, ['-p', `${prefix}/`, '-e', errorLog, '-c', confFile, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => {
    let log = '';
    try {
      log = fs.readFileSync(errorLog, 'utf8');
    } catch {
      // not written yet
    }
    return `${text}${log}`;
  };
  const baseUrl = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const workers = childPids(child.pid!);
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
      if (!done) {
        for (const pid of workers) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        child.kill('SIGKILL');
        await exited;
      }
    }
    await fsp.rm(prefix, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`nginx exited early:\n${output()}`);
    }
    const answered = await fetch(`${baseUrl}/healthz`).then(async (r) => (await r.arrayBuffer(), true), () => false);
    if (answered) break;
    if (Date.now() > deadline) {
      const out = output();
      await stop();
      throw new Error(`nginx did not answer:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    baseUrl,
    port,
    prefix,
    child,
    output,
    upstreamConnections: () => {
      const inodes = new Set<string>();
      for (const pid of [child.pid!, ...childPids(child.pid!)]) for (const inode of socketInodes(pid)) inodes.add(inode);
      return establishedSockets()
        .filter((s) => inodes.has(s.inode) && options.upstreams.includes(s.remotePort))
        .map((s) => s.remotePort);
    },
    stop,
  };
}

/** Pids whose parent is `parent` (nginx's workers), from /proc/<pid>/stat. */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Inodes of the sockets process `pid` holds open. */
function socketInodes(pid: number): string[] {
  const inodes: string[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.push(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

interface TcpSocket {
  localPort: number;
  remotePort: number;
  inode: string;
}

/** ESTABLISHED TCP sockets of this network namespace (IPv4 and IPv6). */
export function establishedSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '01') continue;
      const port = (address: string) => parseInt(address.split(':')[1]!, 16);
      sockets.push({ localPort: port(cols[1]!), remotePort: port(cols[2]!), inode: cols[9]! });
    }
  }
  return sockets;
}
