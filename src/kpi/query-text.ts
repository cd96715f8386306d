// The query text of a request, checked against its schema before Elysia coerces it, so that every
// bad parameter gets a 422 that names it: integers in plain decimal only (Elysia's coercion would
// take `1e3`, `0x10`, ` 5`), within the schema's bounds, and each parameter at most once
// (`since=1&since=2` is ambiguous, not "the last one wins"). One checker for every route.
import type { TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ValidationError } from '../errors.ts'

export interface QueryRules<Name extends string> {
  /** The schema of the query (its properties are checked one by one). */
  readonly schema: TObject
  /** What each parameter must be, worded for a 422 body. */
  readonly rules: Readonly<Record<Name, string>>
  /** The parameters whose text must be a plain decimal integer. */
  readonly integers: readonly Name[]
  /** Parameters that are opaque cursors: empty, or `payload.signature` in base64url. */
  readonly cursors?: readonly Name[]
}

/** @throws {ValidationError} naming the first parameter that breaks the rules. */
export function validateQueryText<Name extends string>(params: URLSearchParams, { schema, rules, integers, cursors = [] }: QueryRules<Name>): void {
  for (const name of Object.keys(rules) as Name[]) {
    const values = params.getAll(name)
    if (values.length > 1) throw new ValidationError(`${name} must be given at most once`)
    if (values.length === 0) continue
    const text = values[0]!
    const isInteger = integers.includes(name)
    if (cursors.includes(name) && text !== '' && !/^[\w-]+\.[\w-]+$/.test(text)) throw new ValidationError(rules[name])
    const value = isInteger ? Number(text) : text
    const property = schema.properties[name]
    if ((isInteger && !/^-?\d+$/.test(text)) || (property !== undefined && !Value.Check(property, value))) throw new ValidationError(rules[name])
  }
}
