// Starts a real `strait dev` on free loopback ports and stops it by PID; builds Kinesis clients pointed at it.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export async function startStrait(env = {}) {
  const bin = process.env.STRAIT_BIN;
  if (!bin) throw new Error('STRAIT_BIN must point at a built strait binary (run.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'strait-kinesis-js-'));
  const [kafka, aws, admin] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dir, 'strait.log');
  const log = openSync(logPath, 'a');
  const proc = spawn(bin, ['dev', '--data-dir', join(dir, 'data'), '--kafka-addr', `127.0.0.1:${kafka}`,
    '--aws-addr', `127.0.0.1:${aws}`, '--admin-addr', `127.0.0.1:${admin}`],
  { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`strait exited early:\n${readFileSync(logPath, 'utf8')}`);
    try {
      const r = await fetch(`http://127.0.0.1:${admin}/healthz`);
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('strait did not become healthy in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoint = `http://127.0.0.1:${aws}`;
  return {
    endpoint,
    log: () => readFileSync(logPath, 'utf8'),
    // A client as a user configures one for a local endpoint. The Kinesis client's own default handler is already
    // NodeHttp2Handler (SubscribeToShard is an HTTP/2 event stream; over `http://` that is prior-knowledge h2c):
    // `http2: true` sets it explicitly with test timeouts, `http2: false` forces HTTP/1.1 with NodeHttpHandler.
    client({ http2 = true, accessKeyId = 'AKIDSTRAITJS', secretAccessKey = 'strait-js-secret' } = {}) {
      return new KinesisClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId, secretAccessKey },
        maxAttempts: 1,
        requestHandler: http2
          ? new NodeHttp2Handler({ requestTimeout: 60000, sessionTimeout: 60000 })
          : new NodeHttpHandler({ requestTimeout: 60000 }),
      });
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
      if (!process.env.STRAIT_KEEP_DATA) rmSync(dir, { recursive: true, force: true });
    },
  };
}
