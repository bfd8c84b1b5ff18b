/** Types of the results of bench/transfer-throughput.ts, and the tables it prints at the end. */
import { GiB, MiB, fmtMiB, fmtSize, median, table } from './bench-util.ts';

export type Who = 'ferry' | 'baseline' | 'baseline+fsync';
export type Op = 'upload' | 'download';
export interface Sample {
  who: Who;
  op: Op;
  round: number;
  seconds: number;
  mibps: number;
  serverCpu: number;
}
export interface PhaseResult {
  size: number;
  samples: Sample[];
  rss: Record<'ferry' | 'baseline', { idle: number; peak: number; pid: number }>;
}

/** Prints the throughput table and the memory table for all phases. */
export function report(results: PhaseResult[], rounds: number, baselineFsync: boolean): void {
  const rows: string[][] = [
    ['size', 'operation', 'Ferry MiB/s', 'baseline MiB/s', 'Ferry/baseline', 'per-round ratios', 'Ferry CPU s/GiB', 'baseline CPU s/GiB'],
  ];
  for (const r of results) {
    const pick = (who: Who, op: Op) => r.samples.filter((s) => s.who === who && s.op === op).sort((a, b) => a.round - b.round);
    const cpuPerGiB = (list: Sample[]) => median(list.map((s) => s.serverCpu)) / (r.size / GiB);
    const ops: [string, Who, Op][] = [
      ['upload (PUT)', 'baseline', 'upload'],
      ...(baselineFsync ? [['upload vs baseline+fsync', 'baseline+fsync', 'upload'] as [string, Who, Op]] : []),
      ['download (GET)', 'baseline', 'download'],
    ];
    for (const [label, baseWho, op] of ops) {
      const f = pick('ferry', op);
      const b = pick(baseWho, op);
      const fm = median(f.map((s) => s.mibps));
      const bm = median(b.map((s) => s.mibps));
      const perRound = f.map((s, i) => (s.mibps / b[i]!.mibps).toFixed(2)).join(' ');
      rows.push([fmtSize(r.size), label, fm.toFixed(1), bm.toFixed(1), `${(fm / bm).toFixed(2)}x`, perRound, cpuPerGiB(f).toFixed(2), cpuPerGiB(b).toFixed(2)]);
    }
  }
  console.log(`\nThroughput (MiB/s = 2^20 bytes per second, median of ${rounds} interleaved rounds; ratio = median Ferry / median baseline)\n`);
  console.log(table(rows));

  const mem: string[][] = [['size', 'Ferry idle RSS', 'Ferry peak RSS', 'baseline idle RSS', 'baseline peak RSS']];
  for (const r of results) {
    mem.push([fmtSize(r.size), fmtMiB(r.rss.ferry.idle), fmtMiB(r.rss.ferry.peak), fmtMiB(r.rss.baseline.idle), fmtMiB(r.rss.baseline.peak)]);
  }
  if (!baselineFsync) {
    console.log(
      '\nNote: Ferry hashes each upload (SHA-256 + CRC-32) and fsyncs it before answering; the baseline does neither.\n' +
        'FERRY_BENCH_BASELINE_FSYNC=1 adds a baseline upload that fsyncs, to separate the two costs.',
    );
  }
  console.log('\nMemory (idle = VmRSS after start-up and sign-in; peak = VmHWM after all rounds; fresh processes per size)\n');
  console.log(table(mem));
  if (results.length === 2) {
    const [small, big] = results as [PhaseResult, PhaseResult];
    const growth = Math.round((big.rss.ferry.peak - small.rss.ferry.peak) / MiB) * MiB;
    const verdict = growth > 64 * MiB ? 'GROWS with file size: look for buffering' : 'flat';
    console.log(`\nFerry peak RSS ${fmtSize(small.size)} -> ${fmtSize(big.size)}: ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(0)} MiB (${verdict})`);
  }
}
