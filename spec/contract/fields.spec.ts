// Contract: every payload field with its documented value, type and nullability.
import { describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { ConversationsPage } from '../../src/kpi/conversations.model.ts'
import { DIALECTS, localOnly, useDatabase } from '../setup.ts'
import { contractApp, conversations, EVERYTHING, type TestResponse } from '../helpers.ts'

localOnly('payload fields: exact values of every edge')

function item(response: TestResponse, id: number) {
  const found = response.body.payload.find((entry: { id: number }) => entry.id === id)
  if (!found) throw new Error(`conversation ${id} is not in the payload`)
  return found
}

for (const dialect of DIALECTS) {
  describe(`[${dialect}] payload fields`, () => {
    const ctx = useDatabase(dialect)
    const all = () => conversations(contractApp(ctx.connection), { ...EVERYTHING, page_size: 1000 })

    test('the API document\'s two example items come back exactly as documented', async () => {
      const response = await all()
      expect(response.status).toBe(200)
      expect(item(response, 101)).toEqual({
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
      expect(item(response, 102)).toEqual({
        id: 102,
        display_id: 6,
        account_id: 3,
        created_time: '2026-01-11T10:00:00Z',
        resolved_time: null,
        chat_duration: null,
        status: 'open',
        labels: [],
        assignee: null,
        contact: null,
      })
    })

    test('every response validates against the documented schema, keys in the documented order', async () => {
      const response = await all()
      expect(Value.Errors(ConversationsPage, response.body).First()).toBeUndefined()
      expect(Object.keys(response.body)).toEqual(['meta', 'payload'])
      expect(Object.keys(response.body.meta)).toEqual(['items_count', 'current_page', 'page_size'])
      for (const entry of response.body.payload) {
        expect(Object.keys(entry)).toEqual([
          'id', 'display_id', 'account_id', 'created_time', 'resolved_time', 'chat_duration', 'status', 'labels', 'assignee', 'contact',
        ])
      }
      expect(response.headers.get('content-type')).toStartWith('application/json')
    })

    test('chat_duration counts from reopen_time when there is one; resolved_time with an offset is shown in UTC', async () => {
      const entry = item(await all(), 103)
      expect(entry.resolved_time).toBe('2026-01-12T10:00:00Z')
      expect(entry.chat_duration).toBe(3600)
      expect(entry.status).toBe('pending')
    })

    test('resolved_time as Unix seconds (number) and Unix milliseconds (numeric string)', async () => {
      const response = await all()
      expect(item(response, 104)).toMatchObject({ resolved_time: '2026-01-13T10:00:00Z', chat_duration: 3600, status: 'snoozed' })
      expect(item(response, 105)).toMatchObject({ resolved_time: '2026-01-13T11:00:00Z', chat_duration: 7200, status: 'resolved' })
    })

    test('a malformed resolved_time gives null resolved_time and chat_duration, and the page still answers', async () => {
      const response = await all()
      expect(response.status).toBe(200)
      expect(item(response, 106)).toMatchObject({ resolved_time: null, chat_duration: null, status: 'resolved' })
    })

    test('fractional seconds are cut to the second, in created_time and resolved_time alike', async () => {
      const response = await all()
      expect(item(response, 107)).toMatchObject({ resolved_time: '2026-01-15T01:00:00Z', chat_duration: 3600 })
      expect(item(response, 104).created_time).toBe('2026-01-13T09:00:00Z')
    })

    test('a readable resolved_time with an unreadable reopen_time: resolved_time shown, chat_duration null', async () => {
      expect(item(await all(), 108)).toMatchObject({ resolved_time: '2026-01-15T07:30:00Z', chat_duration: null })
    })

    test('labels: only Conversation taggings in the labels context, in the order they were attached', async () => {
      const response = await all()
      expect(item(response, 101).labels).toEqual(['urgent', 'billing'])
      expect(item(response, 103).labels).toEqual(['vip', 'urgent', 'billing'])
      expect(item(response, 201).labels).toEqual(['spanish'])
    })

    test('assignee and contact: null email and null identifier are kept; ids that point at no row are null', async () => {
      const response = await all()
      expect(item(response, 103).assignee).toEqual({ id: 8, name: 'Aram Petrosyan', email: null })
      expect(item(response, 103).contact).toEqual({ id: 56, identifier: null })
      expect(item(response, 109)).toMatchObject({ assignee: null, contact: null })
    })

    test('status words for all four codes, and "unknown" for a code the platform does not define', async () => {
      const response = await all()
      expect([102, 101, 103, 104, 115].map((id) => item(response, id).status)).toEqual(['open', 'resolved', 'pending', 'snoozed', 'unknown'])
    })

    test('created_at written as ISO-8601 with T and Z reads as the same UTC time', async () => {
      expect(item(await all(), 114).created_time).toBe('2026-01-17T10:00:00Z')
    })
  })
}
