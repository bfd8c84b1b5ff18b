/**
 * Every event Ferry emits: the union of what the published APIs deliver plus Ferry's own.
 * Names are part of the public API (webhook subscriptions) and never change.
 */
export const EVENT_TYPES = [
  'transfer.created',
  'transfer.updated',
  'transfer.ready',
  'transfer.downloaded',
  'transfer.expired',
  'transfer.deleted',
  'transfer.password_failed',
  'file.uploaded',
  'file.downloaded',
  'recipient.opened',
  'recipient.downloaded',
  'file_request.received',
  'api_key.used',
  /** A speed test result is stored (POST /api/v1/speed-tests). */
  'speed_test.submitted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: string): value is EventType => (EVENT_TYPES as readonly string[]).includes(value);
