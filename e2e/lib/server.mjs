// Starts the real `dealerpay` binary for one test file: seeds the demo data, serves on a free
// loopback port, captures the JSON-lines log, and stops it again on teardown.
//
//   DEALERPAY_BIN       the binary (default: $CARGO_TARGET_DIR or ~/.cache/dealerpay-target, debug)
//   E2E_DB              sqlite (default) or postgres
//   E2E_DATABASE_URL    for postgres: the database URL (scripts/e2e passes one with a fresh schema);
//                       without it a schema is created (and dropped) here for this file alone
//   DEALERPAY_TEST_POSTGRES_URL  the PostgreSQL server for that schema
//   E2E_KEY_FILE        the server's secret key file (default: one in the file's temp dir);
//                       servers sharing one database should share it

import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** A free TCP port on 127.0.0.1 (bound, read, closed, reused). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function randomHex(bytes = 16) {
  return randomBytes(bytes).toString('hex');
}

function binary() {
  if (process.env.DEALERPAY_BIN) return process.env.DEALERPAY_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'dealerpay-target');
  return path.join(target, 'debug', 'dealerpay');
}

function postgresBase() {
  return process.env.DEALERPAY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
}

/** The URL of `base` with `search_path` set to `schema`. */
export function withSearchPath(base, schema) {
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}options=-c%20search_path%3D${schema}`;
}

async function psql(sql) {
  // psql accepts a URL as the database name; the query part it does not know is dropped.
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', postgresBase().split('?')[0], '-c', sql]);
}

/** Picks the database for one server; returns { url, cleanup }. */
async function database(dir) {
  const kind = process.env.E2E_DB || 'sqlite';
  if (kind === 'sqlite') {
    return { kind, url: `sqlite://${path.join(dir, 'e2e.db')}`, cleanup: async () => {} };
  }
  if (kind !== 'postgres') throw new Error(`E2E_DB must be sqlite or postgres, not ${kind}`);
  if (process.env.E2E_DATABASE_URL) {
    return { kind, url: process.env.E2E_DATABASE_URL, cleanup: async () => {} };
  }
  const schema = `e2e_${randomHex(6)}`;
  await psql(`CREATE SCHEMA ${schema}`);
  return {
    kind,
    url: withSearchPath(postgresBase(), schema),
    cleanup: () => psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

/** Runs `dealerpay <args>` to completion; returns stdout (stderr goes into the error). */
async function runBinary(args, env, cwd) {
  try {
    const { stdout } = await run(binary(), args, { env, cwd, timeout: 60_000, maxBuffer: 1 << 20 });
    return stdout;
  } catch (e) {
    throw new Error(`dealerpay ${args[0]} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

async function waitUntilReady(base, child, logText) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`dealerpay serve exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${await logText()}`);
    }
    try {
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`dealerpay serve was not ready within ${READY_TIMEOUT_MS} ms:\n${await logText()}`);
}

/**
 * Starts a seeded server. The result:
 *   base           http://127.0.0.1:<port>
 *   url(path)      base + path
 *   operatorToken  the operator's bearer token
 *   demo           the `demo --json` object (dealer, invoice, payment request of "Demo Motors")
 *   dir            the temp dir (database, key file, log)
 *   log()          everything the server wrote so far (stdout + stderr)
 *   admin(args)    runs `dealerpay admin …args` against the server's database; its stdout
 *   stop()         SIGTERM, wait, clean up
 */
export async function startServer() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dealerpay-e2e-'));
  const db = await database(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const operatorToken = randomHex(16);
  const env = {
    ...process.env,
    DEALERPAY_OPERATOR_TOKEN: operatorToken,
    DEALERPAY_LOG: 'info',
    // Keep every file the server makes in the temp dir, also for PostgreSQL.
    DEALERPAY_KEY_FILE: process.env.E2E_KEY_FILE || path.join(dir, 'dealerpay.key'),
  };
  delete env.DATABASE_URL;
  delete env.DEALERPAY_PUBLIC_URL;
  delete env.DEALERPAY_LISTEN;

  const common = ['--database', db.url, '--public-url', base];
  const demo = JSON.parse(await runBinary(['demo', '--json', ...common], env, dir));

  const logPath = path.join(dir, 'server.log');
  const logFile = createWriteStream(logPath);
  // The test shop runs on http://127.0.0.1: allow http merchant URLs to this machine.
  const child = spawn(binary(), ['serve', ...common, '--listen', `127.0.0.1:${port}`, '--allow-http-loopback-urls'], {
    env,
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(logFile, { end: false });
  child.stderr.pipe(logFile, { end: false });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const log = () => readFile(logPath, 'utf8').catch(() => '');

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => logFile.end(resolve));
    if (process.env.E2E_KEEP_TMP) {
      process.stderr.write(`e2e: kept ${dir}\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
    await db.cleanup();
  }

  try {
    await waitUntilReady(base, child, log);
  } catch (e) {
    await stop();
    throw e;
  }
  // The log is read after stop() removed the dir only if a test asks late; keep a copy then.
  let finalLog = null;
  return {
    base,
    url: (p) => new URL(p, base).toString(),
    operatorToken,
    demo,
    dir,
    database: db,
    admin: (args) => runBinary(['admin', ...common, ...args], env, dir),
    async log() {
      return finalLog ?? log();
    },
    async stop() {
      finalLog = await log();
      await stop();
    },
  };
}
