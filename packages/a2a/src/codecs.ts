import { type Task, Task as TaskCodec } from '@a2a-js/sdk'

/** Conversions between stored A2A JSON and the SDK's objects. */
export const TaskCodecs = {
  task(json: Record<string, unknown>): Task {
    return TaskCodec.fromJSON(json)
  },
}
