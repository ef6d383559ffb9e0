/**
 * OpenTelemetry SDK wiring for the example (the SDK belongs to the app, never to the libraries):
 * - OTEL_EXPORTER_OTLP_ENDPOINT set → traces and metrics over OTLP/HTTP (protobuf) to it;
 * - OTEL_METRICS_EXPORTER (the SDK's standard list: `otlp`, `prometheus`, `none`) picks the metric
 *   exporters instead; `prometheus` serves `/metrics` for Prometheus to scrape on
 *   OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT (default all interfaces, 9464);
 * - OTEL_CONSOLE=1 → spans printed to the console;
 * - otherwise no SDK: autom8's OTel calls are no-ops and /api/v1/metrics still works.
 * Whenever metrics are exported, Node's runtime metrics come along (event-loop delay and
 * utilisation, GC, heap: @opentelemetry/instrumentation-runtime-node).
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';

/** Metric exporters named by OTEL_METRICS_EXPORTER; when unset, OTLP iff an OTLP endpoint is set. */
function metricExporters(otlp: boolean): string[] {
  const listed = (process.env.OTEL_METRICS_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (listed.includes('none')) return [];
  return listed.length > 0 ? listed : otlp ? ['otlp'] : [];
}

function metricReader(exporter: string): MetricReader {
  if (exporter === 'prometheus') return new PrometheusExporter(); // host/port from OTEL_EXPORTER_PROMETHEUS_*
  if (exporter === 'otlp') {
    return new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000),
    });
  }
  throw new Error(`OTEL_METRICS_EXPORTER: unsupported exporter "${exporter}" (this example knows otlp, prometheus, none)`);
}

export function startTelemetry(serviceName: string): NodeSDK | undefined {
  const otlp = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const consoleSpans = process.env.OTEL_CONSOLE === '1';
  const metricReaders = metricExporters(otlp).map(metricReader);
  if (!otlp && !consoleSpans && metricReaders.length === 0) return undefined;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? serviceName }),
    // Without an OTLP endpoint or console, no tracing (the SDK would otherwise default to OTLP on localhost).
    ...(otlp || consoleSpans ? { traceExporter: otlp ? new OTLPTraceExporter() : new ConsoleSpanExporter() } : { spanProcessors: [] }),
    metricReaders,
    instrumentations: metricReaders.length > 0 ? [new RuntimeNodeInstrumentation()] : [],
  });
  sdk.start();
  const shutdown = () => void sdk.shutdown().finally(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return sdk;
}
