import { describe, expect, it } from 'vitest';
import { FlagError, parseFlags } from '../../../src/config/flags.js';
import { parseConfig } from '../../../src/config/load.js';
import { renderConfig } from '../../../src/config/render.js';

function refusal(argv: string[]): string {
  try {
    parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) return err.message;
    throw err;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

// What the cluster-autoscaler chart runs for the Slicer guide's values-slicer.yaml: the chart's own three flags,
// then extraArgs rendered as --key=value.
const GUIDE_ARGS = [
  '--cloud-provider=slicer',
  '--namespace=kube-system',
  '--cloud-config=/etc/slicer/cloud-config',
  '--expander=random',
  '--expendable-pods-priority-cutoff=-10',
  '--logtostderr=true',
  '--scale-down-delay-after-add=30s',
  '--scale-down-enabled=true',
  '--scale-down-unneeded-time=30s',
  '--stderrthreshold=info',
  '--v=4',
];

describe('the incumbent install: every flag the Slicer guide and the chart pass', () => {
  it('is accepted without a warning and means what it meant', () => {
    const { options, warnings, positionals } = parseFlags(GUIDE_ARGS);
    expect(warnings).toEqual([]);
    expect(positionals).toEqual([]);
    expect(options).toMatchObject({
      cloudConfig: '/etc/slicer/cloud-config',
      namespace: 'kube-system',
      expander: 'random',
      expendablePodsPriorityCutoff: -10,
      scaleDownDelayAfterAddMs: 30_000,
      scaleDownEnabled: true,
      scaleDownUnneededTimeMs: 30_000,
      verbosity: 4,
    });
  });

  it('accepts --flag value as well as --flag=value, and klog names with underscores', () => {
    const { options } = parseFlags(['--cloud-config', '/c', '--v', '2', '--namespace', 'autoscaling', '--log_dir=/x']);
    expect(options).toMatchObject({ cloudConfig: '/c', verbosity: 2, namespace: 'autoscaling' });
    expect(parseFlags(['-v', '3']).options.verbosity).toBe(3);
    expect(parseFlags(['-v=5']).options.verbosity).toBe(5);
  });

  it('reads boolean flags written bare, with =value, or with the value as the next argument', () => {
    expect(parseFlags(['--balance-similar-node-groups']).options.balanceSimilarNodeGroups).toBe(true);
    expect(parseFlags(['--balance-similar-node-groups=false']).options.balanceSimilarNodeGroups).toBe(false);
    const spaced = parseFlags(['--balance-similar-node-groups', 'false', 'file.ini']);
    expect(spaced.options.balanceSimilarNodeGroups).toBe(false);
    expect(spaced.positionals).toEqual(['file.ini']);
    const bare = parseFlags(['--scale-down-enabled', '--balance-similar-node-groups', 'file.ini']);
    expect(bare.options).toMatchObject({ scaleDownEnabled: true, balanceSimilarNodeGroups: true });
    expect(bare.positionals).toEqual(['file.ini']);
    // Go's strconv.ParseBool spellings, as cluster-autoscaler takes them.
    expect(parseFlags(['--scale-down-enabled=F']).options.scaleDownEnabled).toBe(false);
    expect(parseFlags(['--scale-down-enabled=1']).options.scaleDownEnabled).toBe(true);
  });

  it('refuses another cloud provider, saying why', () => {
    expect(refusal(['--cloud-provider=aws'])).toBe(
      '--cloud-provider=aws: slicer-autoscaler only drives Slicer; set --cloud-provider=slicer or leave it out',
    );
  });

  it('takes --status-namespace over --namespace for the status ConfigMap', () => {
    expect(parseFlags([]).options.statusNamespace).toBe('kube-system');
    expect(parseFlags(['--namespace=ops']).options.statusNamespace).toBe('ops');
    expect(parseFlags(['--namespace=ops', '--status-namespace=status']).options.statusNamespace).toBe('status');
  });
});

describe('cluster-autoscaler flags we do not implement', () => {
  it('are accepted with one warning each, naming the flag', () => {
    const { warnings } = parseFlags([
      '--max-graceful-termination-sec=600',
      '--leader-elect',
      '--max-graceful-termination-sec=300',
      '--skip-nodes-with-local-storage=false',
    ]);
    expect(warnings).toEqual([
      '--max-graceful-termination-sec=300 is accepted but not implemented: each pod gets its own terminationGracePeriodSeconds through the Eviction API; drain-timeout bounds the whole drain',
      '--leader-elect=true is accepted but not implemented: one evaluator per cluster is guaranteed by its workflow ID autoscaler/<cluster-name>, so replicas need no leader',
      '--skip-nodes-with-local-storage=false is accepted but not implemented: nodes running pods with local storage are always kept (as with true), unless a pod is annotated safe-to-evict',
    ]);
  });

  it('are silent when the value is what we do anyway', () => {
    expect(
      parseFlags([
        '--skip-nodes-with-local-storage',
        '--skip-nodes-with-system-pods=true',
        '--ignore-daemonsets-utilization=true',
        '--ok-total-unready-count=3',
        '--estimator=binpacking',
      ]).warnings,
    ).toEqual([]);
  });

  it.each([
    [
      '--ignore-daemonsets-utilization=false',
      'utilization always leaves DaemonSet pods out (as with true), so nodes look emptier than you asked and would be removed sooner; remove the flag or set it to true',
    ],
    [
      '--ignore-mirror-pods-utilization=false',
      'utilization always leaves mirror pods out (as with true), so nodes look emptier than you asked and would be removed sooner; remove the flag or set it to true',
    ],
    [
      '--skip-nodes-with-custom-controller-pods=true',
      'a pod owned by any controller counts as replicated (as with false), so nodes running pods of custom controllers would be drained; remove the flag or set it to false, and annotate pods that must stay cluster-autoscaler.kubernetes.io/safe-to-evict: "false"',
    ],
    [
      '--min-replica-count=2',
      'pods of small ReplicaSets are not protected (as with 0), so they would be evicted; remove the flag, or protect them with a PodDisruptionBudget',
    ],
    [
      '--ok-total-unready-count=1',
      'scale-down stops only when more than 3 nodes (and 45%) are unready, so nodes would be removed where you asked to stop; remove the flag or give 3 or more',
    ],
    [
      '--max-total-unready-percentage=10',
      'scale-down stops only when more than 45% of nodes (and 3) are unready, so nodes would be removed where you asked to stop; remove the flag or give 45 or more',
    ],
    [
      '--scale-down-unready-enabled=false',
      'unready nodes are removed after --scale-down-unready-time; to keep them longer raise --scale-down-unready-time instead',
    ],
    [
      '--cores-total=0:64',
      'cluster-wide CPU and memory limits are not enforced, so nodes would be added above the maximum or removed below the minimum; use max-size and min-size per group and --max-nodes-total',
    ],
    [
      '--memory-total=0:256',
      'cluster-wide CPU and memory limits are not enforced, so nodes would be added above the maximum or removed below the minimum; use max-size and min-size per group and --max-nodes-total',
    ],
    [
      '--gpu-total=nvidia:0:4',
      'cluster-wide CPU and memory limits are not enforced, so nodes would be added above the maximum or removed below the minimum; use max-size and min-size per group and --max-nodes-total',
    ],
    [
      '--nodes=1:10:k3s-agents-1',
      'node groups and their min and max come from the cloud-config only, so these limits would not hold; set min-size and max-size in [nodegroup "NAME"]',
    ],
    [
      '--kubernetes=https://10.0.0.1:6443',
      'the cluster is the one in --kubeconfig (or in-cluster), so nodes of another cluster could be acted on; put the API server in a kubeconfig',
    ],
  ])('refuse %s when ignoring it would evict, delete or exceed more than asked', (arg, why) => {
    expect(refusal([arg])).toBe(`${arg} is refused: ${why}`);
  });

  it('applies --max-drain-parallelism as a bound on every scale-down (we have one limit)', () => {
    expect(parseFlags(['--max-drain-parallelism=1']).options.maxScaleDownParallelism).toBe(1);
    expect(parseFlags(['--max-drain-parallelism=20']).options.maxScaleDownParallelism).toBe(10);
    expect(
      parseFlags(['--max-scale-down-parallelism=3', '--max-drain-parallelism=5']).options.maxScaleDownParallelism,
    ).toBe(3);
  });

  it('still refuses a flag cluster-autoscaler does not have, suggesting the nearest', () => {
    expect(refusal(['--scale-down-unneded-time=1m'])).toBe(
      'unknown flag --scale-down-unneded-time; did you mean --scale-down-unneeded-time?',
    );
  });
});

describe('flag values are checked', () => {
  it.each([
    [['--health-port', 'abc'], '--health-port: expected a port number from 0 to 65535'],
    [['--health-port=70000'], '--health-port: expected a port number from 0 to 65535'],
    [['--scale-down-utilization-threshold='], '--scale-down-utilization-threshold is empty; give it a value'],
    [['--scale-down-utilization-threshold=lots'], '--scale-down-utilization-threshold: expected a number from 0 to 1'],
    [['--scale-down-utilization-threshold=1.5'], '--scale-down-utilization-threshold: expected a number from 0 to 1'],
    [['--expander='], '--expander is empty; give it a value'],
    [['--v=loud'], '--v: expected a whole number 0 or more'],
    [['--stderrthreshold=chatty'], '--stderrthreshold: expected INFO, WARNING, ERROR or FATAL'],
    [['--scale-down-enabled=maybe'], '--scale-down-enabled: expected true or false'],
    [['--namespace=Kube System'], '--namespace: expected a Kubernetes namespace name, like kube-system'],
    [['--cloud-config'], '--cloud-config needs a value, like --cloud-config=VALUE'],
  ])('refuses %j', (argv, message) => {
    expect(refusal(argv)).toBe(message);
  });
});

describe('flags over the cloud-config', () => {
  const TEXT = `[global]
k3s-url = https://10.0.0.1:6443
k3s-token = t
expander = most-pods
scale-down-unneeded-time = 20m
[nodegroup "a"]
slicer-url = http://10.0.1.1:8081
slicer-token = s
scale-down-unneeded-time = 5m
[nodegroup "b"]
slicer-url = http://10.0.1.2:8081
slicer-token = s
`;

  it('a flag beats [global]; a [nodegroup] setting beats both', () => {
    const { options } = parseFlags([
      '--scale-down-unneeded-time=30s',
      '--max-node-provision-time=2m',
      '--scale-down-utilization-threshold=0.3',
      '--expander=random',
      '--scale-down-enabled=false',
    ]);
    const c = parseConfig(TEXT, 'cc.ini', options);
    const [a, b] = c.groups;
    expect(a).toMatchObject({ scaleDownUnneededTimeMs: 300_000, provisionTimeoutMs: 120_000 });
    expect(b).toMatchObject({
      scaleDownUnneededTimeMs: 30_000,
      provisionTimeoutMs: 120_000,
      scaleDownUtilizationThreshold: 0.3,
    });
    expect(c).toMatchObject({ expander: 'random', scaleDownEnabled: false });
    const out = renderConfig(c);
    expect(out).toContain('expander = random ; from --expander');
    const [, groupA, groupB] = out.split('[nodegroup ');
    expect(groupA).toContain('scale-down-unneeded-time = 5m\n');
    expect(groupB).toContain('scale-down-unneeded-time = 30s ; from --scale-down-unneeded-time\n');
  });

  it('without flags, [global] and the defaults hold', () => {
    const c = parseConfig(TEXT, 'cc.ini', parseFlags([]).options);
    expect(c.groups[1]).toMatchObject({ scaleDownUnneededTimeMs: 1_200_000, provisionTimeoutMs: 300_000 });
    expect(c.expander).toBe('most-pods');
  });
});
