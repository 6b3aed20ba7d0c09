// `@agent-comm/test-support/otlp-collector`: a local OTLP/HTTP collector for a test, so a test proves that
// spans leave the process as a user's collector would receive them, not only that the API made them.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One span as an OTLP/HTTP JSON exporter sends it, with the `service.name` of the resource that sent it. */
export interface CollectedSpan {
  service: string
  name: string
  traceId: string
  parentSpanId: string | undefined
  attributes: Record<string, unknown>
}

/** What {@link otlpCollector} gives a test. */
export interface OtlpCollector {
  /** The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (spans are POSTed to `<endpoint>/v1/traces`). */
  endpoint: string
  /** Every span received so far, in arrival order. */
  spans: CollectedSpan[]
  /** `<METHOD> <path>` of every request received so far. */
  requests: string[]
  close(): Promise<void>
}

interface OtlpAttribute {
  key: string
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean }
}
interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] }
    scopeSpans?: {
      spans?: { name: string; traceId: string; parentSpanId?: string; attributes?: OtlpAttribute[] }[]
    }[]
  }[]
}

const attributesOf = (list: OtlpAttribute[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]))

/**
 * Starts an OTLP/HTTP collector on an ephemeral port of 127.0.0.1 that records the spans of every JSON
 * body POSTed to `/v1/traces` (the encoding OTLP/HTTP exporters of `@opentelemetry/exporter-trace-otlp-http`
 * use). Call `close()` after the test.
 */
export async function otlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = []
  const requests: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`)
      const parsed = (req.url === '/v1/traces' && body !== '' ? JSON.parse(body) : {}) as OtlpBody
      for (const resourceSpans of parsed.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'])
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service,
              name: span.name,
              traceId: span.traceId,
              parentSpanId: span.parentSpanId || undefined,
              attributes: attributesOf(span.attributes),
            })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
