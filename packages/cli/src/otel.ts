import type { TracingHandle } from '@agent-comm/relay/otel'

/**
 * Turns on OTLP trace export when the standard `OTEL_*` variables ask for it, with the relay's
 * `startTracingFromEnv` (`@agent-comm/relay/otel`: the OpenTelemetry SDK is an optional dependency of the
 * relay, loaded only then). Without any `OTEL_*` variable nothing is loaded, so commands start as fast as
 * before. `serviceName` is the `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  serviceName: string,
): Promise<TracingHandle | undefined> {
  if (!Object.keys(env).some((name) => name.startsWith('OTEL_'))) return undefined
  const { startTracingFromEnv } = await import('@agent-comm/relay/otel')
  return startTracingFromEnv(env, serviceName)
}
