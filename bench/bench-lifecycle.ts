import fs from 'node:fs';
import { stopServer, type Server } from './bench-util.ts';

/**
 * What a bench run must clean up whatever happens (an error, Ctrl-C, exit): the servers it
 * started and its work folder of multi-GiB files. Creating it installs the exit and signal hooks.
 */
export class BenchLifecycle {
  workDir: string | undefined;
  aborting = false;
  readonly live = new Set<Server>();

  constructor() {
    process.on('exit', () => {
      // Last resort when something skipped the async cleanup: never leave servers or big files behind.
      for (const s of this.live) s.child.kill('SIGKILL');
      if (this.workDir) fs.rmSync(this.workDir, { recursive: true, force: true });
    });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        this.aborting = true;
        process.stderr.write(`\n${signal}: stopping servers and removing temp files...\n`);
        void this.cleanup().finally(() => process.exit(130));
      });
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.live].map((s) => stopServer(s).finally(() => this.live.delete(s))));
    if (this.workDir) fs.rmSync(this.workDir, { recursive: true, force: true });
    this.workDir = undefined;
  }
}
