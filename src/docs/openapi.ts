// Turns the OpenAPI document @elysiajs/swagger generates from the routes' TypeBox schemas into a
// valid, complete OpenAPI 3.1 document. The generator leaves three things to finish: the
// string-or-integer unions Elysia uses to coerce query text show up as schemas; `examples` arrays
// sit on parameters (where OpenAPI wants an `example`); and responses have no description or example.
// Pure: the same input gives the same document.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** What the generator cannot know of a response: its description and a documented example. */
export interface ResponseDoc {
  readonly description: string
  readonly example?: unknown
  /** Media types besides JSON (a streamed CSV, say), with their schema and example. */
  readonly otherContent?: Readonly<Record<string, { readonly schema: unknown; readonly example?: unknown }>>
}

/** Response docs by operation (`GET /path`) and status code. */
export type OperationDocs = Readonly<Record<string, Readonly<Record<number, ResponseDoc>>>>

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
function finishParameter(parameter: Json): Json {
  if (!isObject(parameter)) return parameter
  const { examples: _, ...rest } = parameter
  return { ...rest, schema: unwrapSchema(rest.schema ?? {}) }
}

function finishResponses(responses: Json, docs: Readonly<Record<number, ResponseDoc>> = {}): JsonObject {
  const finished: JsonObject = {}
  // Statuses the docs describe that no schema declares (304 has no body, for one).
  const all: JsonObject = { ...Object.fromEntries(Object.keys(docs).map((status) => [status, {}])), ...(isObject(responses) ? responses : {}) }
  const ordered = Object.entries(all).sort(([a], [b]) => Number(a) - Number(b))
  for (const [status, response] of ordered) {
    if (!isObject(response)) continue
    const doc = docs[Number(status)]
    const content = isObject(response.content) ? response.content : {}
    // Every answer of this API is JSON; the generator also lists multipart and text variants.
    const json = isObject(content['application/json']) ? content['application/json'] : undefined
    const media: JsonObject = { schema: unwrapSchema(json?.schema ?? {}) }
    if (doc?.example !== undefined) media.example = doc.example as Json
    const other = Object.fromEntries(Object.entries(doc?.otherContent ?? {}).map(([type, media]) => [type, media as unknown as Json]))
    const types: JsonObject = { ...(json ? { 'application/json': media } : {}), ...other }
    finished[status] = {
      description: doc?.description ?? (typeof response.description === 'string' ? response.description : status),
      ...(Object.keys(types).length > 0 ? { content: types } : {}),
    }
  }
  return finished
}

export function finishOpenApi(generated: unknown, operations: OperationDocs): JsonObject {
  if (!isObject(generated)) throw new Error('the generated OpenAPI document is not an object')
  const paths: JsonObject = {}
  for (const [path, item] of Object.entries(isObject(generated.paths) ? generated.paths : {})) {
    if (!isObject(item)) continue
    const methods: JsonObject = {}
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation)) continue
      const { parameters, responses, ...rest } = operation
      methods[method] = {
        ...rest,
        ...(Array.isArray(parameters) ? { parameters: parameters.map(finishParameter) } : {}),
        responses: finishResponses(responses ?? {}, operations[`${method.toUpperCase()} ${path}`]),
      }
    }
    paths[path] = methods
  }
  const components = isObject(generated.components) ? { ...generated.components } : {}
  if (isObject(components.schemas) && Object.keys(components.schemas).length === 0) delete components.schemas
  return { ...generated, openapi: '3.1.0', paths, components: unwrapSchema(components) }
}
