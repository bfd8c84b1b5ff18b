/**
 * The `uploads` tag's description in /openapi.json and /docs: the four ways to upload, each with
 * an example to copy. Kept beside the OpenAPI setup so the document explains the flows, not just
 * the routes.
 */
export const UPLOADS_TAG_DESCRIPTION = `
Four ways to upload; all end in the same verified file (SHA-256 and CRC-32 computed while
streaming, declared size enforced, nothing visible until whole). \`POST /api/v1/transfers\` answers
an \`upload_token\` (\`fyu_...\`, shown once) that grants uploads into that transfer only.

**1. tus 1.0** at \`/api/v1/uploads\` (resumable, parallel via concatenation, checksums):

    META="transfer_id $(printf %s "$TID" | base64 -w0),filename $(printf video.mp4 | base64 -w0)"
    curl -i -X POST $BASE/api/v1/uploads -H "Authorization: Bearer $KEY" -H 'Tus-Resumable: 1.0.0' \\
      -H "Upload-Length: $(stat -c %s video.mp4)" -H "Upload-Metadata: $META"      # -> Location
    curl -X PATCH "$LOCATION" -H "Authorization: Bearer $KEY" -H 'Tus-Resumable: 1.0.0' \\
      -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 0' --data-binary @video.mp4

**2. Signed part URLs** (WeTransfer style): declare the file, then for n = 1..multipart.part_numbers

    URL=$(curl -s $BASE/api/v1/transfers/$TID/files/$FID/upload-url/$N -H "Authorization: Bearer $KEY" | jq -r .data.url)
    curl -T part.$N "$URL"                                   # no credentials; any order; retries overwrite
    # with S3 storage the URL is a presigned S3 UploadPart URL: the bytes go straight to the bucket
    curl -X PUT $BASE/api/v1/transfers/$TID/files/$FID/upload-complete -H "Authorization: Bearer $KEY"

**3. Chunks** (Trinsfer style): the transfer turns ready by itself when the last chunk arrives.

    curl -X POST $BASE/api/v1/upload-chunk -H "X-Token: $UPLOAD_TOKEN" -H 'X-File-Id: backup-1' \\
      -H 'X-Chunk-Index: 0' -H 'X-Total-Chunks: 1' -H 'X-File-Name: backup.zip' \\
      -H "X-File-Size: $(stat -c %s backup.zip)" -H 'Content-Type: application/octet-stream' --data-binary @backup.zip

**4. One request** (transfer.sh habit): answers the link.

    curl -T ./report.pdf -H "Authorization: Bearer $KEY" $BASE/
`.trim();
