// The reference for test/conformance/otel-vs-instrumentation.test.ts: the real SDK with
// @opentelemetry/instrumentation-http, registered as auto-instrumentation does (import this first,
// before anything loads node:http). Its metrics are DELTA, read one scenario at a time. The test
// disables the instrumentation once it has the reference, so autom8 then runs alone.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const spanExporter = new InMemorySpanExporter();
export const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
// Registers the context manager and the W3C propagator autom8's side uses too.
tracerProvider.register();
export const metricExporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
export const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
export const meterProvider = new MeterProvider({ readers: [metricReader] });
// Server side only: the test's own client requests must reach the server with the headers it set
// (an instrumented client would replace their traceparent with its CLIENT span's).
export const httpInstrumentation = new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true });
registerInstrumentations({ instrumentations: [httpInstrumentation], tracerProvider, meterProvider });
