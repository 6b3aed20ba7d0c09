import { ConfigError, redactUrl } from '@agent-comm/protocol'
import { context, propagation, trace } from '@opentelemetry/api'

/** The OpenTelemetry SDK packages {@link startTracingFromEnv} loads: optional dependencies of the relay. */
const OTEL_SDK_PACKAGES = [
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
]

/** What {@link startTracingFromEnv} turned on: call `shutdown` before exiting to flush the last spans. */
export interface TracingHandle {
  /**
   * Where spans go (the OTLP/HTTP traces URL), safe to print: without a password, fragment or token-like
   * query parameter (`redactUrl`), since collectors are often reached with credentials in the URL.
   */
  url: string
  shutdown(): Promise<void>
}

/**
 * The OTLP/HTTP traces URL the standard variables ask for, or `undefined` when they turn no exporter on:
 * `OTEL_TRACES_EXPORTER=otlp` (or unset, with an endpoint set), `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (default `http://localhost:4318`); `OTEL_SDK_DISABLED=true`
 * and `OTEL_TRACES_EXPORTER=none` turn it off. Any other exporter name, or the grpc protocol, is a `ConfigError`
 * naming `program` (the executable that read the variables).
 */
export function otlpTracesUrl(
  env: Record<string, string | undefined>,
  program = 'agent-comm-relay',
): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined
  if (exporters.length === 0 && tracesEndpoint === undefined && endpoint === undefined) return undefined
  if (exporters.includes('none')) return undefined
  const unsupported = exporters.filter((name) => name !== 'otlp')
  if (unsupported.length > 0) {
    throw new ConfigError(`OTEL_TRACES_EXPORTER '${unsupported.join(',')}' is not supported by ${program}`, {
      hint: 'Use OTEL_TRACES_EXPORTER=otlp (OTLP over HTTP/protobuf or JSON) or none.',
    })
  }
  // The traces' own variable wins over the general one; the error names the one that was read.
  const protocolVariable =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL === undefined
      ? 'OTEL_EXPORTER_OTLP_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
  const protocol = env[protocolVariable]?.trim()
  // The exporter speaks OTLP over HTTP (JSON bodies), which every collector's HTTP port (4318) takes.
  if (protocol === 'grpc') {
    throw new ConfigError(`${protocolVariable} grpc is not supported by ${program}`, {
      hint: `It exports OTLP over HTTP: unset ${protocolVariable} or set it to http/json, and point the endpoint at the collector's HTTP port (4318).`,
    })
  }
  const variable =
    tracesEndpoint === undefined ? 'OTEL_EXPORTER_OTLP_ENDPOINT' : 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  const url = tracesEndpoint ?? `${(endpoint ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`
  // Checked here: the exporter would otherwise throw its own error at start, with a stack trace and no name.
  if (!/^https?:$/.test(URL.canParse(url) ? new URL(url).protocol : '')) {
    throw new ConfigError(
      `${variable} must be an http:// or https:// URL (got '${redactUrl(tracesEndpoint ?? endpoint ?? '')}')`,
      { hint: "Give the collector's OTLP/HTTP address, e.g. http://localhost:4318, or unset it." },
    )
  }
  return url
}

/**
 * Registers an OpenTelemetry tracer provider exporting to OTLP/HTTP when the standard `OTEL_*` variables
 * ask for one (see {@link otlpTracesUrl}); `undefined` when they do not. The SDK packages are optional
 * dependencies of the relay, loaded only then: without them this fails with a `ConfigError` saying what to
 * install. `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name the service (default `serviceName`,
 * `agent-comm-relay`; the `agent-comm` CLI passes its own name). Also published as the subpath
 * `@agent-comm/relay/otel`, which loads nothing else of the relay (no fastify), for the CLI's commands.
 */
export async function startTracingFromEnv(
  env: Record<string, string | undefined>,
  serviceName = 'agent-comm-relay',
): Promise<TracingHandle | undefined> {
  const url = otlpTracesUrl(env, serviceName)
  if (url === undefined) return undefined
  let sdk: [
    typeof import('@opentelemetry/sdk-trace'),
    typeof import('@opentelemetry/exporter-trace-otlp-http'),
    typeof import('@opentelemetry/resources'),
    typeof import('@opentelemetry/context-async-hooks'),
    typeof import('@opentelemetry/core'),
  ]
  try {
    // Imported, not required: these packages' ES module builds import the ES module build of
    // `@opentelemetry/api`, the one copy the relay, the coordinator and the transports use. A CommonJS SDK
    // would register its provider through the CommonJS build, a second copy beside it.
    sdk = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
    ])
  } catch (error) {
    throw new ConfigError(
      `OpenTelemetry export was asked for (OTEL_* variables) but its SDK is not installed: ${(error as Error).message}`,
      {
        hint: `Install the optional dependencies: npm install ${OTEL_SDK_PACKAGES.join(' ')} — or unset OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT.`,
      },
    )
  }
  const [
    { BatchSpanProcessor, TracerProvider },
    { OTLPTraceExporter },
    resources,
    { AsyncLocalStorageContextManager },
    { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator },
  ] = sdk
  const resource = resources
    .resourceFromAttributes({ 'service.name': serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) })],
  })
  // What an SDK's register() does: the AsyncLocalStorage context manager, the W3C propagators and the
  // provider, set globally.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  )
  trace.setGlobalTracerProvider(provider)
  return { url: redactUrl(url), shutdown: () => provider.shutdown() }
}
