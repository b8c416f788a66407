// Interop check of Peiling's polls against Fedify, an independent ActivityPub server.
//
// Run by tests/test_interop_fedify_poll.py.  By hand: start a demo instance with
// background workers, then
//   cd tests/interop && npm ci && node fedify_poll.mjs @bieb@127.0.0.1:8000 http://127.0.0.1:8000
// and publish a poll once the script prints {"followed": true}.
//
// Fedify serves an actor `fedi` on 127.0.0.1 (random port), follows us (as in
// fedify_follow.mjs) and prints {"followed": true} once our Accept came.  It then
// waits for our Create(Question) (signature verified by Fedify's inbox), parses
// it with Fedify's vocabulary, votes on it the way Mastodon does (a Create of a
// Note whose `name` is the option and `inReplyTo` the Question), sends a reply
// (a public Note with content), and waits for our tally Update(Question), whose
// counts it reads.  The last stdout line is one JSON result; exits 0 only if
// every step worked.  Fedify's own log goes to stderr (FEDIFY_LOG_LEVEL=debug).

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { AsyncLocalStorage } from "node:async_hooks";
import { compareLogLevel, configure } from "@logtape/logtape";
import {
  Accept,
  Create,
  createFederation,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  isActor,
  MemoryKvStore,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Question,
  Update,
} from "@fedify/fedify";

const [handleArg, baseArg] = process.argv.slice(2);
const TIMEOUT_MS = Number(process.env.FEDIFY_TIMEOUT_MS ?? 40000);
const FEDIFY_PORT = Number(process.env.FEDIFY_PORT ?? 0);
const LOG_LEVEL = process.env.FEDIFY_LOG_LEVEL ?? "info";
const VOTE = process.env.FEDIFY_VOTE ?? "Eens";
const REPLY_HTML = "<p>Eens, interessant</p>";

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
  process.stderr.write("usage: node fedify_poll.mjs @user@host:port http://host:port\n");
  process.exit(2);
}

const base = new URL(baseArg);
const handle = handleArg.replace(/^@/, "");

// Fedify's log to stderr (stdout holds only the JSON lines); the inbox's debug
// records also tell which check admitted each of our activities.
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
// those WebFinger requests over http.
if (base.protocol === "http:") {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === "https:" && url.host === base.host &&
        url.pathname === "/.well-known/webfinger") {
      url.protocol = "http:";
      return realFetch(url, init);
    }
    return realFetch(input, init);
  };
}

result.fedify_version = JSON.parse(await readFile(
  new URL("./node_modules/@fedify/fedify/package.json", import.meta.url), "utf8",
)).version;
result.node_version = process.version;

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];
const IDENTIFIER = "fedi";
let ourActor = null; // our actor, as Fedify parsed it
let followId = null;

// One promise per stage; the inbox listeners settle them.
function stage() {
  let settle;
  const promise = new Promise((resolve) => (settle = resolve));
  return { promise, settle };
}
const accepted = stage();
const created = stage();
const tallied = stage();
function failAll(reason) {
  for (const s of [accepted, created, tallied]) s.settle({ failed: reason });
}

function verifiedBy() {
  const found = verification.filter((v) => !v.includes(" not "));
  verification.length = 0;
  return found;
}

function text(value) {
  return value == null ? null : value.toString();
}

// A Question as Fedify's vocabulary reads it: options and their counts.
async function readQuestion(question) {
  const options = async (iterable) => {
    const found = [];
    for await (const option of iterable) {
      const replies = await option.getReplies?.();
      found.push({
        type: option.constructor.name,
        name: text(option.name),
        totalItems: replies?.totalItems ?? null,
      });
    }
    return found;
  };
  return {
    type: question.constructor.name,
    id: question.id?.href ?? null,
    attribution: question.attributionId?.href ?? null,
    content: text(question.content),
    endTime: question.endTime?.toString() ?? null,
    closed: question.closed == null ? null : question.closed.toString(),
    voters: question.voters,
    exclusive: await options(question.getExclusiveOptions()),
    inclusive: await options(question.getInclusiveOptions()),
    to: question.toIds.map((u) => u.href),
    cc: question.ccIds.map((u) => u.href),
  };
}

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  allowPrivateAddress: true, // loopback: for tests only
  skipSignatureVerification: false,
  onOutboxError(error, activity) {
    result.errors.push({
      where: "outbox", activity: activity?.id?.href ?? null, error: String(error),
    });
    failAll(`Fedify could not deliver ${activity?.id?.href} to our inbox: ${error}`);
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
    const object = await accept.getObject();
    result.steps.accept = {
      id: accept.id?.href ?? null,
      actor: accept.actorId?.href ?? null,
      object_id: object?.id?.href ?? null,
      verified_by: verifiedBy(),
    };
    if (!(object instanceof Follow) || object.id?.href !== followId?.href) {
      accepted.settle({ failed: `Accept does not refer to our Follow ${followId}` });
    } else {
      accepted.settle({ ok: true });
    }
  })
  .on(Create, async (ctx, create) => {
    // Reached only after Fedify verified the HTTP signature with our key.
    const object = await create.getObject();
    const record = {
      id: create.id?.href ?? null,
      actor: create.actorId?.href ?? null,
      object_type: object?.constructor?.name ?? null,
      verified_by: verifiedBy(),
    };
    (result.steps.creates ??= []).push(record);
    if (!(object instanceof Question)) {
      created.settle({ failed: `our Create carries a ${record.object_type}, not a Question` });
      return;
    }
    record.question = await readQuestion(object);
    created.settle({ ok: true, question: object });
  })
  .on(Update, async (ctx, update) => {
    const object = await update.getObject();
    const record = {
      id: update.id?.href ?? null,
      actor: update.actorId?.href ?? null,
      object_type: object?.constructor?.name ?? null,
      verified_by: verifiedBy(),
    };
    (result.steps.updates ??= []).push(record);
    if (!(object instanceof Question)) {
      tallied.settle({ failed: `our Update carries a ${record.object_type}, not a Question` });
      return;
    }
    record.question = await readQuestion(object);
    // The tally we wait for is the one that counts our vote.
    if (record.question.voters >= 1) tallied.settle({ ok: true });
  })
  .onError((_ctx, error) => {
    result.errors.push({ where: "inbox", error: String(error?.stack ?? error) });
  });

// node:http <-> Fetch API, and a record of every inbox POST.
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
        failAll(`Fedify's inbox refused our POST: ${response.status} ${body}`);
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
  const done = Object.keys(result.steps).filter((k) => k !== "inbox_responses");
  finish(false, `timed out after ${TIMEOUT_MS} ms; steps done: ${done.join(", ") || "none"}`);
}, TIMEOUT_MS);

try {
  // 1. Look us up and follow us; wait for our Accept.
  ourActor = await ctx.lookupObject(`@${handle}`);
  if (ourActor == null || !isActor(ourActor)) finish(false, `Fedify could not look up @${handle}`);
  followId = new URL(`${origin}/follows/${randomUUID()}`);
  await ctx.sendActivity(
    { identifier: IDENTIFIER }, ourActor,
    new Follow({ id: followId, actor: me, object: ourActor.id, to: ourActor.id }),
  );
  result.steps.follow = { id: followId.href };
  const accept = await accepted.promise;
  if (!accept.ok) finish(false, accept.failed);
  process.stdout.write(JSON.stringify({ followed: true }) + "\n");

  // 2. Our Create(Question), parsed by Fedify.
  const creation = await created.promise;
  if (!creation.ok) finish(false, creation.failed);
  const questionId = creation.question.id;

  // 3. A vote as Mastodon sends it, then a reply.
  const voteId = new URL(`${origin}/users/${IDENTIFIER}#votes/1`);
  await ctx.sendActivity(
    { identifier: IDENTIFIER }, ourActor,
    new Create({
      id: new URL(`${voteId.href}/activity`),
      actor: me,
      to: ourActor.id,
      object: new Note({
        id: voteId, attribution: me, name: VOTE, replyTarget: questionId, to: ourActor.id,
      }),
    }),
  );
  result.steps.vote = { id: voteId.href, name: VOTE, inReplyTo: questionId.href };
  const replyId = new URL(`${origin}/notes/${randomUUID()}`);
  await ctx.sendActivity(
    { identifier: IDENTIFIER }, ourActor,
    new Create({
      id: new URL(`${replyId.href}/activity`),
      actor: me,
      tos: [PUBLIC_COLLECTION, ourActor.id],
      object: new Note({
        id: replyId, attribution: me, content: REPLY_HTML, replyTarget: questionId,
        tos: [PUBLIC_COLLECTION, ourActor.id],
      }),
    }),
  );
  result.steps.reply = { id: replyId.href, content: REPLY_HTML };

  // 4. Our tally Update(Question) that counts the vote.
  const tally = await tallied.promise;
  clearTimeout(timer);
  if (!tally.ok) finish(false, tally.failed);
  server.close();
  finish(true);
} catch (error) {
  result.errors.push({ where: "script", error: String(error?.stack ?? error) });
  finish(false, String(error));
}
