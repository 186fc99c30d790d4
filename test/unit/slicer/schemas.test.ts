import { describe, expect, it } from 'vitest';
import { HostGroupWire, SecretMetaWire, VmWire, stripCidr } from '../../../src/slicer/schemas.js';

describe('Slicer wire variants', () => {
  it('reads current and legacy host groups the same way', () => {
    const current = HostGroupWire.parse({ name: 'g', ram_bytes: 4294967296, cpus: 2, arch: 'x86_64' });
    const legacy = HostGroupWire.parse({ name: 'g', ram_gb: 4, vcpu: 2, arch: 'amd64' });
    expect(current).toEqual(legacy);
    expect(current).toMatchObject({ cpus: 2, ramBytes: 4294967296, arch: 'amd64' });
    expect(HostGroupWire.parse({ name: 'a', ram_bytes: 1, cpus: 1, arch: 'aarch64' }).arch).toBe('arm64');
  });

  it('refuses a host group without CPU or RAM', () => {
    expect(HostGroupWire.safeParse({ name: 'g', cpus: 2 }).success).toBe(false);
    expect(HostGroupWire.safeParse({ name: 'g', ram_bytes: 1 }).success).toBe(false);
  });

  it('strips the CIDR suffix the create answer carries', () => {
    expect(VmWire.parse({ hostname: 'g-1', ip: '192.168.137.2/24' }).ip).toBe('192.168.137.2');
    expect(VmWire.parse({ hostname: 'g-1', ip: '192.168.137.2' }).ip).toBe('192.168.137.2');
    expect(stripCidr('fd00::2/64')).toBe('fd00::2');
    expect(VmWire.parse({ hostname: 'g-1', ip: '10.0.0.2', tags: null }).tags).toEqual([]);
  });

  it('reads mod_time and modified_at alike', () => {
    expect(SecretMetaWire.parse({ name: 's', mod_time: 't1' }).modifiedAt).toBe('t1');
    expect(SecretMetaWire.parse({ name: 's', modified_at: 't2' }).modifiedAt).toBe('t2');
  });
});
