/** Small S3 helpers shared by activities and the simulator. */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';

export async function putObject(s3: S3Client, bucket: string, key: string, body: string | Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return res.Body.transformToByteArray();
}

export async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  return Buffer.from(await getObjectBytes(s3, bucket, key)).toString('utf8');
}

export interface ListedObject { key: string; size: number; etag: string; lastModified?: Date }

export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, ''), lastModified: o.LastModified });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const keys = (await listObjects(s3, bucket, prefix)).map((o) => o.key);
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }));
  }
  return keys.length;
}
