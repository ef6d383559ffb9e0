/**
 * OpenTelemetry SDK wiring for the example (the SDK belongs to the app, never to the libraries):
 * - OTEL_EXPORTER_OTLP_ENDPOINT set → traces and metrics over OTLP/HTTP (protobuf) to it;
 * - OTEL_CONSOLE=1 → spans printed to the console;
 * - otherwise no SDK: autom8's OTel calls are no-ops and /api/v1/metrics still works.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';

export function startTelemetry(serviceName: string): NodeSDK | undefined {
  const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const consoleSpans = process.env.OTEL_CONSOLE === '1';
  if (!otlp && !consoleSpans) return undefined;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? serviceName }),
    traceExporter: otlp ? new OTLPTraceExporter() : new ConsoleSpanExporter(),
    metricReaders: otlp ? [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000) })] : [],
    instrumentations: [],
  });
  sdk.start();
  const shutdown = () => sdk.shutdown().finally(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return sdk;
}
