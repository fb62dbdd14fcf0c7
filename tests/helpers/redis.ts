// A real redis-server for a test: Debian's binary (tests/system-deps.sh installs it) on 127.0.0.1 at a
// free port, no persistence, stopped when the test ends.
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { TestContext } from 'node:test';

export interface TestRedis {
  url: string;
  port: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Answers true once the server replies PONG to a PING. */
async function pongs(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

/** A redis-server of its own for a benchmark or a test; `stop` kills it. */
export async function launchRedis(): Promise<TestRedis & { stop: () => void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const stop = (): void => void child.kill('SIGKILL');
  for (let tries = 0; tries < 100; tries++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await pongs(port)) return { url: `redis://127.0.0.1:${port}`, port, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stop();
  throw new Error('redis-server did not answer PING within 5 s');
}

export async function startRedis(t: TestContext): Promise<TestRedis> {
  const redis = await launchRedis();
  t.after(redis.stop);
  return redis;
}
