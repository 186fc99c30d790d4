import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { V1Pod } from '@kubernetes/client-node';
import { slimPod } from '../src/kube/slim.js';
import { toPodInfo } from '../src/kube/snapshot.js';

// How much of the worker's heap one cached pod takes: 30,000 Deployment pods shaped as the apiserver sends them
// (bench/fixtures/deployment-pod.json: admission defaults, the token volume, statuses, managedFields), each parsed
// from its own JSON as a watch event is, kept as sent and as the cache keeps them (slimPod), and converted for the
// planner (toPodInfo, done for every pod on every plan). Heap used after a full GC, divided by the count.

const COUNT = 30_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** One pod's JSON with its own name, uid, node and times, as 30,000 distinct pods would have. */
function podJson(template: V1Pod, i: number): string {
  const hex = i.toString(16).padStart(8, '0');
  const pod: V1Pod = JSON.parse(JSON.stringify(template));
  pod.metadata!.name = `web-6d9f7c8b5-${hex}`;
  pod.metadata!.uid = `${hex}-6aac-4c41-8d94-a106909b3577`;
  pod.metadata!.resourceVersion = String(1000 + i);
  pod.spec!.nodeName = `k3s-agents-1-${i % 1000}-1c0cdb0f`;
  return JSON.stringify(pod).replace(
    /2026-11-25T17:05:4(\d)Z/g,
    `2026-11-25T${String(i % 24).padStart(2, '0')}:05:4$1Z`,
  );
}

function perPod(keep: (json: string) => unknown, jsons: string[]): { bytes: number; kept: unknown[] } {
  const before = heapAfterGc();
  const kept = jsons.map(keep);
  return { bytes: Math.round((heapAfterGc() - before) / jsons.length), kept };
}

export function printCacheBench(): void {
  const template = JSON.parse(
    readFileSync(new URL('./fixtures/deployment-pod.json', import.meta.url), 'utf8'),
  ) as V1Pod;
  const jsons = Array.from({ length: COUNT }, (_, i) => podJson(template, i));
  const full = perPod((j) => JSON.parse(j), jsons);
  const fullBytes = full.bytes;
  full.kept.length = 0;
  const slim = perPod((j) => slimPod(JSON.parse(j) as V1Pod), jsons);
  const before = heapAfterGc();
  const converted = (slim.kept as V1Pod[]).map(toPodInfo);
  const infoBytes = Math.round((heapAfterGc() - before) / COUNT);
  const mib = (b: number) => ((b * COUNT) / 1024 ** 2).toFixed(0);
  console.log(`${COUNT.toLocaleString()} Deployment pods (${jsons[0]!.length} bytes of JSON each), heap after GC:`);
  console.log(`| kept | bytes per pod | MiB for ${COUNT.toLocaleString()} |`);
  console.log('| --- | --- | --- |');
  console.log(`| as the apiserver sends it | ${fullBytes} | ${mib(fullBytes)} |`);
  console.log(`| slimPod (the cache) | ${slim.bytes} | ${mib(slim.bytes)} |`);
  console.log(`| toPodInfo (each plan, on top) | ${infoBytes} | ${mib(infoBytes)} |`);
  if (converted.length !== COUNT || slim.kept.length !== COUNT) throw new Error('lost pods');
}
