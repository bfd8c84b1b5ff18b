/** Results of bench/upload-protocols.ts and the table and verdicts it prints at the end. */
import { GiB, MiB, fmtSize, median, table } from './bench-util.ts';
import type { Protocol } from './upload-clients.ts';

export interface Measure {
  mibps: number;
  seconds: number;
  /** CPU seconds the server used during the upload. */
  serverCpu: number;
  /** VmHWM after the upload; the upload's own peak when rssReset. */
  peakRss: number;
  rssReset: boolean;
  /** Seconds spent joining parts into the file, within `seconds` (part protocols). */
  joinSeconds?: number;
}
export interface RoundResult {
  round: number;
  ferry: Measure;
  /** The paired bare single-stream upload, just before. */
  base: Measure;
  /** The paired bare N-stream upload (parallel protocols only). */
  basePar?: Measure;
}
export interface Outcome {
  protocol: Protocol;
  unavailable?: string;
  error?: string;
  rounds: RoundResult[];
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const ratio = (x: number) => `${x.toFixed(2)}x`;
const max = (values: number[]) => Math.max(...values);

export interface RunInfo {
  size: number;
  rounds: number;
  parallel: number;
  /** VmRSS of each server after start-up and sign-in. */
  idle: { ferry: number; bare: number };
}

/** Median join time and its median share of the upload time, or '' when the protocol has no join. */
function joinShare(list: Measure[]): string {
  const joined = list.filter((m) => m.joinSeconds !== undefined);
  if (!joined.length) return '';
  const secs = median(joined.map((m) => m.joinSeconds!));
  return `${secs.toFixed(1)} s (${(100 * median(joined.map((m) => m.joinSeconds! / m.seconds))).toFixed(0)}%)`;
}

function verdict(o: Outcome, run: RunInfo): string {
  const { size, parallel } = run;
  const id = o.protocol.id.padEnd(13);
  if (o.unavailable) return `${id} unavailable: ${o.unavailable}`;
  if (!o.rounds.length) return `${id} FAILED: ${o.error}`;
  const r = median(o.rounds.map((x) => x.ferry.mibps)) / median(o.rounds.map((x) => x.base.mibps));
  const ratios = o.rounds.map((x) => x.ferry.mibps / x.base.mibps);
  const speed =
    r >= 0.9 ? 'on par with the bare single stream' : r >= 0.7 ? 'somewhat below the bare single stream' : r >= 0.45 ? 'well below the bare single stream' : 'far below the bare single stream';
  const parts = [`${ratio(r)} of bare, ${speed}`];
  const withPar = o.rounds.filter((x) => x.basePar);
  if (withPar.length) {
    const rp = median(withPar.map((x) => x.ferry.mibps)) / median(withPar.map((x) => x.basePar!.mibps));
    parts.push(`${ratio(rp)} of bare ${parallel} streams`);
  }
  const spread = max(ratios) - Math.min(...ratios);
  if (o.rounds.length > 1 && spread > 0.25 * r) parts.push(`noisy (per-round ${Math.min(...ratios).toFixed(2)}-${max(ratios).toFixed(2)})`);
  const join = joinShare(o.rounds.map((x) => x.ferry));
  if (join) parts.push(`joining the parts takes ${join}`);
  parts.push(`${(median(o.rounds.map((x) => x.ferry.serverCpu)) / (size / GiB)).toFixed(2)} server CPU s/GiB`);
  const peak = max(o.rounds.map((x) => x.ferry.peakRss));
  const growth = peak - run.idle.ferry;
  const high = growth > Math.max(96 * MiB, size / 4);
  parts.push(`peak RSS ${mib(peak)}, ${growth >= 0 ? '+' : ''}${mib(growth)} over idle${high ? ': HIGH, look for buffering' : ''}`);
  if (o.error) parts.push(`then FAILED in a later round: ${o.error}`);
  return `${id} ${parts.join('; ')}`;
}

export function report(outcomes: Outcome[], run: RunInfo): void {
  const rows: string[][] = [[
    'protocol', 'streams', 'Ferry MiB/s', 'bare 1x MiB/s', 'Ferry/bare', 'per-round', `bare ${run.parallel}x MiB/s`, `Ferry/bare ${run.parallel}x`,
    'join s (share)', 'Ferry CPU s/GiB', 'bare CPU s/GiB', 'Ferry peak RSS', 'bare peak RSS',
  ]];
  const perGiB = (list: Measure[]) => (median(list.map((m) => m.serverCpu)) / (run.size / GiB)).toFixed(2);
  for (const o of outcomes) {
    const p = o.protocol;
    const streams = String(p.streams({ file: '', size: run.size, tag: '', parallel: run.parallel, chunkSize: 1 }));
    if (!o.rounds.length) {
      rows.push([p.id, streams, o.unavailable ? 'unavailable' : 'failed', ...Array(10).fill('-')]);
      continue;
    }
    const f = o.rounds.map((x) => x.ferry);
    const b = o.rounds.map((x) => x.base);
    const bp = o.rounds.filter((x) => x.basePar).map((x) => x.basePar!);
    const fm = median(f.map((m) => m.mibps));
    const bm = median(b.map((m) => m.mibps));
    const bpm = bp.length ? median(bp.map((m) => m.mibps)) : NaN;
    rows.push([
      p.id, streams, fm.toFixed(1), bm.toFixed(1), ratio(fm / bm),
      o.rounds.map((x) => (x.ferry.mibps / x.base.mibps).toFixed(2)).join(' '),
      bp.length ? bpm.toFixed(1) : '-', bp.length ? ratio(fm / bpm) : '-',
      joinShare(f) || '-', perGiB(f), perGiB(b), mib(max(f.map((m) => m.peakRss))), mib(max([...b, ...bp].map((m) => m.peakRss))),
    ]);
  }
  const resetOk = outcomes.every((o) => o.rounds.every((x) => x.ferry.rssReset && x.base.rssReset));
  console.log(
    `\nUpload throughput, ${fmtSize(run.size)} (MiB/s = 2^20 bytes per second, median of ${run.rounds} interleaved rounds; ` +
      `ratio = median Ferry / median of the bare uploads paired with it; per-round = each pair's ratio)\n`,
  );
  console.log(table(rows));
  console.log(
    `\nbare 1x: the bare server's single-stream PUT of the whole file (the baseline). bare ${run.parallel}x: ${run.parallel} quarters PUT in parallel\n` +
      'to separate files: the bare server takes no offsets, so nothing is joined; it shows what the disk and loopback give to\n' +
      `${run.parallel} streams. Ferry hashes every upload (SHA-256 + CRC-32) and fsyncs it; part protocols also join the parts; the\n` +
      'bare server does none of that. join: the request that joins the parts (tus final POST, upload-complete, the last chunk),\n' +
      'within the upload time, and its share of it. Peak RSS: ' +
      (resetOk ? "each upload's own peak (VmHWM reset before it), largest over the rounds" : 'VmHWM could not be reset: peaks since start-up') +
      `; idle RSS (after start-up and sign-in): Ferry ${mib(run.idle.ferry)}, bare ${mib(run.idle.bare)}.`,
  );
  console.log('\nVerdicts');
  for (const o of outcomes) console.log(`  ${verdict(o, run)}`);
}
