// A query built and compiled once per shape; later calls of the same shape only fill in its values.
// Kysely builds a query as a tree of frozen nodes and compiles it to SQL on every call. For the
// page's ids (a union of one ordered scan per account) that was about a sixth of the service's CPU
// under the benchmark's load, and much of its garbage (docs/benchmarks-history.md, round four). The SQL stays
// Kysely's own: the query is built once with a placeholder where each value goes, compiled, and the
// places the placeholders took among the parameters are kept. Kysely has no prepared templates and
// no library adds them; this file is the whole of it.
import type { Compilable, CompiledQuery } from 'kysely'

/** Stands where a value goes while a template is built; Kysely binds it as a parameter like any value. */
class Placeholder {
  constructor(readonly name: string) {}
}

interface Template {
  readonly compiled: CompiledQuery
  /** For each parameter of the SQL, in order, the name of the value that goes there. */
  readonly slots: readonly string[]
}

/** How many shapes a connection keeps; beyond, a query of a new shape is compiled as before, every time. */
export const MAX_TEMPLATES = 512

export class QueryTemplates {
  readonly #templates = new Map<string, Template>()

  constructor(private readonly max = MAX_TEMPLATES) {}

  get size(): number {
    return this.#templates.size
  }

  /**
   * `build(values)` compiled, from the template of `shape` when there is one. `shape` must name
   * everything that changes the SQL text (never a value: values are parameters); `build` must put
   * every value of `values` into the query as a value, never into its text.
   * @throws {Error} when building the template shows a value written into the SQL text or left out.
   */
  compile<Values extends Record<string, unknown>, Row>(shape: string, values: Values, build: (values: Values) => Compilable<Row>): CompiledQuery<Row> {
    let template = this.#templates.get(shape)
    if (!template) {
      template = makeTemplate(shape, values, build as (values: Values) => Compilable<unknown>)
      if (this.#templates.size < this.max) this.#templates.set(shape, template)
    }
    return { ...template.compiled, parameters: template.slots.map((name) => values[name]) } as CompiledQuery<Row>
  }
}

function makeTemplate<Values extends Record<string, unknown>>(shape: string, values: Values, build: (values: Values) => Compilable<unknown>): Template {
  const placeholders = Object.fromEntries(Object.keys(values).map((name) => [name, new Placeholder(name)])) as unknown as Values
  const compiled = build(placeholders).compile()
  const slots = compiled.parameters.map((parameter) => {
    if (!(parameter instanceof Placeholder)) throw new Error(`query template ${shape}: a parameter that is not one of its values (${String(parameter)})`)
    return parameter.name
  })
  // A value missing from the parameters went into the SQL text (or nowhere): the template would
  // repeat the first call's value for every later call.
  const missing = Object.keys(values).filter((name) => !slots.includes(name))
  if (missing.length > 0) throw new Error(`query template ${shape}: ${missing.join(', ')} must be bound as parameters`)
  return { compiled, slots }
}
