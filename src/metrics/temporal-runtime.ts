import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { coreLogFilter, temporalLogger, type AppLogger } from '../logging.js';

// The Temporal runtime is one per process and must be set up before the first NativeConnection: its logs (core,
// worker, workflow and activity loggers) go through our logger, and its own metrics (task latencies, poll and
// slot counts, sticky cache) are served by the runtime on a second Prometheus port.

/**
 * Installs the runtime with our logger and, if `metricsPort` is set, Temporal's Prometheus exporter on
 * 0.0.0.0:<port>. If this process already has a runtime (a test harness, a second worker in the same process),
 * it is left alone and the reason is returned.
 */
export function installTemporalRuntime(
  logger: AppLogger,
  opts: { verbosity: number; metricsPort?: number },
): { installed: true } | { installed: false; reason: string } {
  if (Runtime._instance !== undefined) {
    return {
      installed: false,
      reason: 'Temporal runtime already installed in this process: its logs and SDK metrics keep their settings',
    };
  }
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString(coreLogFilter(opts.verbosity)) },
      ...(opts.metricsPort && {
        metrics: { prometheus: { bindAddress: `0.0.0.0:${opts.metricsPort}` } },
      }),
    },
  });
  return { installed: true };
}
