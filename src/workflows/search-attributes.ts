import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes make scaling workflows filterable in the Temporal UI and `temporal workflow list
// --query`, e.g. `NodeGroup = 'k3s-agents-1' AND ScalingPhase = 'draining'`. They must be registered on the
// server before use: the local stack does it at start; docs/operations explains it for other servers.

/** The cluster name from the cloud-config (`cluster-name`). */
export const AutoscalerClusterKey = defineSearchAttributeKey('AutoscalerCluster', SearchAttributeType.KEYWORD);
/** The node group (Slicer host group) a scale-up or scale-down works on. */
export const NodeGroupKey = defineSearchAttributeKey('NodeGroup', SearchAttributeType.KEYWORD);
/** The Kubernetes Node a scale-down or drain works on. */
export const NodeNameKey = defineSearchAttributeKey('NodeName', SearchAttributeType.KEYWORD);
/** Where an operation is: launching, registering, draining, deleting, done, failed, rolled-back. */
export const ScalingPhaseKey = defineSearchAttributeKey('ScalingPhase', SearchAttributeType.KEYWORD);

/** Every key we use, for registration (`--search-attribute Name=Keyword`). */
export const ALL_SEARCH_ATTRIBUTES = [AutoscalerClusterKey, NodeGroupKey, NodeNameKey, ScalingPhaseKey] as const;
