#!/usr/bin/env node
// Starts s3rver for tests: `node s3rver_launch.js <data dir> <bucket>[,<bucket>...] [port]`.
// Binds 127.0.0.1 (port 0 = any free port), creates the buckets, prints "LISTENING <port>" on
// stdout once it accepts connections, and exits when stdin closes, so a test that dies can never
// leave a server behind. Pagination in ListObjectsV2 needs NODE_OPTIONS=--openssl-legacy-provider
// (s3rver's continuation tokens use DES); the callers set it.
'use strict';

const path = require('path');
const S3rver = require(path.join(__dirname, 'node_modules', 's3rver'));

const [dir, buckets = 'bucket', port = '0'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: s3rver_launch.js <data dir> <bucket>[,<bucket>...] [port]');
  process.exit(2);
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: buckets.split(',').filter(Boolean).map(name => ({ name })),
});

server
  .run()
  .then(({ port: bound }) => {
    process.stdout.write(`LISTENING ${bound}\n`);
  })
  .catch(err => {
    console.error('s3rver failed to start:', err && err.message);
    process.exit(1);
  });

function stop() {
  server.close().finally(() => process.exit(0));
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
