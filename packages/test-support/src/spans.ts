// `@agent-comm/test-support/spans`: a real OpenTelemetry SDK with the in-memory exporter for a test file,
// so a test asserts on what the spans record, not only that they exist.
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterAll, beforeAll } from 'vitest'

/**
 * Installs, for the test file that calls it (at load), a global tracer provider exporting to the returned
 * in-memory exporter and an async-hooks context manager, and removes both after the file's tests.
 */
export function recordSpans(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter()
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    )
  })
  afterAll(() => {
    trace.disable()
    context.disable()
  })
  return exporter
}
