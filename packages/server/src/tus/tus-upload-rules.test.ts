import { describe, expect, it } from 'vitest';
import { fail } from '../errors.ts';
import { fileRow, infoOf, NOW, owner, stranger, rejection, tusWithFakes, upload, uploadRow } from '../../test/support/tus-fakes.ts';
import { NEW_UPLOAD_ID } from './tus-store.ts';
import { knownMetadata, newUploadId } from './tus-upload-rules.ts';

describe('tus upload rules', () => {
  it('issues lower-case ids that can name an object in a bucket', () => {
    for (let i = 0; i < 20; i++) expect(newUploadId()).toMatch(NEW_UPLOAD_ID);
    expect(tusWithFakes().rules.newUploadId()).toBe('up_0000000000000000000000001');
  });

  describe('visible', () => {
    it("answers the caller's own upload", async () => {
      const { rules, uploads } = tusWithFakes();
      await uploads.insert(uploadRow());
      expect((await rules.visible(owner, uploadRow().id)).id).toBe(uploadRow().id);
    });

    it("is 404 for another account's upload, a token of another transfer, and an unknown id", async () => {
      const { rules, uploads } = tusWithFakes();
      await uploads.insert(uploadRow());
      expect(await rejection(rules.visible(stranger, uploadRow().id))).toEqual([404, 'not_found']);
      expect(await rejection(rules.visible({ ...owner, via: 'upload_token', transferId: 'tr_other' }, uploadRow().id))).toEqual([404, 'not_found']);
      expect(await rejection(rules.visible(owner, 'up_missing'))).toEqual([404, 'not_found']);
    });

    it('is 410 once an unfinished upload expired, but a finished one stays visible', async () => {
      const { rules, uploads, clock } = tusWithFakes();
      await uploads.insert(uploadRow());
      await uploads.insert(uploadRow({ id: 'up_done', completed_at: NOW.toISOString() }));
      clock.advance(3600_000 + 1);
      expect(await rejection(rules.visible(owner, uploadRow().id))).toEqual([410, 'upload_expired']);
      expect((await rules.visible(owner, 'up_done')).id).toBe('up_done');
    });
  });

  describe('parseTarget', () => {
    it('reads a declared file, or a new file by filename or by the names Uppy sends', () => {
      const { rules } = tusWithFakes();
      expect(rules.parseTarget({ transfer_id: 'tr_1', file_id: 'fl_1', filename: 'ignored' })).toEqual({ transferId: 'tr_1', fileId: 'fl_1' });
      expect(rules.parseTarget({ transfer_id: 'tr_1', filename: 'a.txt', filetype: 'text/plain', relativePath: 'docs' }))
        .toEqual({ transferId: 'tr_1', name: 'a.txt', contentType: 'text/plain', folder: 'docs' });
      expect(rules.parseTarget({ transfer_id: 'tr_1', name: 'b.txt', type: 'text/csv' })).toEqual({ transferId: 'tr_1', name: 'b.txt', contentType: 'text/csv', folder: undefined });
    });

    it('refuses metadata without transfer_id, or without file_id and filename (400 missing_metadata)', () => {
      const { rules } = tusWithFakes();
      for (const metadata of [undefined, {}, { filename: 'a' }, { transfer_id: 'tr_1' }] as (Record<string, string> | undefined)[]) {
        expect(() => rules.parseTarget(metadata)).toThrow(expect.objectContaining({ status: 400, code: 'missing_metadata' }));
      }
    });
  });

  describe('create', () => {
    it('records a new file by filename: declared now, and answered so a failed creation can take it back', async () => {
      const { rules, uploads, fileService } = tusWithFakes();
      const made = await rules.create(owner, upload('up_a', 10, { transfer_id: 'tr_open', filename: 'a.bin' }), 'single');
      expect(made).toEqual({ declaredFileId: 'fl_new1' });
      expect(fileService.declared).toEqual([{ transferId: 'tr_open', name: 'a.bin', size: 10, content_type: undefined, folder: undefined }]);
      expect(await uploads.find('up_a')).toMatchObject({
        user_id: owner.userId, transfer_id: 'tr_open', file_id: 'fl_new1', kind: 'single', size: 10,
        created_at: NOW.toISOString(), expires_at: new Date(NOW.getTime() + 3600_000).toISOString(), completed_at: null,
      });
    });

    it('fills a declared file of the same size, and declares nothing', async () => {
      const { rules, uploads, files } = tusWithFakes();
      files.add(fileRow());
      expect(await rules.create(owner, upload('up_a', 10, { transfer_id: 'tr_open', file_id: 'fl_declared' }), 'single')).toEqual({ declaredFileId: null });
      expect((await uploads.find('up_a'))?.file_id).toBe('fl_declared');
    });

    it('refuses a declared file of another size, a complete one, or one of another transfer', async () => {
      const { rules, files, uploads } = tusWithFakes();
      files.add(fileRow());
      files.add(fileRow({ id: 'fl_done', state: 'complete' }));
      files.add(fileRow({ id: 'fl_elsewhere', transfer_id: 'tr_other' }));
      const create = (fileId: string, size: number | undefined) => rules.create(owner, upload('up_a', size, { transfer_id: 'tr_open', file_id: fileId }), 'single');
      expect(await rejection(create('fl_declared', 11))).toEqual([400, 'size_mismatch']);
      expect(await rejection(create('fl_declared', undefined))).toEqual([400, 'validation_failed']);
      expect(await rejection(create('fl_done', 10))).toEqual([409, 'file_complete']);
      expect(await rejection(create('fl_elsewhere', 10))).toEqual([404, 'not_found']);
      expect(uploads.rows.size).toBe(0);
    });

    it('with a deferred length, checks the name now and declares the file only at the end', async () => {
      const { rules, uploads, files, fileService } = tusWithFakes();
      files.add(fileRow({ name: 'taken.bin' }));
      expect(await rules.create(owner, upload('up_a', undefined, { transfer_id: 'tr_open', filename: 'new.bin' }), 'single')).toEqual({ declaredFileId: null });
      expect(await uploads.find('up_a')).toMatchObject({ transfer_id: 'tr_open', file_id: null, size: null });
      expect(fileService.declared).toEqual([]);
      expect(await rejection(rules.create(owner, upload('up_b', undefined, { transfer_id: 'tr_open', filename: 'taken.bin' }), 'single'))).toEqual([400, 'duplicate_file_name']);
      expect(await rejection(rules.create(owner, upload('up_c', undefined, { transfer_id: 'tr_open', filename: '..' }), 'single'))).toEqual([400, 'invalid_file_name']);
    });

    it('refuses a closed transfer before recording anything', async () => {
      const { rules, uploads } = tusWithFakes();
      expect(await rejection(rules.create(owner, upload('up_a', 10, { transfer_id: 'tr_final', filename: 'a.bin' }), 'single'))).toEqual([409, 'transfer_finalized']);
      expect(uploads.rows.size).toBe(0);
    });

    it('a partial upload reserves its room and belongs to no file', async () => {
      const { rules, uploads, reservation, fileService } = tusWithFakes();
      expect(await rules.create({ ...owner, transferId: 'tr_open' }, upload('up_p', 300), 'partial')).toEqual({ declaredFileId: null });
      expect(reservation.asked).toEqual([300]);
      expect(fileService.declared).toEqual([]);
      expect(await uploads.find('up_p')).toMatchObject({ kind: 'partial', transfer_id: 'tr_open', file_id: null, size: 300 });
      reservation.full = fail.storage_full();
      expect(await rejection(rules.create(owner, upload('up_q', 300), 'partial'))).toEqual([507, 'storage_full']);
      expect(await uploads.find('up_q')).toBeUndefined();
    });
  });

  describe('checkLengthDeclaration', () => {
    const deferred = uploadRow({ size: null, info: infoOf({ transfer_id: 'tr_open', filename: 'a.bin' }) });

    it('sets a length once, never below the bytes received', async () => {
      const { rules } = tusWithFakes();
      expect(await rejection(rules.checkLengthDeclaration(owner, uploadRow({ size: 10 }), 20, 0))).toEqual([400, 'length_already_set']);
      expect(await rejection(rules.checkLengthDeclaration(owner, deferred, 5, 6))).toEqual([409, 'length_below_offset']);
    });

    it("checks a new file's length against the plan and the disk now", async () => {
      const { rules, reservation } = tusWithFakes();
      await rules.checkLengthDeclaration(owner, deferred, 500, 100);
      expect(reservation.asked).toEqual([500]);
      expect(await rejection(rules.checkLengthDeclaration(owner, deferred, 5000, 100))).toEqual([413, expect.any(String)]);
      reservation.full = fail.storage_full();
      expect(await rejection(rules.checkLengthDeclaration(owner, deferred, 600, 100))).toEqual([507, 'storage_full']);
    });
  });

  it('names the file an upload declared by filename, not one declared beforehand', () => {
    const { rules } = tusWithFakes();
    expect(rules.declaredBy(uploadRow({ file_id: 'fl_1', info: infoOf({ transfer_id: 'tr_open', filename: 'a' }) }))).toBe('fl_1');
    expect(rules.declaredBy(uploadRow({ file_id: 'fl_1', info: infoOf({ transfer_id: 'tr_open', file_id: 'fl_1' }) }))).toBeNull();
    expect(rules.declaredBy(uploadRow({ file_id: null, info: infoOf({ transfer_id: 'tr_open', filename: 'a' }) }))).toBeNull();
    expect(rules.declaredBy(uploadRow({ file_id: 'fl_1', info: null }))).toBeNull();
  });

  it('keeps only the metadata keys Ferry reads', () => {
    expect(knownMetadata({ transfer_id: 't', filename: 'f', filetype: 'x', name: 'n', type: 'y', relativePath: 'r', file_id: 'i', color: 'red', __proto__x: 'z' }))
      .toEqual({ transfer_id: 't', filename: 'f', filetype: 'x', name: 'n', type: 'y', relativePath: 'r', file_id: 'i' });
    expect(knownMetadata(undefined)).toEqual({});
  });
});
