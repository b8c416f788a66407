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
// counts it reads.  With FEDIFY_AWAIT_CLOSE=1 it then prints {"tallied": true} and
// waits for the final Update(Question) that says the poll closed (the caller
// closes it).  The last stdout line is one JSON result; exits 0 only if every step
// worked.  Fedify's own log goes to stderr (FEDIFY_LOG_LEVEL=debug).

import { randomUUID } from "node:crypto";
import {
  Accept,
  Create,
  Follow,
  isActor,
  Note,
  PUBLIC_COLLECTION,
  Question,
  Update,
} from "@fedify/fedify";
import {
  activityRecord, createPeerFederation, IDENTIFIER, serve, setUp,
} from "./fedify_peer.mjs";

const TIMEOUT_MS = Number(process.env.FEDIFY_TIMEOUT_MS ?? 40000);
const VOTE = process.env.FEDIFY_VOTE ?? "Eens";
const AWAIT_CLOSE = process.env.FEDIFY_AWAIT_CLOSE === "1";
const REPLY_HTML = "<p>Eens, interessant</p>";

const { result, finish, handle, verification } = await setUp("fedify_poll.mjs");

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
const closed = stage();
function failAll(reason) {
  for (const s of [accepted, created, tallied, closed]) s.settle({ failed: reason });
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

const federation = await createPeerFederation({
  result,
  onOutboxError(error, activity) {
    failAll(`Fedify could not deliver ${activity?.id?.href} to our inbox: ${error}`);
  },
});

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (ctx, accept) => {
    const object = await accept.getObject();
    result.steps.accept = {
      ...activityRecord(accept),
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
      ...activityRecord(create),
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
      ...activityRecord(update),
      object_type: object?.constructor?.name ?? null,
      verified_by: verifiedBy(),
    };
    (result.steps.updates ??= []).push(record);
    if (!(object instanceof Question)) {
      tallied.settle({ failed: `our Update carries a ${record.object_type}, not a Question` });
      return;
    }
    record.question = await readQuestion(object);
    // The tally we wait for is the one that counts our vote; then the final one.
    if (record.question.voters >= 1) tallied.settle({ ok: true });
    if (record.question.closed != null) closed.settle({ ok: true });
  })
  .onError((_ctx, error) => {
    result.errors.push({ where: "inbox", error: String(error?.stack ?? error) });
  });

const { server, origin, ctx, me } = await serve(federation, { result, onRefused: failAll });

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
  if (!tally.ok) finish(false, tally.failed);

  // 5. On request, the final Update once the caller has closed the poll.
  if (AWAIT_CLOSE) {
    process.stdout.write(JSON.stringify({ tallied: true }) + "\n");
    const end = await closed.promise;
    if (!end.ok) finish(false, end.failed);
  }
  clearTimeout(timer);
  server.close();
  finish(true);
} catch (error) {
  result.errors.push({ where: "script", error: String(error?.stack ?? error) });
  finish(false, String(error));
}
