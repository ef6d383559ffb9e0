/**
 * OpenTelemetry SDK of one worker (the SDK belongs to the app, never to the libraries). With
 * OTEL_EXPORTER_OTLP_ENDPOINT set, traces and metrics go out over OTLP/HTTP (protobuf); otherwise
 * no SDK is started and autom8's OTel calls are no-ops.
 *
 * Every worker is its own resource: `service.instance.id` (a random UUID per process) and
 * `process.pid` tell the workers' series apart, where `service.name` alone would merge four
 * cumulative counters into one series that seems to jump back and forth.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';

export interface WorkerIdentity {
  serviceName: string;
  instanceId: string;
  /** The primary's slot number of this worker (for people reading dashboards). */
  slot: number;
}

export function startTelemetry(id: WorkerIdentity): NodeSDK | undefined {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  // Ours last, so they win the merge: OTEL_RESOURCE_ATTRIBUTES is the same for every worker and
  // must not overwrite the per-process instance id.
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector, hostDetector, processDetector] }))
    .merge(
      resourceFromAttributes({
        'service.name': id.serviceName,
        'service.instance.id': id.instanceId,
        'process.pid': process.pid,
        'autom8.fleet.worker.slot': id.slot,
      }),
    );
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false, // detected above, in the order we want
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000),
      }),
    ],
    // nodejs.eventloop.delay.p99 and friends: what to alert on besides autom8's own metrics.
    instrumentations: [new RuntimeNodeInstrumentation({ monitoringPrecision: 20 })],
  });
  sdk.start();
  return sdk;
}
