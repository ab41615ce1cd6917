#!/usr/bin/env python3
"""A tiny Image Skill client in Python, so conform's client mode is shown to
be language-neutral (argv, environment, stdout). It plays one release of the
public CLI: `--release V` (or IMAGE_SKILL_REFERENCE_VERSION) picks which
release's documented commands, required flags and defaults it follows (see
RELEASES below; default DEFAULT_RELEASE). Mirrors
examples/reference_client.rs for 0.1.9, including --strip-fragments (0.1.8's
bug).

`conform audit`'s tests build release histories from copies of this file with
BUILT_IN_FLAGS filled in, one behaviour per release:
  --strip-fragments      cut the #fragment off checkout URLs (0.1.8's bug)
  --charge-dry-runs      send `create --dry-run` as a real create
  --repair-from-handoff  a checkout_url without fragment is "repaired" from
                         checkout_handoff_url (wrong only against a server
                         that strips fragments)
  --fresh-retry-keys     replace every idempotency key with a fresh one, so a
                         retry charges again
  --crash / --hang       die on start / never answer"""

import http.client
import json
import os
import sys
import time
import urllib.parse


def fail(command, code, error_code, message):
    print(json.dumps({
        "ok": False, "command": command, "trace_id": "trace_client_local",
        "actor": None, "data": None, "warnings": [],
        "error": {"code": error_code, "message": message, "retryable": False},
    }))
    sys.exit(code)


# Flags this copy always behaves as if given (see the docstring).
BUILT_IN_FLAGS = []
FLAGS = ("--strip-fragments", "--json", "--charge-dry-runs", "--repair-from-handoff",
         "--fresh-retry-keys", "--crash", "--hang", "--dry-run", "--agent")

# The release this client plays when none is asked for.
DEFAULT_RELEASE = "0.1.9"

# What changed in the documented CLI, release by release (each cli.md):
# a feature is on from `since` and, with `until`, off from `until`.
RELEASES = {
    # 0.1.8 printed Stripe Checkout URLs fragment-stripped, as its docs said.
    "strips fragments": ("0.1.8", "0.1.9"),
    "credits fake-purchase": ("0.1.0", "0.1.11"),
    "credits methods": ("0.1.1", None),
    "claim request": ("0.1.37", None),
    "create --dry-run": ("0.1.7", None),
    "buy --provider stripe_x402": ("0.1.21", None),
    "status without a reference": ("0.1.28", None),
    "quote requires --payment-method": ("0.1.29", None),
    "required flags of 0.1.36": ("0.1.36", None),
    "signup requires --agent-contact": ("0.1.36", "0.1.37"),
}
# The rail a quote without --payment-method uses, by release.
QUOTE_DEFAULT_RAIL = [("0.1.0", None), ("0.1.11", "stripe_checkout"), ("0.1.29", None)]


def version(text):
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        fail("unknown", 2, "INVALID_ARGUMENTS", "--release wants a version like 0.1.29")


def has(release, feature):
    since, until = RELEASES[feature]
    return version(since) <= release and (until is None or release < version(until))


def default_rail(release):
    rail = None
    for since, value in QUOTE_DEFAULT_RAIL:
        if version(since) <= release:
            rail = value
    return rail


def option(args, name):
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def positional(args, at):
    """The argument at `at` if it is not a flag."""
    if len(args) > at and not args[at].startswith("--"):
        return args[at]
    return None


def require(command, args, flags):
    missing = [f for f in flags if option(args, f) is None]
    if missing:
        fail(command, 2, "INVALID_ARGUMENTS", "missing required flag " + missing[0])


def parse(args, release, flags):
    words = args[:2]
    quoted = lambda s: urllib.parse.quote(s, safe="")
    if words[:1] == ["whoami"]:
        return "whoami", "GET", "/v1/whoami", {}, None
    if words == ["usage", "quota"] or words[:1] == ["quota"]:
        return "usage quota", "GET", "/v1/quota", {}, None
    if words == ["models", "list"] or args[:1] == ["models"] and len(args) < 2:
        return "models list", "GET", "/v1/models", {}, None
    if words == ["models", "show"]:
        model = positional(args, 2) or fail("models show", 2, "INVALID_ARGUMENTS", "give a MODEL_ID")
        return "models show", "GET", "/v1/models/" + quoted(model), {}, None
    if words == ["capabilities", "list"] or args[:1] == ["capabilities"] and len(args) < 2:
        return "capabilities list", "GET", "/v1/capabilities", {}, None
    if words == ["jobs", "show"]:
        job = positional(args, 2) or fail("jobs show", 2, "INVALID_ARGUMENTS", "give a JOB_ID")
        return "jobs show", "GET", "/v1/jobs/" + quoted(job), {}, None
    if words == ["assets", "show"]:
        asset = positional(args, 2) or fail("assets show", 2, "INVALID_ARGUMENTS", "give an ASSET_ID")
        return "assets show", "GET", "/v1/assets/" + quoted(asset), {}, None
    if words == ["activity", "list"]:
        query = {k: option(args, "--" + k) for k in ("limit", "subject")}
        return "activity list", "GET", "/v1/activity", {k: v for k, v in query.items() if v}, None
    if words == ["activity", "show"]:
        ref = positional(args, 2) or fail("activity show", 2, "INVALID_ARGUMENTS", "give a REFERENCE")
        return "activity show", "GET", "/v1/activity/" + quoted(ref), {}, None
    if words[:1] == ["signup"]:
        if "--agent" not in flags:
            fail("signup", 2, "INVALID_ARGUMENTS", "signup needs --agent")
        needed = ["--agent-name", "--runtime"] if has(release, "required flags of 0.1.36") else []
        if has(release, "signup requires --agent-contact"):
            needed.append("--agent-contact")
        require("signup", args, needed)
        body = {"agent_name": option(args, "--agent-name") or "reference-client",
                "runtime": option(args, "--runtime") or "python"}
        contact = option(args, "--agent-contact") or option(args, "--human-email")
        if contact is not None:
            body["human_email"] = contact
        return "signup", "POST", "/v1/agent-signups", {}, body
    if words == ["claim", "request"] and has(release, "claim request"):
        require("claim request", args, ["--contact"])
        return "claim request", "POST", "/v1/agent-claims", {}, {"contact": option(args, "--contact")}
    if words == ["credits", "methods"] and has(release, "credits methods"):
        return "credits methods", "GET", "/v1/payment-methods", {}, None
    if words == ["credits", "packs"] and args[2:3] == ["list"]:
        return "credits packs list", "GET", "/v1/credit-packs", {}, None
    if words == ["credits", "quote"]:
        body = {}
        pack, credits = option(args, "--pack"), option(args, "--credits")
        if (pack is None) == (credits is None):
            fail("credits quote", 2, "INVALID_ARGUMENTS", "give exactly one of --pack and --credits")
        if pack is not None:
            body["pack_id"] = pack
        else:
            if not credits.isdigit():
                fail("credits quote", 2, "INVALID_ARGUMENTS", "--credits must be a whole number")
            body["credits"] = int(credits)
        method = option(args, "--payment-method")
        if method is None and has(release, "quote requires --payment-method"):
            fail("credits quote", 2, "INVALID_ARGUMENTS",
                 "--payment-method is required (see `credits methods --json`)")
        method = method or default_rail(release)
        if method is not None:
            body["payment_method"] = method
        if option(args, "--idempotency-key") is not None:
            body["idempotency_key"] = option(args, "--idempotency-key")
        return "credits quote", "POST", "/v1/credit-quotes", {}, body
    if words == ["credits", "buy"]:
        if has(release, "required flags of 0.1.36"):
            require("credits buy", args, ["--provider", "--quote-id", "--idempotency-key"])
        provider = option(args, "--provider") or "stripe"
        paths = {"stripe": "/v1/credit-purchases/stripe-checkout-sessions"}
        if has(release, "buy --provider stripe_x402"):
            paths["stripe_x402"] = "/v1/credit-purchases/stripe-x402-deposits"
        if provider not in paths:
            fail("credits buy", 2, "INVALID_ARGUMENTS", "--provider must be one of " + ", ".join(paths))
        return ("credits buy", "POST", paths[provider], {},
                {"quote_id": option(args, "--quote-id"), "idempotency_key": option(args, "--idempotency-key")})
    if words == ["credits", "status"]:
        refs = {k: option(args, "--" + k.replace("_", "-"))
                for k in ("quote_id", "payment_attempt_id", "checkout_session_id", "receipt_id")}
        refs = {k: v for k, v in refs.items() if v is not None}
        if not refs and has(release, "status without a reference"):
            # The balance, as `usage quota` shows it.
            return "credits status", "GET", "/v1/quota", {}, None
        if len(refs) != 1:
            fail("credits status", 2, "INVALID_ARGUMENTS", "give exactly one reference flag")
        return "credits status", "GET", "/v1/credit-purchases/status", refs, None
    if words == ["credits", "fake-purchase"] and has(release, "credits fake-purchase"):
        return ("credits fake-purchase", "POST", "/v1/credit-purchases", {},
                {"quote_id": option(args, "--quote-id"), "idempotency_key": option(args, "--idempotency-key")})
    if words[:1] == ["create"]:
        if "--dry-run" in flags and not has(release, "create --dry-run"):
            fail("create", 2, "INVALID_ARGUMENTS", "unknown flag --dry-run")
        body = {"prompt": option(args, "--prompt") or "a lighthouse at dusk", "intent": "explore",
                "aspect_ratio": "1:1", "max_estimated_usd_per_image": 0.05}
        # A dry run must spend nothing; --charge-dry-runs is the bug.
        body["dry_run"] = "--dry-run" in flags and "--charge-dry-runs" not in flags
        return "create", "POST", "/v1/create", {}, body
    fail(" ".join(words) or "unknown", 2, "INVALID_ARGUMENTS",
         "unknown command for release " + ".".join(map(str, release)))


def strip_record(record):
    if not isinstance(record, dict):
        return
    source = record.get("checkout_compact_url") or record.get("checkout_url") or record.get("fallback_checkout_url")
    if not isinstance(source, str):
        return
    compact = source.split("#", 1)[0]
    for key in ("checkout_compact_url", "checkout_url", "fallback_checkout_url"):
        if key in record:
            record[key] = compact


def repair_from_handoff(record):
    if not isinstance(record, dict):
        return
    url, handoff = record.get("checkout_url"), record.get("checkout_handoff_url")
    if isinstance(url, str) and "#" not in url and isinstance(handoff, str):
        record["checkout_url"] = handoff


def take_release(args):
    """`--release V` out of args, else the environment, else the default."""
    if "--release" in args:
        at = args.index("--release")
        if at + 1 >= len(args):
            fail("unknown", 2, "INVALID_ARGUMENTS", "--release needs a version")
        text = args[at + 1]
        del args[at:at + 2]
    else:
        text = os.environ.get("IMAGE_SKILL_REFERENCE_VERSION") or DEFAULT_RELEASE
    return version(text)


def main():
    args = BUILT_IN_FLAGS + sys.argv[1:]
    if "--crash" in args:
        raise RuntimeError("this release crashes on start")
    if "--hang" in args:
        time.sleep(3600)
    release = take_release(args)
    strip = "--strip-fragments" in args or has(release, "strips fragments")
    as_json = "--json" in args
    flags = set(a for a in args if a in FLAGS)
    args = [a for a in args if a not in FLAGS]
    command, method, path, query, body = parse(args, release, flags)
    if "--fresh-retry-keys" in flags and isinstance(body, dict) and body.get("idempotency_key"):
        # The bug: every call gets a new key, so a retry is a new charge.
        body["idempotency_key"] = "fresh-%d-%d" % (os.getpid(), time.time_ns())
    if not as_json:
        fail(command, 2, "INVALID_ARGUMENTS", "this client only speaks --json")
    base = os.environ.get("IMAGE_SKILL_API_BASE_URL")
    if not base:
        fail(command, 1, "CONFIG_MISSING", "IMAGE_SKILL_API_BASE_URL is not set")
    token = os.environ.get("IMAGE_SKILL_TOKEN")
    if not token:
        fail(command, 3, "AUTH_REQUIRED", "IMAGE_SKILL_TOKEN is not set")
    # http.client, not urllib.request: it starts faster, and every step
    # of conform's suites starts this client once.
    target = urllib.parse.urlsplit(base.rstrip("/") + path)
    if query:
        target = target._replace(query=urllib.parse.urlencode(query))
    data = json.dumps(body).encode() if body is not None else None
    headers = {"authorization": "Bearer " + token}
    if data is not None:
        headers["content-type"] = "application/json"
    kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    try:
        connection = kind(target.netloc, timeout=20)
        connection.request(method, target.path + ("?" + target.query if target.query else ""),
                           body=data, headers=headers)
        response = connection.getresponse()
        status, text = response.status, response.read()
    except (OSError, http.client.HTTPException) as e:
        fail(command, 7, "NETWORK_ERROR", str(e))
    try:
        envelope = json.loads(text)
    except ValueError:
        fail(command, 7, "BAD_RESPONSE", "the server did not answer JSON (HTTP %d)" % status)
    if strip and isinstance(envelope.get("data"), dict):
        data = envelope["data"]
        for record in (data, data.get("next"), data.get("payment_attempt")):
            strip_record(record)
    if "--repair-from-handoff" in flags and isinstance(envelope.get("data"), dict):
        repair_from_handoff(envelope["data"])
    print(json.dumps(envelope))
    if 200 <= status < 300:
        sys.exit(0)
    sys.exit({401: 3, 403: 3, 400: 2, 404: 2, 422: 2}.get(status, 7 if status >= 500 else 1))


main()
