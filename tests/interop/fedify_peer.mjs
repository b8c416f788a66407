// The Fedify side of the interop scripts (fedify_follow.mjs, fedify_poll.mjs):
// what both need before their own steps.
//
// setUp reads a script's arguments, makes the JSON result it prints, sends
// Fedify's log to stderr while collecting the inbox's verification records, and
// lets Fedify reach a plain-http demo instance by WebFinger.  createPeerFederation
// makes the Fedify actor `fedi`; the script adds its own inbox listeners (whose
// records may start with activityRecord), and serve puts it on 127.0.0.1.
// Nothing here runs on import; the environment read is FEDIFY_PORT (0: a random
// port) and FEDIFY_LOG_LEVEL (default info).

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { AsyncLocalStorage } from "node:async_hooks";
import { compareLogLevel, configure } from "@logtape/logtape";
import {
  createFederation,
  Endpoints,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
  Person,
} from "@fedify/fedify";

export const IDENTIFIER = "fedi";
const FEDIFY_PORT = Number(process.env.FEDIFY_PORT ?? 0);
const LOG_LEVEL = process.env.FEDIFY_LOG_LEVEL ?? "info";

// What every script does first.  `script` names it in the usage line.  Returns
// the result and `finish` (createResult), the handle and base URL (parseArgs),
// the inbox's verification records (configureLogging) and the WebFinger URLs
// rewritten to http (webfingerOverHttp).
export async function setUp(script) {
  const { result, finish } = createResult();
  const { handle, base } = parseArgs(script);
  const verification = await configureLogging();
  const webfingerRewrites = webfingerOverHttp(base);
  await recordVersions(result);
  return { result, finish, handle, base, verification, webfingerRewrites };
}

// The result object a script fills in, and `finish`, which prints it as one JSON
// line on stdout and exits (0 only if ok).
function createResult() {
  const result = { ok: false, steps: {}, errors: [], fedify_version: null };
  const started = Date.now();
  function finish(ok, reason) {
    result.ok = ok;
    if (reason) result.reason = reason;
    result.elapsed_ms = Date.now() - started;
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(ok ? 0 : 1);
  }
  return { result, finish };
}

// `node <script> @user@host:port http://host:port`; exits 2 with a usage line
// otherwise.
function parseArgs(script) {
  const [handleArg, baseArg] = process.argv.slice(2);
  if (!handleArg || !baseArg) {
    process.stderr.write(`usage: node ${script} @user@host:port http://host:port\n`);
    process.exit(2);
  }
  return { handle: handleArg.replace(/^@/, ""), base: new URL(baseArg) };
}

// Fedify's log to stderr (stdout holds only the JSON lines); the inbox's debug
// records also tell which check admitted each of our activities.  Returns the
// array those records are collected in ("... are verified." / "... are not
// verified."), for the script to read or empty.
async function configureLogging() {
  const verification = [];
  await configure({
    contextLocalStorage: new AsyncLocalStorage(),
    sinks: {
      stderr(record) {
        if (record.category[2] === "inbox" && record.level === "debug") {
          const text = record.message.filter((_, i) => i % 2 === 0).join("");
          if (/ are (not )?verified\.$/.test(text)) verification.push(text);
        }
        if (compareLogLevel(record.level, LOG_LEVEL) < 0) return;
        const msg = record.message.map((part, i) =>
          i % 2 === 0 ? part : (typeof part === "string" ? part : safeString(part))
        ).join("");
        process.stderr.write(`[${record.level}] ${record.category.join(".")}: ${msg}\n`);
      },
    },
    loggers: [
      { category: "fedify", sinks: ["stderr"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
  return verification;
}

function safeString(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// Fedify (like Mastodon) resolves acct: handles with https WebFinger only, and
// the demo instance speaks plain http on loopback: for our origin alone, send
// those WebFinger requests over http.  Everything else is fetched as given.
// Returns the list of rewritten URLs.
function webfingerOverHttp(base) {
  const rewrites = [];
  if (base.protocol === "http:") {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.protocol === "https:" && url.host === base.host &&
          url.pathname === "/.well-known/webfinger") {
        url.protocol = "http:";
        rewrites.push(url.href);
        return realFetch(url, init);
      }
      return realFetch(input, init);
    };
  }
  return rewrites;
}

// The installed Fedify's version and Node's, into the result.
async function recordVersions(result) {
  result.fedify_version = JSON.parse(await readFile(
    new URL("./node_modules/@fedify/fedify/package.json", import.meta.url), "utf8",
  )).version;
  result.node_version = process.version;
}

// A federation that serves the actor `fedi` (a Person) with its keys; the script
// adds its own inbox listeners.  A failed delivery to our inbox is recorded in
// result.errors, then handed to onOutboxError(error, activity).
export async function createPeerFederation({ result, onOutboxError }) {
  // RSA for HTTP Signatures (what we verify), Ed25519 so Fedify also attaches
  // an Object Integrity Proof to its activities, as Fedify-based servers do.
  const keyPairs = [
    await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
    await generateCryptoKeyPair("Ed25519"),
  ];
  const federation = createFederation({
    kv: new MemoryKvStore(),
    queue: new InProcessMessageQueue(),
    allowPrivateAddress: true, // loopback: for tests only
    skipSignatureVerification: false,
    onOutboxError(error, activity) {
      result.errors.push({
        where: "outbox", activity: activity?.id?.href ?? null, error: String(error),
      });
      onOutboxError(error, activity);
    },
  });

  federation
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== IDENTIFIER) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Fedify interop",
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        url: ctx.getActorUri(identifier),
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) => identifier === IDENTIFIER ? keyPairs : []);
  return federation;
}

// What an inbox listener records first about an activity it received.
export function activityRecord(activity) {
  return { id: activity.id?.href ?? null, actor: activity.actorId?.href ?? null };
}

// Serves the federation on 127.0.0.1 (node:http <-> Fetch API), recording every
// inbox POST in result.steps.inbox_responses; a refused one (status >= 400) is
// also handed to onRefused(reason).  Returns the server, its origin, a Fedify
// context on that origin and our actor's URI (`me`), the last two also in the
// result.
export async function serve(federation, { result, onRefused }) {
  const inboxResponses = [];
  result.steps.inbox_responses = inboxResponses;
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, `http://${req.headers.host}`);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
        else if (value != null) headers.set(name, value);
      }
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? Readable.toWeb(req) : undefined,
        duplex: hasBody ? "half" : undefined,
      });
      const response = await federation.fetch(request, { contextData: undefined });
      const body = Buffer.from(await response.arrayBuffer());
      if (req.method === "POST") {
        inboxResponses.push({
          path: url.pathname, status: response.status,
          body: response.status >= 400 ? body.toString("utf8").slice(0, 500) : undefined,
        });
        if (response.status >= 400) {
          onRefused(`Fedify's inbox refused our POST: ${response.status} ${body}`);
        }
      }
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(body);
    } catch (error) {
      result.errors.push({ where: "http", error: String(error?.stack ?? error) });
      res.writeHead(500).end();
    }
  });
  await new Promise((resolve) => server.listen(FEDIFY_PORT, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  result.fedify_origin = origin;
  const ctx = federation.createContext(new URL(origin), undefined);
  const me = ctx.getActorUri(IDENTIFIER);
  result.fedify_actor = me.href;
  return { server, origin, ctx, me };
}
