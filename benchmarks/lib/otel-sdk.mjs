// The OpenTelemetry SDK every benchmark server runs when it measures telemetry: a real tracer
// provider (BatchSpanProcessor → InMemorySpanExporter) and meter provider (periodic reader →
// InMemoryMetricExporter), so the SDK's own per-request work is paid as users pay it, without an
// exporter's network I/O. The exporters are emptied every second so memory stays flat; the counts
// survive the emptying so a sanity check can ask what was exported.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Builds the providers. With `global: true` they are also registered the way an app registers an
 * SDK (global tracer and meter providers, the AsyncLocalStorage context manager, the W3C
 * propagator), so every stack that uses the SDK pays the same context-propagation cost.
 * @returns {{ tracerProvider, meterProvider, exported: () => Promise<{spans:number, spanNames:string[], metricNames:string[]}> }}
 */
export function startOtelSdk({ global = false } = {}) {
  const api = require('@opentelemetry/api');
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
  const { BasicTracerProvider, InMemorySpanExporter, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans, { maxQueueSize: 100000 })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
  if (global) {
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const { W3CTraceContextPropagator } = require('@opentelemetry/core');
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    api.trace.setGlobalTracerProvider(tracerProvider);
    api.metrics.setGlobalMeterProvider(meterProvider);
  }

  let spanTotal = 0;
  const spanNames = new Set();
  const metricNames = new Set();
  const collect = () => {
    const finished = spans.getFinishedSpans();
    spanTotal += finished.length;
    // Names are only for the sanity check; a few dozen distinct ones at most.
    if (spanNames.size < 100) for (const s of finished) spanNames.add(s.name);
    for (const rm of metricExporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.dataPoints.length > 0) metricNames.add(m.descriptor.name);
    spans.reset();
    metricExporter.reset();
  };
  setInterval(collect, 1000).unref();

  return {
    tracerProvider,
    meterProvider,
    /** Flushes both providers and returns what has been exported so far. */
    async exported() {
      await tracerProvider.forceFlush();
      await meterProvider.forceFlush();
      collect();
      return { spans: spanTotal, spanNames: [...spanNames], metricNames: [...metricNames] };
    },
  };
}
