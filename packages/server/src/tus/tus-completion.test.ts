import { describe, expect, it } from 'vitest';
import { fileRow, infoOf, NOW, owner, rejection, tusWithFakes, upload, uploadRow } from '../../test/support/tus-fakes.ts';

const ID = uploadRow().id;

describe('tus completion', () => {
  describe('finish', () => {
    it('settles the bytes into the file, completes it, and keeps the record for HEAD', async () => {
      const { completion, uploads, files, store } = tusWithFakes();
      files.add(fileRow());
      await uploads.insert(uploadRow({ file_id: 'fl_declared', info: infoOf({ transfer_id: 'tr_open', file_id: 'fl_declared' }, 10) }));
      const file = await completion.finish(owner, upload(ID, 10, { transfer_id: 'tr_open', file_id: 'fl_declared' }));
      expect(store.settled).toEqual([ID]);
      expect(file).toMatchObject({ id: 'fl_declared', state: 'complete', sha256: 'f'.repeat(64), crc32: 42, storage_key: `files/settled-${ID}`, completed_at: NOW.toISOString() });
      expect(await uploads.find(ID)).toMatchObject({ completed_at: NOW.toISOString(), file_id: 'fl_declared', info: null });
    });

    it('declares a deferred-length file by name once its size is known', async () => {
      const { completion, uploads, fileService } = tusWithFakes();
      await uploads.insert(uploadRow({ file_id: null, size: null }));
      const file = await completion.finish(owner, upload(ID, 7, { transfer_id: 'tr_open', filename: 'late.bin' }));
      expect(fileService.declared).toEqual([expect.objectContaining({ transferId: 'tr_open', name: 'late.bin', size: 7 })]);
      expect(file).toMatchObject({ name: 'late.bin', state: 'complete' });
      expect((await uploads.find(ID))?.file_id).toBe(file!.id);
    });

    it('leaves a finished partial upload unfinished until a final upload joins it', async () => {
      const { completion, uploads, store } = tusWithFakes();
      await uploads.insert(uploadRow({ kind: 'partial', size: null, transfer_id: null }));
      expect(await completion.finish(owner, upload(ID, 25))).toBeNull();
      expect(await uploads.find(ID)).toMatchObject({ size: 25, completed_at: null });
      expect(store.settled).toEqual([]);
    });

    it('is 409 upload_terminated when the record is gone', async () => {
      const { completion } = tusWithFakes();
      expect(await rejection(completion.finish(owner, upload(ID, 10, { transfer_id: 'tr_open', filename: 'a' })))).toEqual([409, 'upload_terminated']);
    });

    it('checks the transfer again at the end: a finalized one takes no file', async () => {
      const { completion, uploads, files, store } = tusWithFakes();
      files.add(fileRow({ transfer_id: 'tr_final' }));
      await uploads.insert(uploadRow({ transfer_id: 'tr_final', file_id: 'fl_declared' }));
      expect(await rejection(completion.finish(owner, upload(ID, 10)))).toEqual([409, 'transfer_finalized']);
      expect(store.settled).toEqual([]);
      expect((await uploads.find(ID))?.completed_at).toBeNull();
    });

    it('loses to a file completed another way first: its settled bytes are deleted (409 file_complete)', async () => {
      const { completion, uploads, files, blobs } = tusWithFakes();
      files.add(fileRow());
      await uploads.insert(uploadRow({ file_id: 'fl_declared' }));
      const resolveThenWin = files.markComplete.bind(files);
      files.markComplete = async (id, result, now) => {
        await resolveThenWin(id, { sha256: 'other', crc32: 1, storage_key: 'files/other' }, now);
        return resolveThenWin(id, result, now);
      };
      expect(await rejection(completion.finish(owner, upload(ID, 10)))).toEqual([409, 'file_complete']);
      expect(blobs.deleted).toEqual([`files/settled-${ID}`]);
      expect((await files.findById('fl_declared'))?.storage_key).toBe('files/other');
      expect(await uploads.find(ID)).toMatchObject({ completed_at: NOW.toISOString(), info: null });
    });
  });

  describe('discard', () => {
    it('drops an unfinished upload, its bytes and the file it declared', async () => {
      const { completion, uploads, files, store } = tusWithFakes();
      files.add(fileRow({ id: 'fl_new' }));
      await uploads.insert(uploadRow({ file_id: 'fl_new' }));
      await completion.discard(ID, 'fl_new');
      expect(store.forgotten).toEqual([ID]);
      expect(await uploads.find(ID)).toBeUndefined();
      expect(await files.findById('fl_new')).toBeUndefined();
    });

    it('still drops the record and the file when the store cannot forget the bytes (its sweep will)', async () => {
      const { completion, uploads, files, store } = tusWithFakes();
      files.add(fileRow({ id: 'fl_new' }));
      await uploads.insert(uploadRow({ file_id: 'fl_new' }));
      store.failForget = true;
      await completion.discard(ID, 'fl_new');
      expect(await uploads.find(ID)).toBeUndefined();
      expect(await files.findById('fl_new')).toBeUndefined();
    });

    it('keeps a finished upload and a file that got its bytes', async () => {
      const { completion, uploads, files, store } = tusWithFakes();
      files.add(fileRow({ id: 'fl_new', state: 'complete' }));
      await uploads.insert(uploadRow({ file_id: 'fl_new', completed_at: NOW.toISOString() }));
      await completion.discard(ID, 'fl_new');
      expect(store.forgotten).toEqual([]);
      expect(await uploads.find(ID)).toBeDefined();
      expect(await files.findById('fl_new')).toBeDefined();
    });
  });
});
