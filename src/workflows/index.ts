// The workflow entry for `workflowsPath`: every workflow the worker registers.
export { autoscalerWorkflow } from './autoscaler.js';
export { scaleUpWorkflow } from './scale-up.js';
export { scaleDownWorkflow } from './scale-down.js';
export { scheduledActionWorkflow } from './scheduled-action.js';
