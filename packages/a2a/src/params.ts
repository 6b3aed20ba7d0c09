import { z } from 'zod'
import { parseTimestamp, TIMESTAMP_PROBLEM } from './status-timestamp.js'

/**
 * The JSON-RPC params of each A2A method as a caller sends them, checked before the SDK decodes them:
 * its codecs turn a wrong type into something else without a word (`text: 5` → `"5"`, invalid base64 →
 * other bytes, a string `configuration` → none), so every type the relay relies on is checked here, on
 * the JSON as sent. Unknown fields pass (a newer client may send more); snake_case aliases the SDK
 * also reads are checked like their camelCase names.
 */

/** Largest push-notification URL, in characters. */
export const MAX_PUSH_URL_LENGTH = 2048
/** Largest push-notification `token`, in characters. */
export const MAX_PUSH_TOKEN_LENGTH = 1024
/** Largest push-notification `authentication.credentials`, in characters. */
export const MAX_PUSH_CREDENTIALS_LENGTH = 4096
/** Largest push-notification `authentication.scheme` and config `id`, in characters. */
export const MAX_PUSH_NAME_LENGTH = 128

/**
 * Largest `messageId`, `contextId` and `taskId` of a caller's message, in characters: each is stored as
 * (part of) an index key, which PostgreSQL refuses over about 2.7 KB; 256 characters are at most 1 KiB.
 */
export const MAX_MESSAGE_ID_LENGTH = 256

const text = z.string({ error: 'must be a string' })
/** An id of a caller's message (stored and indexed): at most {@link MAX_MESSAGE_ID_LENGTH} characters. */
const id = text.max(MAX_MESSAGE_ID_LENGTH, `is over ${MAX_MESSAGE_ID_LENGTH} characters`)
const nonNegativeInt = z
  .number({ error: 'must be a non-negative integer' })
  .int('must be a non-negative integer')
  .min(0, 'must be a non-negative integer')
  .max(Number.MAX_SAFE_INTEGER, 'must be a non-negative integer')
const boolean = z.boolean({ error: 'must be a boolean' })
const object = z.record(z.string(), z.unknown(), { error: 'must be an object' })
const strings = z.array(text, { error: 'must be an array of strings' })

// Standard or URL-safe alphabet, padded or not (what proto3 JSON readers accept), and no other character.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/
const base64 = text.refine((value) => {
  if (!BASE64.test(value)) return false
  const bare = value.replace(/=+$/, '')
  if (bare.length % 4 === 1) return false
  return bare.length === value.length || value.length % 4 === 0
}, 'must be base64')

const CONTENTS = ['text', 'raw', 'url', 'data'] as const

const PartSchema = z
  .looseObject(
    {
      text: text.optional(),
      raw: base64.optional(),
      url: text.optional(),
      data: z.unknown().optional(),
      filename: text.optional(),
      mediaType: text.optional(),
      media_type: text.optional(),
      metadata: object.optional(),
    },
    { error: 'must be an object' },
  )
  .superRefine((part, ctx) => {
    const given = CONTENTS.filter((key) => part[key] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? 'has no content: give one of text, url, raw or data'
            : `has ${given.join(' and ')}: a part holds exactly one of text, url, raw or data`,
      })
    }
  })

const MessageSchema = z
  .looseObject(
    {
      messageId: id.min(1, 'must not be empty').optional(),
      message_id: id.min(1, 'must not be empty').optional(),
      role: z.literal('ROLE_USER', { error: "must be 'ROLE_USER' (a caller's message is the user's)" }),
      contextId: id.optional(),
      context_id: id.optional(),
      taskId: id.optional(),
      task_id: id.optional(),
      parts: z.array(PartSchema, { error: 'must be an array of parts' }),
      metadata: object.optional(),
      extensions: strings.optional(),
      referenceTaskIds: strings.optional(),
      reference_task_ids: strings.optional(),
    },
    { error: 'must be an object' },
  )
  .refine((message) => message.messageId !== undefined || message.message_id !== undefined, {
    message: 'is required (a unique id of this message)',
    path: ['messageId'],
  })

const AuthenticationSchema = z.looseObject(
  {
    scheme: text.max(MAX_PUSH_NAME_LENGTH, `is over ${MAX_PUSH_NAME_LENGTH} characters`).optional(),
    credentials: text
      .max(MAX_PUSH_CREDENTIALS_LENGTH, `is over ${MAX_PUSH_CREDENTIALS_LENGTH} characters`)
      .optional(),
  },
  { error: 'must be an object' },
)

const PushConfigSchema = z.looseObject(
  {
    id: text.max(MAX_PUSH_NAME_LENGTH, `is over ${MAX_PUSH_NAME_LENGTH} characters`).optional(),
    taskId: text.optional(),
    task_id: text.optional(),
    url: text.max(MAX_PUSH_URL_LENGTH, `is over ${MAX_PUSH_URL_LENGTH} characters`).optional(),
    token: text.max(MAX_PUSH_TOKEN_LENGTH, `is over ${MAX_PUSH_TOKEN_LENGTH} characters`).optional(),
    authentication: AuthenticationSchema.optional(),
    tenant: text.optional(),
  },
  { error: 'must be an object' },
)

const ConfigurationSchema = z.looseObject(
  {
    acceptedOutputModes: strings.optional(),
    accepted_output_modes: strings.optional(),
    taskPushNotificationConfig: PushConfigSchema.optional(),
    task_push_notification_config: PushConfigSchema.optional(),
    historyLength: nonNegativeInt.optional(),
    history_length: nonNegativeInt.optional(),
    returnImmediately: boolean.optional(),
    return_immediately: boolean.optional(),
  },
  { error: 'must be an object' },
)

const pageSize = z
  .number({ error: 'must be an integer from 1 to 100' })
  .int('must be an integer from 1 to 100')
  .min(1, 'must be an integer from 1 to 100')
  .max(100, 'must be an integer from 1 to 100')

// Empty is unset, as for the other string params of ListTasks (a proto3 default some clients send).
const timestamp = text.refine(
  (value) => value === '' || parseTimestamp(value) !== undefined,
  TIMESTAMP_PROBLEM,
)

const params = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.looseObject(shape, { error: 'must be an object' })

const TaskIdParams = params({ id: text.optional(), tenant: text.optional() })
const ConfigIdParams = params({
  id: text.optional(),
  taskId: text.optional(),
  task_id: text.optional(),
  tenant: text.optional(),
})

/** The params schema of each method (methods not named here have nothing the relay reads). */
const PARAMS: Record<string, z.ZodType> = {
  SendMessage: params({
    message: MessageSchema,
    configuration: ConfigurationSchema.optional(),
    metadata: object.optional(),
    tenant: text.optional(),
  }),
  GetTask: params({
    id: text.optional(),
    historyLength: nonNegativeInt.optional(),
    history_length: nonNegativeInt.optional(),
    tenant: text.optional(),
  }),
  ListTasks: params({
    contextId: text.optional(),
    context_id: text.optional(),
    pageSize: pageSize.optional(),
    page_size: pageSize.optional(),
    pageToken: text.optional(),
    page_token: text.optional(),
    historyLength: nonNegativeInt.optional(),
    history_length: nonNegativeInt.optional(),
    includeArtifacts: boolean.optional(),
    include_artifacts: boolean.optional(),
    statusTimestampAfter: timestamp.optional(),
    status_timestamp_after: timestamp.optional(),
    tenant: text.optional(),
  }),
  CancelTask: TaskIdParams,
  SubscribeToTask: TaskIdParams,
  CreateTaskPushNotificationConfig: PushConfigSchema,
  GetTaskPushNotificationConfig: ConfigIdParams,
  DeleteTaskPushNotificationConfig: ConfigIdParams,
  ListTaskPushNotificationConfigs: params({
    taskId: text.optional(),
    task_id: text.optional(),
    pageSize: z.number().int().min(0).optional(),
    pageToken: text.optional(),
    tenant: text.optional(),
  }),
}
PARAMS.SendStreamingMessage = PARAMS.SendMessage as z.ZodType

/**
 * What is wrong with the params of a call to `method`, as a message naming the first bad field
 * (`params.message.parts[0].text must be a string`), or undefined when they are well-formed.
 */
export function paramsProblem(method: string, value: unknown): string | undefined {
  const schema = PARAMS[method]
  if (schema === undefined) return undefined
  const checked = schema.safeParse(value ?? {})
  if (checked.success) return undefined
  const issue = checked.error.issues[0]
  if (issue === undefined) return 'params are not valid'
  const path = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')
  return `params${path} ${issue.message}`
}
