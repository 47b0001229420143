// Copyright: see LICENSE.
//
// HealthProbe: the hub's liveness/readiness verdict, computed off the request
// threads (issue 18, "Health checks, replicas, and the spike").
//
// Job: a thread of its own checks the database (Storage::ping) and the data
// directory every interval, each check bounded by a deadline; /healthz, the
// status page and the `healthy` gauge read the last result without touching
// the database, so they answer in microseconds even while the database hangs.
//
// Invariants:
//  - No caller of current() ever blocks on the database or the filesystem.
//  - A verdict is healthy only if the last finished probe succeeded, it is
//    fresh, and no probe has been running past its deadline (a hung probe is
//    detected from its start time, so a ping that never returns turns the
//    verdict to unhealthy after the deadline, not never).
#pragma once
