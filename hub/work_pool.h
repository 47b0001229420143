// Copyright: see LICENSE.
//
// WorkPool: a small bounded pool of worker threads for the HTTP routes that
// read the database (/metrics, the operator API, the console's routes), so a
// slow or hung database stalls a worker, never libmicrohttpd's own threads
// (issue 18).
//
// Invariants:
//  - The queue is bounded: submit() refuses (returns false) when it is full,
//    and the caller answers 503 + Retry-After; memory never grows with load.
//  - Every accepted job runs exactly once, also at shutdown (the destructor
//    drains the queue before joining), so every suspended connection is
//    answered.
#pragma once
