// The OpenTelemetry SDK every benchmark server runs when it measures telemetry: a real tracer
// provider (BatchSpanProcessor → InMemorySpanExporter) and meter provider (periodic reader →
// InMemoryMetricExporter), so the SDK's own per-request work is paid as users pay it, without an
// exporter's network I/O. The span exporter is emptied after each batch and the metric exporter
// every second, so memory stays flat; the counts survive the emptying so a sanity check can ask
// what was exported.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Builds the providers. With `global: true` they are also registered the way an app registers an
 * SDK (global tracer and meter providers, the AsyncLocalStorage context manager, the W3C
 * propagator), so every stack that uses the SDK pays the same context-propagation cost.
 * `sampleRatio` (default 1) samples that share of new traces (ParentBased(TraceIdRatioBased)).
 * `contextManager`, `tracing`, `meters` (all true by default) leave a part out of that registration:
 * only for measuring what each part costs (benchmarks/tools/inproc.mjs). `exportIntervalMs` (default
 * 1000): the metric reader's period (the instruction-count harness stretches it with valgrind's slowdown).
 * @returns {{ tracerProvider, meterProvider, exported: () => Promise<{spans:number, spanNames:string[], metricNames:string[]}> }}
 */
export function startOtelSdk({ global = false, contextManager = true, tracing = true, meters = true, sampleRatio = 1, exportIntervalMs = 1000 } = {}) {
  const api = require('@opentelemetry/api');
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
  const {
    BasicTracerProvider,
    InMemorySpanExporter,
    BatchSpanProcessor,
    ParentBasedSampler,
    TraceIdRatioBasedSampler,
  } = require('@opentelemetry/sdk-trace-base');
  const spans = new InMemorySpanExporter();
  // sampleRatio < 1: the head sampling production setups use (ParentBased(TraceIdRatioBased)); the
  // default is the SDK's own, every trace recorded.
  const sampler = sampleRatio < 1 ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }) : undefined;
  const tracerProvider = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(spans, { maxQueueSize: 100000 })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: exportIntervalMs })],
  });
  if (global) {
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const { W3CTraceContextPropagator } = require('@opentelemetry/core');
    if (contextManager) api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    if (tracing) api.trace.setGlobalTracerProvider(tracerProvider);
    if (meters) api.metrics.setGlobalMeterProvider(meterProvider);
  }

  let spanTotal = 0;
  const spanNames = new Set();
  const metricNames = new Set();
  const collectSpans = () => {
    const finished = spans.getFinishedSpans();
    spanTotal += finished.length;
    // Names are only for the sanity check; a few dozen distinct ones at most.
    if (spanNames.size < 100) for (const s of finished) spanNames.add(s.name);
    spans.reset();
  };
  // Each exported batch is counted and dropped at once, as a network exporter lets go of a batch
  // once it is sent: spans kept for a whole second instead (10k+ at these rates) reach V8's old
  // generation and charge every stack with major GCs that no real deployment pays.
  const exportBatch = spans.export.bind(spans);
  spans.export = (batch, done) => {
    exportBatch(batch, done);
    collectSpans();
  };
  const collect = () => {
    collectSpans();
    for (const rm of metricExporter.getMetrics())
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.dataPoints.length > 0) metricNames.add(m.descriptor.name);
    metricExporter.reset();
  };
  setInterval(collect, exportIntervalMs).unref();

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
