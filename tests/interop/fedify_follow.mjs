// Interop check of Peiling against Fedify, an independent ActivityPub server.
//
// Run by tests/test_interop_fedify.py (it installs node_modules with `npm ci` if
// missing).  By hand: start a demo instance, then
//   cd tests/interop && npm ci && node fedify_follow.mjs @bieb@127.0.0.1:8000 http://127.0.0.1:8000
//
// Fedify serves an actor `fedi` on 127.0.0.1 (random port), looks us up by
// WebFinger, fetches and parses our actor, sends us a signed Follow and waits
// for our signed Accept, which its inbox verifies (signature checking stays on).
// Prints one JSON line on stdout; exits 0 only if every step worked.  Fedify's
// own log goes to stderr (FEDIFY_LOG_LEVEL=debug for more).

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { AsyncLocalStorage } from "node:async_hooks";
import { compareLogLevel, configure } from "@logtape/logtape";
import {
  Accept,
  createFederation,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  isActor,
  lookupWebFinger,
  MemoryKvStore,
  Person,
} from "@fedify/fedify";

const [handleArg, baseArg] = process.argv.slice(2);
const TIMEOUT_MS = Number(process.env.FEDIFY_TIMEOUT_MS ?? 20000);
const FEDIFY_PORT = Number(process.env.FEDIFY_PORT ?? 0);
const LOG_LEVEL = process.env.FEDIFY_LOG_LEVEL ?? "info";

const result = { ok: false, steps: {}, errors: [], fedify_version: null };
const started = Date.now();

function finish(ok, reason) {
  result.ok = ok;
  if (reason) result.reason = reason;
  result.elapsed_ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

if (!handleArg || !baseArg) {
  process.stderr.write("usage: node fedify_follow.mjs @user@host:port http://host:port\n");
  process.exit(2);
}

const base = new URL(baseArg);
const handle = handleArg.replace(/^@/, "");

// Fedify's log to stderr (stdout holds only the JSON result); the inbox's
// debug records also tell which check admitted our Accept.
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
const webfingerRewrites = [];
if (base.protocol === "http:") {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === "https:" && url.host === base.host &&
        url.pathname === "/.well-known/webfinger") {
      url.protocol = "http:";
      webfingerRewrites.push(url.href);
      return realFetch(url, init);
    }
    return realFetch(input, init);
  };
}

result.fedify_version = JSON.parse(await readFile(
  new URL("./node_modules/@fedify/fedify/package.json", import.meta.url), "utf8",
)).version;
result.node_version = process.version;

// RSA for HTTP Signatures (what we verify), Ed25519 so Fedify also attaches
// an Object Integrity Proof to the Follow, as Fedify-based servers do.
const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];
const IDENTIFIER = "fedi";
const following = new Map(); // our actor id -> { followId, state }
let settle;
const accepted = new Promise((resolve) => (settle = resolve));

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  allowPrivateAddress: true, // loopback: for tests only
  skipSignatureVerification: false,
  onOutboxError(error, activity) {
    result.errors.push({
      where: "outbox", activity: activity?.id?.href ?? null, error: String(error),
    });
    settle({ failed: `Fedify could not deliver to our inbox: ${error}` });
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

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (ctx, accept) => {
    // Reached only after Fedify verified the HTTP signature with our key.
    const object = await accept.getObject();
    const record = {
      id: accept.id?.href ?? null,
      actor: accept.actorId?.href ?? null,
      object_id: object?.id?.href ?? null,
      object_type: object?.constructor?.name ?? null,
      object_actor: object?.actorId?.href ?? null,
      object_object: object?.objectId?.href ?? null,
      verified_by: verification.filter((v) => !v.includes(" not ")),
    };
    result.steps.accept = record;
    const follow = following.get(record.actor);
    if (record.verified_by.length === 0) {
      settle({ failed: `Fedify admitted the Accept without verifying it: ${verification}` });
    } else if (follow == null) {
      settle({ failed: `Accept from an actor we did not follow: ${record.actor}` });
    } else if (!(object instanceof Follow) || record.object_id !== follow.followId) {
      settle({ failed: `Accept does not refer to our Follow ${follow.followId}` });
    } else if (record.object_actor !== ctx.getActorUri(IDENTIFIER).href ||
               record.object_object !== record.actor) {
      settle({ failed: "the accepted Follow's actor/object are not ours" });
    } else {
      follow.state = "accepted";
      settle({ ok: true });
    }
  })
  .onError((_ctx, error) => {
    result.errors.push({ where: "inbox", error: String(error) });
  });

// node:http <-> Fetch API, and a record of refused inbox requests.
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
        settle({ failed: `Fedify's inbox refused our POST: ${response.status} ${body}` });
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

const timer = setTimeout(() => {
  result.steps.following = Object.fromEntries(following);
  const done = Object.keys(result.steps).filter((k) => !["inbox_responses", "following"].includes(k));
  finish(false, `timed out after ${TIMEOUT_MS} ms; steps done: ${done.join(", ") || "none"}` +
    (result.steps.follow ? " (no Accept came)" : ""));
}, TIMEOUT_MS);

try {
  // 1. WebFinger, as Fedify does it for a handle (acct: URI).
  const jrd = await lookupWebFinger(`acct:${handle}`, { allowPrivateAddress: true });
  if (jrd == null) finish(false, `WebFinger lookup of acct:${handle} failed`);
  const self = jrd.links?.find((l) => l.rel === "self" &&
    (l.type === "application/activity+json" || l.type?.startsWith("application/ld+json")));
  result.steps.webfinger = {
    subject: jrd.subject, self: self?.href ?? null, rewrites: webfingerRewrites.length,
  };
  if (self == null) finish(false, "WebFinger answer has no ActivityPub self link");

  // 2. The handle resolved and our actor document parsed by Fedify's vocabulary.
  const actor = await ctx.lookupObject(`@${handle}`);
  if (actor == null) finish(false, `Fedify could not look up or parse @${handle}`);
  if (!isActor(actor)) finish(false, `@${handle} is a ${actor.constructor.name}, not an actor`);
  const key = await actor.getPublicKey();
  result.steps.actor = {
    id: actor.id?.href ?? null,
    type: actor.constructor.name,
    preferredUsername: actor.preferredUsername?.toString() ?? null,
    inbox: actor.inboxId?.href ?? null,
    sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers ?? null,
    key_id: key?.id?.href ?? null,
    key_owner: key?.ownerId?.href ?? null,
    key_algorithm: key?.publicKey?.algorithm?.name ?? null,
  };
  if (actor.id?.href !== self.href) finish(false, "actor id differs from the WebFinger self link");
  if (key?.publicKey == null) finish(false, "Fedify found no usable publicKey on our actor");
  if (key.ownerId?.href !== actor.id.href) finish(false, "our key's owner is not our actor");

  // 3. Follow, signed by Fedify and sent through its outbox queue.
  const followId = new URL(`${origin}/follows/${randomUUID()}`);
  following.set(actor.id.href, { followId: followId.href, state: "pending" });
  await ctx.sendActivity(
    { identifier: IDENTIFIER }, actor,
    new Follow({ id: followId, actor: me, object: actor.id, to: actor.id }),
  );
  result.steps.follow = { id: followId.href };

  // 4. Our Accept, verified by Fedify's inbox.
  const outcome = await accepted;
  clearTimeout(timer);
  result.steps.following = Object.fromEntries(following);
  if (!outcome.ok) finish(false, outcome.failed);

  // 5. Control: the same inbox refuses an unsigned Accept, so the one above
  //    was admitted on its signature.
  const probe = await federation.fetch(new Request(ctx.getInboxUri(IDENTIFIER), {
    method: "POST",
    headers: { "Content-Type": "application/activity+json" },
    body: JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${base.origin}/activities/${randomUUID()}`,
      type: "Accept", actor: actor.id.href, object: followId.href,
    }),
  }), { contextData: undefined });
  result.steps.unsigned_accept_status = probe.status;
  if (probe.status !== 401) {
    finish(false, `Fedify's inbox answered ${probe.status} to an unsigned Accept`);
  }
  server.close();
  finish(true);
} catch (error) {
  result.errors.push({ where: "script", error: String(error?.stack ?? error) });
  finish(false, String(error));
}
