import { describe, expect, it } from 'vitest';
import { buildUserdata, parseJoinFlags } from '../../../src/slicer/userdata.js';

describe('k3s join userdata', () => {
  const script = buildUserdata({
    group: 'k3s-agents-1',
    k3sUrl: 'https://192.168.137.2:6443',
    labels: { tier: 'batch' },
    taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
  });

  it('starts with the shebang and reads the token from the Slicer secret, never inline', () => {
    expect(script.split('\n')[0]).toBe('#!/usr/bin/env bash');
    expect(script).toContain('/run/slicer/secrets/k3s-token');
    expect(script).toContain("export K3S_URL='https://192.168.137.2:6443'");
    expect(script).toContain('--with-node-id');
  });

  it('carries the labels the incumbent sets, plus ours, and taints, as the k3s agent reads them', () => {
    expect(parseJoinFlags(script, 'k3s-agents-1-3')).toEqual({
      labels: {
        tier: 'batch',
        'slicer/hostgroup': 'k3s-agents-1',
        'k3sup.dev/node-type': 'agent',
        'slicer/hostname': 'k3s-agents-1-3',
      },
      taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
    });
  });

  it.each([
    [{ labels: { 'a;rm -rf /': 'x' } }, /not a valid Kubernetes label/],
    [{ labels: { ok: '$(reboot)' } }, /not a valid Kubernetes label/],
    [{ taints: [{ key: 'x`id`', value: '', effect: 'NoSchedule' as const }] }, /taint/],
    [{ k3sUrl: "https://a:6443/'; reboot; '" }, /characters a URL/],
  ])('refuses what could become shell: %j', (override, message) => {
    expect(() => buildUserdata({ group: 'g', k3sUrl: 'https://a:6443', labels: {}, taints: [], ...override })).toThrow(
      message,
    );
  });
});
