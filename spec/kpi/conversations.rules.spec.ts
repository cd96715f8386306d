// Unit specs of the pure domain rules.
import { describe, expect, test } from 'bun:test'
import { UnauthorizedError } from '../../src/errors.ts'
import {
  chatDuration,
  clampPage,
  clampPageSize,
  createdRange,
  defaultSince,
  defaultUntil,
  isKpiTracker,
  parseAttributeTime,
  parseVbetAccountIds,
  scopeAccountIds,
  statusWord,
  toConversationItem,
  type ConversationRecord,
} from '../../src/kpi/conversations.rules.ts'

const yaml = (value: string) => `--- !ruby/hash:ActiveSupport::HashWithIndifferentAccess\nvalue: ${value}\n`
const t = (iso: string) => ({ kind: 'time', date: new Date(iso) }) as const

describe('clampPageSize', () => {
  test.each([
    [undefined, 20],
    [1, 1],
    [0, 1],
    [-7, 1],
    [20, 20],
    [1000, 1000],
    [1001, 1000],
    [1e20, 1000],
  ])('%p -> %p', (input, expected) => expect(clampPageSize(input)).toBe(expected))
})

describe('clampPage', () => {
  test.each([
    [undefined, 1],
    [0, 1],
    [-3, 1],
    [1, 1],
    [42, 42],
  ])('%p -> %p', (input, expected) => expect(clampPage(input)).toBe(expected))
})

describe('defaults of since and until', () => {
  test('since: the start (UTC) of the day 100 calendar years before today, the same all day long', () => {
    expect(defaultSince(new Date('2026-01-20T12:34:56.789Z'))).toBe(Date.parse('1926-01-20T00:00:00Z') / 1000)
    // Stable within a day, so caches and page continuation work for requests without since.
    for (const time of ['2026-01-20T00:00:00Z', '2026-01-20T00:00:01Z', '2026-01-20T23:59:59.999Z']) {
      expect(defaultSince(new Date(time))).toBe(Date.parse('1926-01-20T00:00:00Z') / 1000)
    }
    expect(defaultSince(new Date('2026-01-21T00:00:00Z'))).toBe(Date.parse('1926-01-21T00:00:00Z') / 1000)
  })
  test('since on 29 February goes to 1 March a century earlier when that year has none', () => {
    expect(defaultSince(new Date('2024-02-29T10:00:00Z'))).toBe(Date.parse('1924-02-29T00:00:00Z') / 1000)
    expect(defaultSince(new Date('2000-02-29T10:00:00Z'))).toBe(Date.parse('1900-03-01T00:00:00Z') / 1000)
  })
  test('until: the last second of today, UTC', () => {
    expect(defaultUntil(new Date('2026-01-20T00:00:00Z'))).toBe(Date.parse('2026-01-20T23:59:59Z') / 1000)
    expect(defaultUntil(new Date('2026-01-20T23:59:59.999Z'))).toBe(Date.parse('2026-01-20T23:59:59Z') / 1000)
  })
})

describe('createdRange', () => {
  test('since is the first instant, until covers its whole second', () => {
    expect(createdRange(10, 20)).toEqual({ createdFrom: new Date(10_000), createdBefore: new Date(21_000) })
  })
})

describe('parseVbetAccountIds', () => {
  test.each([
    ['YAML string list', yaml("'3,5,7'"), [3, 5, 7]],
    ['YAML with spaces', yaml("' 3, 5 ,7 '"), [3, 5, 7]],
    ['YAML single number', yaml('3'), [3]],
    ['YAML plain list', yaml('3,5'), [3, 5]],
    ['YAML double quotes', yaml('"3,5"'), [3, 5]],
    ['YAML flow sequence', yaml('[3, 5]'), [3, 5]],
    ['YAML block sequence', '---\nvalue:\n- 3\n- 5\n', [3, 5]],
    ['YAML symbol key', '---\n:value: 3,5\n', [3, 5]],
    ['YAML with a comment', yaml('3,5 # main accounts'), [3, 5]],
    ['object string', { value: '3,5' }, [3, 5]],
    ['object number', { value: 3 }, [3]],
    ['object list', { value: [3, '5'] }, [3, 5]],
    ['duplicates once', { value: '3,3,5' }, [3, 5]],
    ['garbage entries ignored', { value: '3, abc, 5.5, -2, 0, 7' }, [3, 7]],
  ])('%s', (_name, stored, expected) => expect(parseVbetAccountIds(stored)).toEqual(expected))

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['empty YAML value', yaml("''")],
    ['YAML null', yaml('~')],
    ['YAML without value', '---\nother: 3\n'],
    ['a bare string that is not a mapping', '3,5'],
    ['empty object', {}],
    ['array', [3, 5]],
    ['number', 3],
  ])('%s allows no account', (_name, stored) => expect(parseVbetAccountIds(stored)).toEqual([]))
})

describe('isKpiTracker', () => {
  const email = 'kpi_tracker@vbet.com'
  test('a User with the email, in any ASCII letter case', () => {
    expect(isKpiTracker({ ownerType: 'User', userEmail: 'KPI_Tracker@VBET.com' }, email)).toBe(true)
  })
  test.each([
    ['unknown token', undefined],
    ['agent bot', { ownerType: 'AgentBot', userEmail: email }],
    ['platform app', { ownerType: 'PlatformApp', userEmail: email }],
    ['another user', { ownerType: 'User', userEmail: 'someone@vbet.com' }],
    ['user without email', { ownerType: 'User', userEmail: null }],
    ['a lookalike email', { ownerType: 'User', userEmail: 'kpi_tracker@vbet.com.evil' }],
    ['stray spaces (the stored email must be the configured one)', { ownerType: 'User', userEmail: 'KPI_Tracker@VBET.com ' }],
    ['KELVIN SIGN, which Unicode lowercases to k', { ownerType: 'User', userEmail: '\u212Api_tracker@vbet.com' }],
  ])('not: %s', (_name, owner) => expect(isKpiTracker(owner, email)).toBe(false))
})

describe('scopeAccountIds', () => {
  test('all allowlisted accounts without account_id', () => expect(scopeAccountIds([3, 5], undefined)).toEqual([3, 5]))
  test('the one account when allowlisted', () => expect(scopeAccountIds([3, 5], 5)).toEqual([5]))
  test('401 otherwise', () => expect(() => scopeAccountIds([3, 5], 4)).toThrow(UnauthorizedError))
  test('401 with an empty allowlist', () => expect(() => scopeAccountIds([], 3)).toThrow(UnauthorizedError))
  test('an empty allowlist reads nothing', () => expect(scopeAccountIds([], undefined)).toEqual([]))
})

describe('statusWord', () => {
  test.each([
    [0, 'open'],
    [1, 'resolved'],
    [2, 'pending'],
    [3, 'snoozed'],
    [4, 'unknown'],
    [-1, 'unknown'],
  ])('%p -> %p', (code, word) => expect(statusWord(code)).toBe(word as any))
})

describe('parseAttributeTime', () => {
  test.each([
    ['ISO Z', '2026-01-10T09:15:00Z', '2026-01-10T09:15:00.000Z'],
    ['ISO offset', '2026-01-10T11:15:00+02:00', '2026-01-10T09:15:00.000Z'],
    ['ISO offset without colon', '2026-01-10T11:15:00+0200', '2026-01-10T09:15:00.000Z'],
    ['ISO negative offset', '2026-01-10T04:15:00-05:00', '2026-01-10T09:15:00.000Z'],
    ['ISO fraction', '2026-01-10T09:15:00.123456Z', '2026-01-10T09:15:00.123Z'],
    ['no zone is UTC', '2026-01-10 09:15:00', '2026-01-10T09:15:00.000Z'],
    ['Ruby Time#to_s', '2026-01-10 09:15:00 UTC', '2026-01-10T09:15:00.000Z'],
    ['Ruby Time#to_s offset', '2026-01-10 11:15:00 +0200', '2026-01-10T09:15:00.000Z'],
    ['seconds number', 1768036500, '2026-01-10T09:15:00.000Z'],
    ['seconds string', '1768036500', '2026-01-10T09:15:00.000Z'],
    ['milliseconds number', 1768036500000, '2026-01-10T09:15:00.000Z'],
    ['milliseconds string', '1768036500000', '2026-01-10T09:15:00.000Z'],
    ['fractional seconds number', 1768036500.5, '2026-01-10T09:15:00.500Z'],
  ])('%s', (_name, value, iso) => {
    const parsed = parseAttributeTime(value)
    expect(parsed.kind).toBe('time')
    if (parsed.kind === 'time') expect(parsed.date.toISOString()).toBe(iso)
  })

  test.each([undefined, null, ''])('%p is absent', (value) => expect(parseAttributeTime(value)).toEqual({ kind: 'absent' }))

  // Each value wrapped in its own row: test.each spreads an array row into arguments.
  test.each(['not a date', '2026-02-30T00:00:00Z', '2026-13-01', '2026-01-10T25:00:00Z', 'NaN', true, {}, [], Infinity, '1e400', 1e20].map((value) => [value]))(
    '%p is malformed',
    (value) => expect(parseAttributeTime(value)).toEqual({ kind: 'malformed' }),
  )
})

describe('chatDuration', () => {
  const created = new Date('2026-01-10T08:30:00Z')
  test('from created_at without reopen_time', () => expect(chatDuration(t('2026-01-10T09:15:00Z'), { kind: 'absent' }, created)).toBe(2700))
  test('from reopen_time when there is one', () =>
    expect(chatDuration(t('2026-01-10T09:15:00Z'), t('2026-01-10T09:00:00Z'), created)).toBe(900))
  test('null without resolved_time', () => expect(chatDuration({ kind: 'absent' }, { kind: 'absent' }, created)).toBeNull())
  test('null with a malformed resolved_time', () => expect(chatDuration({ kind: 'malformed' }, { kind: 'absent' }, created)).toBeNull())
  test('null with a malformed reopen_time (the start is unknown)', () =>
    expect(chatDuration(t('2026-01-10T09:15:00Z'), { kind: 'malformed' }, created)).toBeNull())
  test('whole seconds between the shown times: 08:30:00.900 to 09:15:00.100 is 2700', () =>
    expect(chatDuration(t('2026-01-10T09:15:00.100Z'), { kind: 'absent' }, new Date('2026-01-10T08:30:00.900Z'))).toBe(2700))
  test('negative when the data says resolution came first (shown as it is, not hidden)', () =>
    expect(chatDuration(t('2026-01-10T08:00:00Z'), { kind: 'absent' }, created)).toBe(-1800))
})

describe('toConversationItem', () => {
  const record: ConversationRecord = {
    id: 101,
    displayId: 5,
    accountId: 3,
    createdAt: new Date('2026-01-10T08:30:00.250Z'),
    status: 1,
    additionalAttributes: { resolved_time: '2026-01-10T09:15:00Z', other: 'x' },
    assignee: { id: 7, name: 'Jane Smith', email: 'jane@example.com' },
    contact: { id: 55, identifier: 'ext-user-123' },
  }
  test('the documented item, in the documented key order', () => {
    const item = toConversationItem(record, ['urgent', 'billing'])
    expect(item).toEqual({
      id: 101,
      display_id: 5,
      account_id: 3,
      created_time: '2026-01-10T08:30:00Z',
      resolved_time: '2026-01-10T09:15:00Z',
      chat_duration: 2700,
      status: 'resolved',
      labels: ['urgent', 'billing'],
      assignee: { id: 7, name: 'Jane Smith', email: 'jane@example.com' },
      contact: { id: 55, identifier: 'ext-user-123' },
    })
    expect(Object.keys(item)).toEqual(['id', 'display_id', 'account_id', 'created_time', 'resolved_time', 'chat_duration', 'status', 'labels', 'assignee', 'contact'])
  })
  test('no assignee, no contact, no labels', () => {
    const item = toConversationItem({ ...record, assignee: null, contact: null, additionalAttributes: {} }, [])
    expect(item).toMatchObject({ resolved_time: null, chat_duration: null, labels: [], assignee: null, contact: null })
  })
})
