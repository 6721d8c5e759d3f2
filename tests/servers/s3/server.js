// An S3 server that checks SigV4 signatures, for the tests only: listens on
// 127.0.0.1 (port 0 = a free one), keeps its objects in DIR, creates BUCKET,
// prints "s3rver listening on PORT" once ready, and stops on SIGTERM.
// Usage: node server.js DIR PORT BUCKET   (keys: S3RVER / S3RVER)
// Run it with `node --openssl-legacy-provider`: s3rver makes its
// continuation tokens with DES, which OpenSSL 3 has only as a legacy cipher.
'use strict'
const S3rver = require('@20minutes/s3rver')
const FilesystemStore = require('@20minutes/s3rver/lib/stores/filesystem')

// s3rver 5.0.0 prunes its walk below a common prefix, so a "folder" whose
// objects all sit in sub-folders (a/b/c with delimiter "/" from "") is never
// listed, unlike on S3. List every key under the prefix instead and group
// them here, as S3 does.
const listObjects = FilesystemStore.prototype.listObjects
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const { delimiter = '', prefix = '', maxKeys = Infinity } = options
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity })
  const commonPrefixes = new Set()
  const objects = []
  let isTruncated = false
  for (const object of all.objects) {
    const idx = delimiter ? object.key.slice(prefix.length).indexOf(delimiter) : -1
    if (idx !== -1) {
      commonPrefixes.add(object.key.slice(0, prefix.length + idx + 1))
    } else if (objects.length < maxKeys) {
      objects.push(object)
    } else {
      isTruncated = true
      break
    }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated }
}

const [dir, port, bucket] = process.argv.slice(2)
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port || 0),
  directory: dir,
  silent: !process.env.S3RVER_LOG,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket || 'testbucket' }],
})

// S3's own errors (NoSuchKey, SignatureDoesNotMatch) are answers; anything
// else is a fault of the server that the tests report.
const S3Error = require('@20minutes/s3rver/lib/models/error')
server.on('error', (err) => {
  if (!(err instanceof S3Error)) {
    process.stderr.write(`s3rver internal error: ${err.stack || err}\n`)
  }
})

server.run().then(
  (addr) => {
    process.stdout.write(`s3rver listening on ${addr.port}\n`)
  },
  (err) => {
    process.stderr.write(`s3rver: ${err.stack || err}\n`)
    process.exit(1)
  }
)

const stop = () => server.close().finally(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
