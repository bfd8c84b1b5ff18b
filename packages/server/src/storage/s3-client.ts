import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Where the bucket lives and how to sign for it (FERRY_S3_*). */
export interface S3Settings {
  endpoint: string | null;
  bucket: string;
  region: string;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean;
}

/**
 * The client configuration every S3 user in Ferry shares (blob store, tus store, presigner).
 * Without explicit keys the SDK's default credential chain applies (env, profile, instance role).
 * Keep-alive sockets with a generous pool: a busy instance streams many objects at once.
 */
export function s3ClientConfig(settings: S3Settings): S3ClientConfig {
  muteSdkNodeVersionNotice();
  const agentOptions = { keepAlive: true, maxSockets: 256 };
  return {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
    // S3-compatible servers (radosgw among them) do not all support the newer default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: 5_000,
      // A socket silent this long fails its request (503) instead of holding a pooled socket forever.
      requestTimeout: 120_000,
    }),
  };
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client(s3ClientConfig(settings));
}

/**
 * On Node 20 the SDK warns once per process, as it builds its first client, that its releases
 * after January 2027 will need Node 22. Ferry supports Node 20.19 and pins the SDK in its lock
 * file, so that notice would only alarm operators at every start. It is turned off with the
 * variable AWS documents for this; an operator's own setting of it is kept.
 */
function muteSdkNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
