// The Node suites' server (kafka-js, console): a real `strait dev` on free loopback ports in a temporary directory,
// ready once /healthz answers 200, stopped by PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export async function startStrait(prefix = 'strait-node-') {
  const bin = process.env.STRAIT_BIN;
  if (!bin) throw new Error('STRAIT_BIN must point at a built strait binary (run.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const [kafka, aws, admin] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dir, 'strait.log');
  const log = openSync(logPath, 'a');
  const proc = spawn(bin, ['dev', '--data-dir', join(dir, 'data'), '--kafka-addr', `127.0.0.1:${kafka}`,
    '--aws-addr', `127.0.0.1:${aws}`, '--admin-addr', `127.0.0.1:${admin}`], { stdio: ['ignore', log, log] });
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
  return {
    bootstrap: `127.0.0.1:${kafka}`,
    aws: `http://127.0.0.1:${aws}`,
    admin: `http://127.0.0.1:${admin}`,
    dir,
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      if (proc.exitCode === null) {
        process.kill(proc.pid, 'SIGTERM');
        await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
