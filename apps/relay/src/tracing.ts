import { parseTraceparent } from '@agent-comm/protocol'
import {
  type Attributes,
  context,
  createTraceState,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

const TRACER_NAME = '@agent-comm/relay'

/**
 * The tracer of the provider registered now, or `undefined` while the process has none: every span would be
 * a no-op then, so the request is not given one at all (parsing its headers, building its attributes and
 * name cost ~2–3% of a relay's CPU per request).
 *
 * Looked up per request, never kept from module load: a tracer taken before the provider is registered
 * stays a no-op whenever the registration goes through another proxy than the one it came from — after
 * `trace.disable()`, or from the other build of `@opentelemetry/api` (an SDK loaded as CommonJS registers
 * through the CommonJS build, the relay imports the ES module one; both share only the global registry).
 * The relay's bin imports the relay before it starts tracing, and a program embedding it may do the same.
 */
function requestTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider()
  if (provider instanceof ProxyTracerProvider) return provider.getDelegateTracer(TRACER_NAME)
  // The global proxy of another build of the API: registered only together with a provider.
  return provider.getTracer(TRACER_NAME)
}

/** The request decorator holding the request's server span while it runs. */
const SPAN = 'traceSpan'

/**
 * One `agent-comm relay <METHOD> <route>` server span per request, a child of the request's W3C
 * `traceparent` (and `tracestate`) header when it has one, so a message's hops through the relay are in
 * its sender's trace. Through `@opentelemetry/api` only: no-op spans unless the process registers a
 * tracer provider (the relay's bin does with `OTEL_*` variables set), and no span at all while none is. The
 * span is kept in the request's `traceSpan` decorator until the request ends.
 */
export const tracingPlugin = fp(
  async (app) => {
    app.decorateRequest(SPAN, null)
    app.addHook('onRequest', (request, _reply, done) => {
      const tracer = requestTracer()
      if (tracer === undefined) {
        done()
        return
      }
      const ids = parseTraceparent(request.headers.traceparent)
      const tracestate = request.headers.tracestate
      const parent =
        ids === undefined
          ? context.active()
          : trace.setSpanContext(ROOT_CONTEXT, {
              ...ids,
              isRemote: true,
              traceState:
                typeof tracestate === 'string' && tracestate !== ''
                  ? createTraceState(tracestate)
                  : undefined,
            })
      const route = request.routeOptions.url ?? 'unmatched'
      const attributes: Attributes = {
        'messaging.system': 'agent-comm',
        'http.request.method': request.method,
        'http.route': route,
      }
      const params = request.params as Record<string, string | undefined> | undefined
      if (params?.agentId !== undefined) attributes['agent_comm.agent'] = params.agentId
      if (params?.messageId !== undefined) attributes['messaging.message.id'] = params.messageId
      const caller = request.headers['x-agent-id']
      if (typeof caller === 'string') attributes['agent_comm.caller'] = caller
      request.setDecorator(
        SPAN,
        tracer.startSpan(
          `agent-comm relay ${request.method} ${route}`,
          { kind: SpanKind.SERVER, attributes },
          parent,
        ),
      )
      done()
    })
    const end = (request: FastifyRequest, status: number | undefined): void => {
      const span = request.getDecorator<Span | null>(SPAN)
      if (span === null) return
      request.setDecorator(SPAN, null)
      if (status === undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the request' })
      } else {
        span.setAttribute('http.response.status_code', status)
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end()
    }
    app.addHook('onResponse', (request, reply, done) => {
      end(request, reply.statusCode)
      done()
    })
    app.addHook('onRequestAbort', (request, done) => {
      end(request, undefined)
      done()
    })
  },
  { name: 'agent-comm-tracing' },
)
