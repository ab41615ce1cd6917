#!/usr/bin/env python3
"""A tiny Image Skill client in Python, so conform's client mode is shown to
be language-neutral (argv, environment, stdout). Mirrors
examples/reference_client.rs, including --strip-fragments (0.1.8's bug).

`conform audit`'s tests build release histories from copies of this file with
BUILT_IN_FLAGS filled in, one behaviour per release:
  --strip-fragments      cut the #fragment off checkout URLs (0.1.8's bug)
  --charge-dry-runs      send `create --dry-run` as a real create
  --repair-from-handoff  a checkout_url without fragment is "repaired" from
                         checkout_handoff_url (wrong only against a server
                         that strips fragments)
  --crash / --hang       die on start / never answer"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fail(command, code, error_code, message):
    print(json.dumps({
        "ok": False, "command": command, "trace_id": "trace_client_local",
        "actor": None, "data": None, "warnings": [],
        "error": {"code": error_code, "message": message, "retryable": False},
    }))
    sys.exit(code)


# Flags this copy always behaves as if given (see the docstring).
BUILT_IN_FLAGS = []
FLAGS = ("--strip-fragments", "--json", "--charge-dry-runs", "--repair-from-handoff", "--crash", "--hang", "--dry-run")


def option(args, name):
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def parse(args):
    words = args[:2]
    if words[:1] == ["whoami"]:
        return "whoami", "GET", "/v1/whoami", {}, None
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
        for flag, key in (("--payment-method", "payment_method"), ("--idempotency-key", "idempotency_key")):
            if option(args, flag) is not None:
                body[key] = option(args, flag)
        return "credits quote", "POST", "/v1/credit-quotes", {}, body
    if words == ["credits", "buy"]:
        return ("credits buy", "POST", "/v1/credit-purchases/stripe-checkout-sessions", {},
                {"quote_id": option(args, "--quote-id"), "idempotency_key": option(args, "--idempotency-key")})
    if words == ["credits", "status"]:
        refs = {k: option(args, "--" + k.replace("_", "-"))
                for k in ("quote_id", "payment_attempt_id", "checkout_session_id", "receipt_id")}
        refs = {k: v for k, v in refs.items() if v is not None}
        if len(refs) != 1:
            fail("credits status", 2, "INVALID_ARGUMENTS", "give exactly one reference flag")
        return "credits status", "GET", "/v1/credit-purchases/status", refs, None
    if words[:1] == ["create"]:
        return ("create", "POST", "/v1/create", {},
                {"prompt": option(args, "--prompt") or "a lighthouse at dusk", "intent": "explore",
                 "aspect_ratio": "1:1", "max_estimated_usd_per_image": 0.05})
    if words == ["credits", "fake-purchase"]:
        return ("credits fake-purchase", "POST", "/v1/credit-purchases", {},
                {"quote_id": option(args, "--quote-id"), "idempotency_key": option(args, "--idempotency-key")})
    fail("unknown", 2, "INVALID_ARGUMENTS", "unknown command")


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


def main():
    args = BUILT_IN_FLAGS + sys.argv[1:]
    if "--crash" in args:
        raise RuntimeError("this release crashes on start")
    if "--hang" in args:
        time.sleep(3600)
    strip = "--strip-fragments" in args
    as_json = "--json" in args
    flags = set(a for a in args if a in FLAGS)
    args = [a for a in args if a not in FLAGS]
    command, method, path, query, body = parse(args)
    if command == "create":
        # A dry run must spend nothing; --charge-dry-runs is the bug.
        body["dry_run"] = "--dry-run" in flags and "--charge-dry-runs" not in flags
    if not as_json:
        fail(command, 2, "INVALID_ARGUMENTS", "this client only speaks --json")
    base = os.environ.get("IMAGE_SKILL_API_BASE_URL")
    if not base:
        fail(command, 1, "CONFIG_MISSING", "IMAGE_SKILL_API_BASE_URL is not set")
    token = os.environ.get("IMAGE_SKILL_TOKEN")
    if not token:
        fail(command, 3, "AUTH_REQUIRED", "IMAGE_SKILL_TOKEN is not set")
    url = base.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("authorization", "Bearer " + token)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except OSError as e:
        fail(command, 7, "NETWORK_ERROR", str(e))
    envelope = json.loads(text)
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
