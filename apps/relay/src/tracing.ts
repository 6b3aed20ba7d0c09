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
  trace,
} from '@opentelemetry/api'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

const TRACER_NAME = '@agent-comm/relay'
const tracer = trace.getTracer(TRACER_NAME)

/**
 * False while the process has no tracer provider registered: every span would be a no-op then, so the
 * request is not given one at all (parsing its headers, building its attributes and name cost ~2–3% of a
 * relay's CPU per request). Asked per request, so a provider registered after the relay was built is used.
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider()
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(TRACER_NAME) !== undefined
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
      if (!tracing()) {
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
