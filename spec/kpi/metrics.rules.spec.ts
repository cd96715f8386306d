// group_by, the order of groups, the dense period grid and the shape of a row.
import { describe, expect, test } from 'bun:test'
import { ValidationError } from '../../src/errors.ts'
import { compareLabels, emptyGroup, fillAndOrder, filledRowCount, parseGroupBy, toMetricsRow, type MetricsGroup } from '../../src/kpi/metrics.rules.ts'
import { distributionOf } from '../../src/kpi/metrics.stats.ts'

describe('group_by', () => {
  test('comma-separated keys in the order given, spaces around them ignored; empty is no grouping', () => {
    expect(parseGroupBy('day,account')).toEqual({ keys: ['day', 'account'], period: 'day', dimensions: ['account'] })
    expect(parseGroupBy(' label , week ')).toEqual({ keys: ['label', 'week'], period: 'week', dimensions: ['label'] })
    expect(parseGroupBy('')).toEqual({ keys: [], period: undefined, dimensions: [] })
    expect(parseGroupBy(undefined)).toEqual({ keys: [], period: undefined, dimensions: [] })
    expect(parseGroupBy('account,assignee,status,label,month').keys).toEqual(['account', 'assignee', 'status', 'label', 'month'])
  })

  test.each(['hour', 'day,day', 'day,week', 'account,,day', 'account,', 'Day', 'accounts'])('"%s" is refused (422)', (text) => {
    expect(() => parseGroupBy(text)).toThrow(ValidationError)
  })
})

const group = (keys: Partial<MetricsGroup>, conversations = 1): MetricsGroup => ({
  ...emptyGroup(keys, true),
  conversations,
  byStatus: [conversations, 0, 0, 0],
  chatDuration: distributionOf([60 * conversations]),
})

describe('order and the period grid', () => {
  test('labels in UTF-8 byte order (code points), not UTF-16 units', () => {
    expect(['𝒜', 'ﬃ', 'Z', 'a', 'é'].sort(compareLabels)).toEqual(['Z', 'a', 'é', 'ﬃ', '𝒜'])
  })

  test('by the keys in the order asked; ids ascending, statuses in code order, nulls last', () => {
    const grouping = parseGroupBy('status,assignee,label')
    const groups = [
      group({ status: 4, assignee: null, label: null }),
      group({ status: 1, assignee: { id: 9, name: 'B' }, label: 'b' }),
      group({ status: 1, assignee: null, label: 'a' }),
      group({ status: 1, assignee: { id: 2, name: 'A' }, label: null }),
      group({ status: 1, assignee: { id: 2, name: 'A' }, label: 'z' }),
      group({ status: 0, assignee: { id: 9, name: 'B' }, label: 'a' }),
    ]
    const ordered = fillAndOrder(grouping, 0, groups, true).map((g) => [g.status, g.assignee?.id ?? null, g.label])
    expect(ordered).toEqual([
      [0, 9, 'a'],
      [1, 2, 'z'],
      [1, 2, null],
      [1, 9, 'b'],
      [1, null, 'a'],
      [4, null, null],
    ])
  })

  test('dense: every period × every combination of the other keys that occurs, zeros where nothing happened', () => {
    const grouping = parseGroupBy('account,day')
    const groups = [group({ period: 0, accountId: 5 }, 2), group({ period: 2, accountId: 3 }, 4)]
    expect(filledRowCount(grouping, 3, groups)).toBe(6)
    const filled = fillAndOrder(grouping, 3, groups, false)
    expect(filled.map((g) => [g.accountId, g.period, g.conversations])).toEqual([
      [3, 0, 0],
      [3, 1, 0],
      [3, 2, 4],
      [5, 0, 2],
      [5, 1, 0],
      [5, 2, 0],
    ])
    expect(filled[1]!.firstResponse).toBeNull()
    expect(filled[1]!.chatDuration.count).toBe(0)
  })

  test('a period alone: every period, even with no conversation at all; other keys without conversations: no rows', () => {
    expect(fillAndOrder(parseGroupBy('week'), 3, [], true).map((g) => [g.period, g.conversations])).toEqual([[0, 0], [1, 0], [2, 0]])
    expect(fillAndOrder(parseGroupBy('week,label'), 3, [], true)).toEqual([])
    expect(filledRowCount(parseGroupBy('week'), 3, [])).toBe(3)
  })
})

describe('a row', () => {
  const periods = [{ startMs: 0, label: '1970-01-01T00:00:00+00:00' }]
  test('the asked keys in the API\'s column order, then counts and statistics', () => {
    const row = toMetricsRow(parseGroupBy('label,assignee,day,status,account'), periods, {
      ...group({ period: 0, accountId: 3, assignee: { id: 7, name: 'Jane Smith' }, status: 4, label: 'vip' }, 2),
      byStatus: [0, 1, 0, 0],
    })
    expect(Object.keys(row)).toEqual([
      'period_start', 'account_id', 'assignee_id', 'assignee_name', 'status', 'label',
      'conversations', 'resolved', 'open', 'pending', 'snoozed', 'chat_duration', 'first_response',
    ])
    expect(row).toMatchObject({ period_start: '1970-01-01T00:00:00+00:00', status: 'unknown', assignee_name: 'Jane Smith', resolved: 1, open: 0 })
  })

  test('only the keys asked; unassigned is null with a null name; first_response null when the column is missing', () => {
    const row = toMetricsRow(parseGroupBy('assignee'), periods, emptyGroup({ assignee: null }, false))
    expect(row).toEqual({
      assignee_id: null,
      assignee_name: null,
      conversations: 0, resolved: 0, open: 0, pending: 0, snoozed: 0,
      chat_duration: { count: 0, mean: null, p50: null, p90: null, p95: null, max: null },
      first_response: null,
    })
  })
})
