import { describe, expect, it } from 'vitest';
import { fail } from '../errors.ts';
import { fileRow, infoOf, NOW, owner, rejection, stranger, tusWithFakes, upload, uploadRow } from '../../test/support/tus-fakes.ts';
import type { TusConcatenation } from './tus-concatenation.ts';
import type { FerryTusStore } from './tus-store.ts';
import { TusService, type ChunkHeaders, type Concat, type SendToTus, type TusCall } from './tus-service.ts';

const ID = uploadRow().id;

/** The tus service over fakes; `sent` records what was handed to the library. */
function setup() {
  const fakes = tusWithFakes();
  const joined: { ids: string[]; finalId: string }[] = [];
  const concatenation: Pick<TusConcatenation, 'finalize'> = {
    finalize: async (_principal, ids, _metadata, finalId) => {
      joined.push({ ids, finalId });
      return fileRow({ id: 'fl_joined', size: 30, state: 'complete' });
    },
  };
  const service = new TusService(fakes.uploads, fakes.rules, fakes.completion, concatenation, fakes.store as unknown as FerryTusStore);
  const sent: { call: TusCall; concat?: Concat }[] = [];
  const send: SendToTus = async (call, concat) => {
    sent.push({ call, concat });
  };
  return { ...fakes, service, sent, send, joined };
}

const chunk = (changes: Partial<ChunkHeaders> = {}) => () => ({ offset: 0, empty: false, ...changes });

describe('tus service', () => {
  describe('HEAD', () => {
    it('answers a finished upload itself: the library forgot it', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow({ completed_at: NOW.toISOString(), file_id: 'fl_1' }));
      expect(await service.head(owner, ID, send)).toEqual({ size: 10, concat: undefined });
      expect(sent).toEqual([]);
    });

    it('answers a final upload with the partials it joined', async () => {
      const { service, uploads, send } = setup();
      await uploads.insert(uploadRow({ kind: 'final', completed_at: NOW.toISOString(), concat: JSON.stringify(['up_a', 'up_b']), size: 30 }));
      expect(await service.head(owner, ID, send)).toEqual({ size: 30, concat: { kind: 'final', partials: ['up_a', 'up_b'] } });
    });

    it('hands an unfinished upload to the library, a partial one with Upload-Concat: partial', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow());
      await uploads.insert(uploadRow({ id: 'up_p', kind: 'partial' }));
      expect(await service.head(owner, ID, send)).toBeNull();
      expect(await service.head(owner, 'up_p', send)).toBeNull();
      expect(sent).toEqual([{ call: { principal: owner }, concat: undefined }, { call: { principal: owner }, concat: { kind: 'partial' } }]);
    });

    it("is 404 for another account's upload, and nothing reaches the library", async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow());
      expect(await rejection(service.head(stranger, ID, send))).toEqual([404, 'not_found']);
      expect(sent).toEqual([]);
    });
  });

  describe('PATCH', () => {
    it('refuses a final upload (403) before reading the chunk headers', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow({ kind: 'final', completed_at: NOW.toISOString() }));
      const unread = () => {
        throw new Error('chunk headers read');
      };
      expect(await rejection(service.patch(owner, ID, unread, send))).toEqual([403, 'final_upload']);
      expect(sent).toEqual([]);
    });

    it('answers an empty PATCH at the end of a finished upload, and refuses any other (409 upload_complete)', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow({ completed_at: NOW.toISOString() }));
      expect(await service.patch(owner, ID, chunk({ offset: 10, empty: true }), send)).toEqual({ size: 10 });
      expect(await rejection(service.patch(owner, ID, chunk({ offset: 10 }), send))).toEqual([409, 'upload_complete']);
      expect(await rejection(service.patch(owner, ID, chunk({ offset: 0, empty: true }), send))).toEqual([409, 'upload_complete']);
      expect(sent).toEqual([]);
    });

    it('refuses bytes into a transfer that no longer takes them', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow({ transfer_id: 'tr_final' }));
      expect(await rejection(service.patch(owner, ID, chunk(), send))).toEqual([409, 'transfer_finalized']);
      expect(sent).toEqual([]);
    });

    it('checks a declared length against the bytes the store holds', async () => {
      const { service, uploads, store, send, sent } = setup();
      await uploads.insert(uploadRow({ size: null, info: infoOf({ transfer_id: 'tr_open', filename: 'a.bin' }) }));
      store.offsets.set(ID, 8);
      expect(await rejection(service.patch(owner, ID, chunk({ offset: 8, length: 7 }), send))).toEqual([409, 'length_below_offset']);
      expect(sent).toEqual([]);
    });

    it('hands the chunk to the library with its checksum', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow());
      const checksum = { algorithm: 'sha1' as const, digest: Buffer.alloc(20), header: 'Upload-Checksum' };
      expect(await service.patch(owner, ID, chunk({ checksum }), send)).toBeNull();
      expect(sent).toEqual([{ call: { principal: owner, checksum }, concat: undefined }]);
    });
  });

  describe('creation', () => {
    const refused = fail.checksum_mismatch('no');

    it('a creation the library refuses after making the upload leaves nothing: no record, no bytes, no declared file', async () => {
      const { service, uploads, files, store } = setup();
      const send: SendToTus = async (call) => {
        await service.onCreate(call, upload(ID, 10, { transfer_id: 'tr_open', filename: 'a.bin' }));
        throw refused;
      };
      await expect(service.create(owner, { kind: 'single' }, send)).rejects.toBe(refused);
      expect(uploads.rows.size).toBe(0);
      expect(store.forgotten).toEqual([ID]);
      expect(files.rows.size).toBe(0);
    });

    it('a creation refused before the upload was made discards nothing', async () => {
      const { service, store } = setup();
      await expect(service.create(owner, { kind: 'single' }, async () => Promise.reject(refused))).rejects.toBe(refused);
      expect(store.forgotten).toEqual([]);
    });

    it('the creation hook records the kind asked for and keeps only the metadata Ferry reads', async () => {
      const { service, uploads, sent } = setup();
      const send: SendToTus = async (call) => {
        sent.push({ call });
        expect(await service.onCreate(call, upload(ID, 5, { color: 'red' }))).toEqual({});
      };
      await service.create({ ...owner, transferId: 'tr_open' }, { kind: 'partial' }, send);
      expect((await uploads.find(ID))?.kind).toBe('partial');
      expect(sent[0]!.call).toMatchObject({ kind: 'partial', created: { uploadId: ID, declaredFileId: null } });
    });

    it('hooks refuse to run without a caller', async () => {
      const { service } = setup();
      await expect(service.onCreate({ principal: null }, upload(ID, 5))).rejects.toThrow('without a caller');
      await expect(service.onFinish({ principal: null }, upload(ID, 5))).rejects.toThrow('without a caller');
    });
  });

  it('a final upload is joined without the library, under a new upload id', async () => {
    const { service, joined } = setup();
    const result = await service.joinFinal(owner, ['up_a', 'up_b'], {});
    expect(joined).toEqual([{ ids: ['up_a', 'up_b'], finalId: 'up_0000000000000000000000001' }]);
    expect(result).toEqual({ uploadId: 'up_0000000000000000000000001', size: 30, fileId: 'fl_joined' });
  });

  describe('termination', () => {
    it('refuses a finished upload (409): it belongs to its file', async () => {
      const { service, uploads, send, sent } = setup();
      await uploads.insert(uploadRow({ completed_at: NOW.toISOString() }));
      expect(await rejection(service.terminate(owner, ID, send))).toEqual([409, 'upload_complete']);
      expect(sent).toEqual([]);
    });

    it('takes the file the upload declared by filename with it, once the library removed the upload', async () => {
      const { service, uploads, files, send } = setup();
      files.add(fileRow({ id: 'fl_new' }));
      await uploads.insert(uploadRow({ file_id: 'fl_new', info: infoOf({ transfer_id: 'tr_open', filename: 'a.bin' }) }));
      await service.terminate(owner, ID, send);
      expect(await files.findById('fl_new')).toBeUndefined();
    });

    it('keeps the file when the library refuses the termination', async () => {
      const { service, uploads, files } = setup();
      files.add(fileRow({ id: 'fl_new' }));
      await uploads.insert(uploadRow({ file_id: 'fl_new', info: infoOf({ transfer_id: 'tr_open', filename: 'a.bin' }) }));
      await expect(service.terminate(owner, ID, async () => Promise.reject(fail.upload_locked('busy')))).rejects.toThrow('busy');
      expect(await files.findById('fl_new')).toBeDefined();
    });
  });

  it('an expired upload loses its bytes and the file it declared, not a file declared beforehand', async () => {
    const { service, files, store } = setup();
    files.add(fileRow({ id: 'fl_new' }));
    files.add(fileRow({ id: 'fl_declared' }));
    await service.expire(uploadRow({ file_id: 'fl_new', info: infoOf({ transfer_id: 'tr_open', filename: 'a.bin' }) }));
    await service.expire(uploadRow({ id: 'up_b', file_id: 'fl_declared', info: infoOf({ transfer_id: 'tr_open', file_id: 'fl_declared' }) }));
    expect(store.forgotten).toEqual([ID, 'up_b']);
    expect(await files.findById('fl_new')).toBeUndefined();
    expect(await files.findById('fl_declared')).toBeDefined();
  });
});
