import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_RECIPIENTS, RECIPIENTS_CEILING } from '../../domain/transfer-rules.ts';
import { fail } from '../../errors.ts';
import { Data, errorResponses, IdParam, Page, PageQuery } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const RecipientRef = Type.Ref('Recipient');
const TransferParams = IdParam('id', 'tr');
const RecipientParams = Type.Object({ ...TransferParams.properties, rid: IdParam('rid', 'rcp').properties.rid });
const Email = Type.String({ minLength: 1, maxLength: 320 });

const AddBody = Type.Object(
  {
    email: Type.Optional(Email),
    emails: Type.Optional(Type.Array(Email, { minItems: 1, maxItems: RECIPIENTS_CEILING })),
  },
  { additionalProperties: false, description: 'One address as `email`, or several as `emails` (not both).' },
);

const ReceiptQuery = Type.Object(
  {
    ...PageQuery,
    recipient_id: Type.Optional(Type.String({ pattern: '^rcp_[0-9a-zA-Z]{22}$' })),
    kind: Type.Optional(Type.Union([Type.Literal('page_view'), Type.Literal('file'), Type.Literal('zip')])),
  },
  { additionalProperties: false },
);

/** A transfer's recipients (each with a link of their own) and the receipts of its links. */
export function recipientRoutes(server: FastifyInstance, { services, presenter }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['recipients'];

  app.get('/api/v1/transfers/:id/recipients', {
    config: { auth: { scope: 'transfers:read' } },
    schema: {
      tags,
      operationId: 'listRecipients',
      summary: "List a transfer's recipients with their status and links",
      description: 'Live recipients, oldest first. Removed recipients are not listed; their receipts stay.',
      params: TransferParams,
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
      response: { 200: Page(RecipientRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0 } = request.query;
    const rows = await services.recipients.list(request.principal!.userId, request.params.id);
    return { data: rows.slice(offset, offset + limit).map((r) => presenter.recipient(r)), pagination: { limit, offset, total: rows.length } };
  });

  app.post('/api/v1/transfers/:id/recipients', {
    config: { auth: { scope: 'transfers:write' } },
    schema: {
      tags,
      operationId: 'addRecipients',
      summary: 'Add recipients to a transfer',
      description:
        `Each new address gets its own link; one already there is answered as it is (201 when any was added, else 200). ` +
        `A transfer has at most FERRY_MAX_RECIPIENTS_PER_TRANSFER recipients (default ${MAX_RECIPIENTS}) (400 validation_failed past that, nothing added). New recipients of a ready ` +
        'transfer are emailed their link; of one still uploading, once it is finalized.',
      params: TransferParams,
      body: AddBody,
      response: { 200: Data(Type.Array(RecipientRef)), 201: Data(Type.Array(RecipientRef)), ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const { email, emails } = request.body;
    const given = email !== undefined && emails === undefined ? [email] : emails !== undefined && email === undefined ? emails : null;
    if (given === null) throw fail.validation_failed('Give either `email` or `emails`.');
    const { recipients, created } = await services.recipients.add(request.principal!.userId, request.params.id, given);
    return reply.code(created > 0 ? 201 : 200).send({ data: recipients.map((r) => presenter.recipient(r)) });
  });

  app.delete('/api/v1/transfers/:id/recipients/:rid', {
    config: { auth: { scope: 'transfers:write' } },
    schema: {
      tags,
      operationId: 'removeRecipient',
      summary: 'Remove a recipient',
      description: 'Their link answers 404 from now on. Their receipts stay.',
      params: RecipientParams,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await services.recipients.remove(request.principal!.userId, request.params.id, request.params.rid);
    return reply.code(204).send(null);
  });

  app.post('/api/v1/transfers/:id/recipients/:rid/resend', {
    config: { auth: { scope: 'transfers:write' } },
    schema: {
      tags,
      operationId: 'resendRecipientEmail',
      summary: 'Email a recipient their link again',
      description: 'Queued: the answer does not wait for the mail server; email_status shows pending until it is sent. 409 transfer_not_ready before the transfer is finalized.',
      params: RecipientParams,
      response: { 202: Data(RecipientRef), ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const recipient = await services.recipients.resend(request.principal!.userId, request.params.id, request.params.rid);
    return reply.code(202).send({ data: presenter.recipient(recipient) });
  });

  app.get('/api/v1/transfers/:id/receipts', {
    config: { auth: { scope: 'transfers:read' } },
    schema: {
      tags,
      operationId: 'listReceipts',
      summary: 'Visits and downloads through the links of a transfer',
      description:
        'Newest first. One receipt per page visit and per download (a file or the ZIP, whole or a range) through the shared link ' +
        '(recipient null) or a recipient\'s link; the owner\'s own downloads are not receipts. `completed` says whether every byte ' +
        'reached the client.',
      params: TransferParams,
      querystring: ReceiptQuery,
      response: { 200: Page(Type.Ref('Receipt')), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, recipient_id: recipientId, kind } = request.query;
    const { rows, total } = await services.receipts.list(request.principal!.userId, request.params.id, { limit, offset, recipientId, kind });
    return { data: rows.map((r) => presenter.receipt(r)), pagination: { limit, offset, total } };
  });
}
