// endpoints/server_dispatch.cpp — a complete request to its handler
// (server_impl.h): 405 for other methods than GET and HEAD, 404 for unknown
// paths, an OnServerThread route answered inside the poll loop, an OnWorker
// route queued for the worker thread (503 + Retry-After past maxWaiting),
// and the worker's answers taken back by the loop.
// Invariants: the loop never waits on the worker; a handler that throws is
// answered 500 (logged); an answer whose connection is gone is dropped.
#include "endpoints/server_impl.h"

#include "endpoints/logging.h"

#include <algorithm>

namespace stoa::endpoints {

namespace {

// A handler's answer, or 500 when it threw (logged).
Response callHandler(const Handler &handler, const Request &request)
{
    try {
        return handler(request);
    } catch (const std::exception &e) {
        qCWarning(lcEndpoints) << "handler for" << request.path.c_str() << "threw:" << e.what();
    } catch (...) {
        qCWarning(lcEndpoints) << "handler for" << request.path.c_str() << "threw";
    }
    return http::errorResponse(500);
}

} // namespace

void LocalServer::Impl::dispatch(Connection &c, const Request &request)
{
    const auto it = routes.find(request.path);
    const std::string pathLabel = it == routes.end() ? "other" : it->first;
    const bool headOnly = request.method == "HEAD";
    if (request.method != "GET" && !headOnly) {
        auto r = http::errorResponse(405, "GET and HEAD only");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return respond(c, r, false, pathLabel);
    }
    if (it == routes.end())
        return respond(c, http::errorResponse(404), headOnly, pathLabel);
    if (it->second.runs == Runs::OnServerThread)
        return respond(c, callHandler(it->second.handler, request), headOnly, pathLabel);
    {
        std::lock_guard lock(workMutex);
        if (waiting < limits.maxWaiting) {
            ++waiting;
            jobs.push_back({c.id, request, &it->second.handler});
            workReady.notify_one();
            c.state = State::Waiting;
            c.deadline = Clock::time_point::max(); // the handler bounds its own wait
            c.headOnly = headOnly;
            c.pathLabel = pathLabel;
            c.in.clear();
            return;
        }
    }
    auto busy = http::errorResponse(503, "busy: earlier requests for this page are still waiting");
    busy.headers.emplace_back("Retry-After", "1");
    respond(c, busy, headOnly, pathLabel);
}

void LocalServer::Impl::wake()
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(wakeWrite, &byte, 1);
}

void LocalServer::Impl::workerLoop()
{
    std::unique_lock lock(workMutex);
    for (;;) {
        workReady.wait(lock, [&] { return workerStop || !jobs.empty(); });
        if (workerStop)
            return;
        Job job = std::move(jobs.front());
        jobs.pop_front();
        lock.unlock();
        Response r = callHandler(*job.handler, job.request);
        lock.lock();
        --waiting;
        finished.push_back({job.connection, std::move(r)});
        wake();
    }
}

void LocalServer::Impl::takeFinished()
{
    std::vector<Done> done;
    {
        std::lock_guard lock(workMutex);
        done.swap(finished);
    }
    for (auto &d : done) {
        const auto c = std::find_if(connections.begin(), connections.end(),
                                    [&](const Connection &x) { return x.id == d.connection; });
        if (c != connections.end() && c->state == State::Waiting && c->fd >= 0)
            respond(*c, d.response, c->headOnly, c->pathLabel);
    }
}

} // namespace stoa::endpoints
