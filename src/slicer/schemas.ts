import { z } from 'zod';
import { normaliseArch } from '../config/keys.js';

// Slicer's wire shapes (snake_case) and their normalised domain types (camelCase). The parsers accept every
// documented variant: legacy `ram_gb`/`vcpu` host groups, IPs with or without a CIDR suffix, `x86_64` or `amd64`,
// and `mod_time` or `modified_at` on secrets. Unknown fields are ignored so newer servers keep working.

const GIB = 1024 ** 3;

export interface HostGroup {
  name: string;
  cpus: number;
  ramBytes: number;
  /** amd64 or arm64 when recognisable; Slicer's own string otherwise. */
  arch: string;
  gpuCount: number;
  count?: number;
}

export const HostGroupWire = z
  .object({
    name: z.string().min(1),
    count: z.number().int().optional(),
    ram_bytes: z.number().positive().optional(),
    ram_gb: z.number().positive().optional(),
    cpus: z.number().int().positive().optional(),
    vcpu: z.number().int().positive().optional(),
    arch: z.string().optional(),
    gpu_count: z.number().int().nonnegative().optional(),
  })
  .refine((h) => h.ram_bytes !== undefined || h.ram_gb !== undefined, 'host group has neither ram_bytes nor ram_gb')
  .refine((h) => h.cpus !== undefined || h.vcpu !== undefined, 'host group has neither cpus nor vcpu')
  .transform((h): HostGroup => ({
    name: h.name,
    cpus: (h.cpus ?? h.vcpu)!,
    ramBytes: h.ram_bytes ?? Math.round(h.ram_gb! * GIB),
    arch: normaliseArch(h.arch ?? 'x86_64'),
    gpuCount: h.gpu_count ?? 0,
    count: h.count,
  }));

/** A bare IPv4/IPv6 address: Slicer's create answer says `192.168.137.2/24`, its lists say `192.168.137.2`. */
export function stripCidr(ip: string): string {
  return ip.replace(/\/\d+$/, '');
}

export interface Vm {
  hostname: string;
  hostgroup?: string;
  ip: string;
  createdAt?: string;
  arch?: string;
  tags: string[];
  status?: string;
  persistent?: boolean;
  ramBytes?: number;
  cpus?: number;
}

export const VmWire = z
  .object({
    hostname: z.string().min(1),
    hostgroup: z.string().optional(),
    ip: z.string().default(''),
    created_at: z.string().optional(),
    arch: z.string().optional(),
    tags: z.array(z.string()).nullish(),
    status: z.string().optional(),
    persistent: z.boolean().optional(),
    ram_bytes: z.number().optional(),
    cpus: z.number().optional(),
  })
  .transform((v): Vm => ({
    hostname: v.hostname,
    hostgroup: v.hostgroup,
    ip: stripCidr(v.ip),
    createdAt: v.created_at,
    arch: v.arch ? normaliseArch(v.arch) : undefined,
    tags: v.tags ?? [],
    status: v.status,
    persistent: v.persistent,
    ramBytes: v.ram_bytes,
    cpus: v.cpus,
  }));

export const VmListWire = z
  .array(VmWire)
  .nullable()
  .transform((l) => l ?? []);
export const HostGroupListWire = z
  .array(HostGroupWire)
  .nullable()
  .transform((l) => l ?? []);

export interface CreateVmRequest {
  userdata?: string;
  secrets?: string[];
  tags?: string[];
  cpus?: number;
  ramBytes?: number;
  persistent?: boolean;
}

export function createVmBody(req: CreateVmRequest): Record<string, unknown> {
  return {
    ...(req.userdata !== undefined && { userdata: req.userdata }),
    ...(req.secrets && { secrets: req.secrets }),
    ...(req.tags && { tags: req.tags }),
    ...(req.cpus !== undefined && { cpus: req.cpus }),
    ...(req.ramBytes !== undefined && { ram_bytes: req.ramBytes }),
    ...(req.persistent !== undefined && { persistent: req.persistent }),
  };
}

export interface SecretMeta {
  name: string;
  size?: number;
  permissions?: string;
  modifiedAt?: string;
}

export const SecretMetaWire = z
  .object({
    name: z.string().min(1),
    size: z.number().optional(),
    permissions: z.string().optional(),
    uid: z.number().optional(),
    gid: z.number().optional(),
    mod_time: z.string().optional(),
    modified_at: z.string().optional(),
  })
  .transform((s): SecretMeta => ({
    name: s.name,
    size: s.size,
    permissions: s.permissions,
    modifiedAt: s.modified_at ?? s.mod_time,
  }));
export const SecretListWire = z
  .array(SecretMetaWire)
  .nullable()
  .transform((l) => l ?? []);

export interface VmHealth {
  hostname: string;
  userdataRan: boolean;
  userdataExitCode?: number;
  agentVersion?: string;
}

export const VmHealthWire = z
  .object({
    hostname: z.string(),
    userdata_ran: z.boolean().default(false),
    userdata_exit_code: z.number().int().optional(),
    agent_version: z.string().optional(),
  })
  .transform((h): VmHealth => ({
    hostname: h.hostname,
    userdataRan: h.userdata_ran,
    userdataExitCode: h.userdata_exit_code,
    agentVersion: h.agent_version,
  }));

export const VmLogsWire = z.object({
  hostname: z.string().optional(),
  lines: z.number().optional(),
  content: z.string(),
});

export const DeleteVmWire = z.object({
  message: z.string().optional(),
  disk_removed: z.union([z.string(), z.boolean()]).optional(),
  error: z.string().optional(),
});

export const ErrorWire = z.object({ error: z.string(), code: z.string().optional() });
