// Turns the OpenAPI document @elysiajs/swagger generates from the routes' TypeBox schemas into a
// valid, complete OpenAPI 3.1 document that linters (Redocly, Spectral), validating proxies (Prism)
// and client generators (openapi-typescript) take as it is. The generator leaves to finish: the
// string-or-integer unions Elysia uses to coerce query text show up as schemas; `examples` arrays
// sit on parameters (where OpenAPI wants an `example`); integers in query text are plain decimal
// only, which an integer schema cannot say (a validator reads `1e3` as 1000); responses have no
// description, example or headers; header parameters are not generated. Pure: the same input
// gives the same document.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** What the generator cannot know of a response: its description, a documented example, its headers. */
export interface ResponseDoc {
  readonly description: string
  readonly example?: unknown
  /** Media types besides JSON (a streamed CSV, say), with their schema and example. */
  readonly otherContent?: Readonly<Record<string, { readonly schema: unknown; readonly example?: unknown }>>
  /** Names of the response headers it carries, each described once in `DocumentDocs.headers`. */
  readonly headers?: readonly string[]
  /** The JSON body's schema, for an answer no route schema declares (a 400 of the HTTP layer, say). */
  readonly jsonSchema?: unknown
}

/** Response docs by status code (`default`: any other status). */
export type ResponseDocs = Readonly<Partial<Record<number | 'default', ResponseDoc>>>

/** Response docs by operation (`GET /path`). */
export type OperationDocs = Readonly<Record<string, ResponseDocs>>

/** Everything the finishing step adds to the generated document. */
export interface DocumentDocs {
  readonly operations: OperationDocs
  /** Response headers, by name: each described once, referenced by the responses that carry it. */
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: unknown }>>
  /** Query parameters whose text must be a plain decimal integer: documented as patterned strings. */
  readonly integerParameters?: readonly string[]
  /** Parameters the generator does not produce (request headers), by operation. */
  readonly parameters?: Readonly<Record<string, readonly unknown[]>>
}

/** Plain decimal, an optional minus: what the service takes for an integer in query text. */
export const DECIMAL_INTEGER_PATTERN = '^-?[0-9]+$'

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

// Elysia's query/number coercion: anyOf [{ type: 'string', format: 'integer' | 'numeric', default: 0 }, <the real schema>].
function isCoercionText(schema: Json): boolean {
  return isObject(schema) && schema.type === 'string' && (schema.format === 'integer' || schema.format === 'numeric')
}

function unwrapSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(unwrapSchema)
  if (!isObject(schema)) return schema
  const anyOf = schema.anyOf
  if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isCoercionText)) {
    const real = anyOf.find((entry) => !isCoercionText(entry)) as JsonObject
    const { anyOf: _, ...outer } = schema
    return unwrapSchema({ ...outer, ...real })
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, unwrapSchema(value)]))
}

// Swagger UI fills "Try it out" with a parameter's example: an example since/until would silently
// narrow every first query to one day. Parameters carry descriptions and defaults, not examples.
// An integer in query text is a string of decimal digits: a pattern says so where `integer` cannot
// (its bounds stay in the description; the text goes to the service as typed, as before).
function finishParameter(parameter: Json, integers: ReadonlySet<string>): Json {
  if (!isObject(parameter)) return parameter
  const { examples: _, ...rest } = parameter
  const schema = unwrapSchema(rest.schema ?? {})
  if (!integers.has(String(rest.name)) || !isObject(schema)) return { ...rest, schema }
  const { type: _type, minimum, maximum, ...kept } = schema
  const bounds = [minimum !== undefined ? `at least ${minimum}` : '', maximum !== undefined ? `at most ${maximum}` : ''].filter(Boolean).join(', ')
  const description = `${String(rest.description ?? '')} A decimal integer${bounds ? `, ${bounds}` : ''}.`.trim()
  return {
    ...rest,
    description,
    schema: {
      ...kept,
      description,
      type: 'string',
      pattern: DECIMAL_INTEGER_PATTERN,
      ...(kept.default !== undefined ? { default: String(kept.default) } : {}),
    },
  }
}

const statusOrder = (status: string) => (status === 'default' ? 1000 : Number(status))

function finishResponses(responses: Json, docs: ResponseDocs = {}): JsonObject {
  const finished: JsonObject = {}
  // Statuses the docs describe that no schema declares (304 has no body, for one).
  const all: JsonObject = { ...Object.fromEntries(Object.keys(docs).map((status) => [status, {}])), ...(isObject(responses) ? responses : {}) }
  const ordered = Object.entries(all).sort(([a], [b]) => statusOrder(a) - statusOrder(b))
  for (const [status, response] of ordered) {
    if (!isObject(response)) continue
    const doc = (docs as Record<string, ResponseDoc | undefined>)[status]
    const content = isObject(response.content) ? response.content : {}
    // Every answer of this API is JSON; the generator also lists multipart and text variants.
    const json = isObject(content['application/json'])
      ? content['application/json']
      : doc?.jsonSchema !== undefined
        ? { schema: JSON.parse(JSON.stringify(doc.jsonSchema)) as Json }
        : undefined
    const media: JsonObject = { schema: unwrapSchema(json?.schema ?? {}) }
    if (doc?.example !== undefined) media.example = doc.example as Json
    const other = Object.fromEntries(Object.entries(doc?.otherContent ?? {}).map(([type, media]) => [type, media as unknown as Json]))
    const types: JsonObject = { ...(json ? { 'application/json': media } : {}), ...other }
    const headers = Object.fromEntries((doc?.headers ?? []).map((name) => [name, { $ref: `#/components/headers/${name}` }]))
    finished[status] = {
      description: doc?.description ?? (typeof response.description === 'string' ? response.description : status),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(Object.keys(types).length > 0 ? { content: types } : {}),
    }
  }
  return finished
}

export function finishOpenApi(generated: unknown, docs: DocumentDocs): JsonObject {
  if (!isObject(generated)) throw new Error('the generated OpenAPI document is not an object')
  const integers = new Set(docs.integerParameters ?? [])
  const paths: JsonObject = {}
  for (const [path, item] of Object.entries(isObject(generated.paths) ? generated.paths : {})) {
    if (!isObject(item)) continue
    const methods: JsonObject = {}
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation)) continue
      const { parameters, responses, ...rest } = operation
      const key = `${method.toUpperCase()} ${path}`
      const all = [...(Array.isArray(parameters) ? parameters.map((parameter) => finishParameter(parameter, integers)) : []), ...((docs.parameters?.[key] ?? []) as Json[])]
      methods[method] = {
        ...rest,
        ...(all.length > 0 ? { parameters: all } : {}),
        responses: finishResponses(responses ?? {}, docs.operations[key]),
      }
    }
    paths[path] = methods
  }
  const components: JsonObject = isObject(generated.components) ? { ...generated.components } : {}
  if (isObject(components.schemas) && Object.keys(components.schemas).length === 0) delete components.schemas
  if (docs.headers) components.headers = docs.headers as unknown as Json
  return { ...generated, openapi: '3.1.0', paths, components: unwrapSchema(components) }
}
