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

import { randomUUID } from "node:crypto";
import { Accept, Follow, isActor, lookupWebFinger } from "@fedify/fedify";
import {
  activityRecord, createPeerFederation, IDENTIFIER, serve, setUp,
} from "./fedify_peer.mjs";

const TIMEOUT_MS = Number(process.env.FEDIFY_TIMEOUT_MS ?? 20000);
const { result, finish, handle, base, verification, webfingerRewrites } =
  await setUp("fedify_follow.mjs");

const following = new Map(); // our actor id -> { followId, state }
let settle;
const accepted = new Promise((resolve) => (settle = resolve));

const federation = await createPeerFederation({
  result,
  onOutboxError(error) {
    settle({ failed: `Fedify could not deliver to our inbox: ${error}` });
  },
});

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (ctx, accept) => {
    // Reached only after Fedify verified the HTTP signature with our key.
    const object = await accept.getObject();
    const record = {
      ...activityRecord(accept),
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

const { server, origin, ctx, me } = await serve(federation, {
  result,
  onRefused(reason) {
    settle({ failed: reason });
  },
});

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
