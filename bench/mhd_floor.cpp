// bench/mhd_floor.cpp — libmicrohttpd configured as the hub's HTTP layer,
// doing nothing else: the floor under any hub built on it.
//
// Job: answer what hub_ingest_bench sends as fast as libmicrohttpd alone
// can, so that one run prints stoa-hub, this floor and nginx side by side
// (`hub_ingest_bench --only a --backends sqlite --hub <build>/bench/mhd_floor`
// runs the floor in the hub's place). Issue 16 asks the hub for 0.5x nginx's
// request rate; the floor says how much of that gap is the HTTP library the
// issue chose and how much is the hub's own work (parsing, storing, fsync).
//
// It speaks just enough of stoa-hub's command line for the bench:
//   mhd_floor operator add ...   prints a token alone on its last line;
//   mhd_floor serve ... --listen ADDR:PORT [--threads N]
//                                logs "serving http://127.0.0.1:PORT" and
//                                answers POST /api/v1/devices with 201 and a
//                                token, every other request with 204, after
//                                reading its whole body (as the hub does).
// Invariants: the daemon's flags and limits are the hub's defaults
// (hub/http_server.cpp: internal polling thread, epoll, a pool of 2 threads,
// 16 KiB per connection, 4096 connections, 30 s idle timeout); nothing is
// parsed, stored or logged per request.
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

std::atomic<unsigned> g_devices{0};

MHD_Result answer(MHD_Connection *connection, unsigned status, const std::string &body)
{
    MHD_Response *r = MHD_create_response_from_buffer(body.size(), const_cast<char *>(body.data()),
                                                      MHD_RESPMEM_MUST_COPY);
    if (!body.empty())
        MHD_add_response_header(r, "Content-Type", "application/json");
    const MHD_Result ok = MHD_queue_response(connection, status, r);
    MHD_destroy_response(r);
    return ok;
}

MHD_Result onRequest(void *, MHD_Connection *connection, const char *url, const char *method,
                     const char *, const char *, size_t *uploadSize, void **state)
{
    // First call: headers only. Then body chunks, consumed and dropped.
    if (*state == nullptr) {
        static int started;
        *state = &started;
        return MHD_YES;
    }
    if (*uploadSize != 0) {
        *uploadSize = 0;
        return MHD_YES;
    }
    if (std::strcmp(method, "POST") == 0 && std::strcmp(url, "/api/v1/devices") == 0) {
        const unsigned n = g_devices.fetch_add(1);
        return answer(connection, 201, "{\"token\":\"stoa_dev_floor" + std::to_string(n) + "\"}\n");
    }
    return answer(connection, MHD_HTTP_NO_CONTENT, {});
}

int serve(int argc, char **argv)
{
    unsigned port = 0, threads = 2;
    for (int i = 2; i + 1 < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--listen") {
            const char *colon = std::strrchr(argv[i + 1], ':');
            port = colon ? unsigned(std::atoi(colon + 1)) : 0;
        } else if (a == "--threads") {
            threads = unsigned(std::atoi(argv[i + 1]));
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_EPOLL, 0,
        nullptr, nullptr, &onRequest, nullptr, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, size_t(16 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!d) {
        std::fprintf(stderr, "mhd_floor: MHD_start_daemon failed\n");
        return 1;
    }
    const MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    std::printf("mhd_floor: serving http://127.0.0.1:%u/ (libmicrohttpd %s, %u threads)\n",
                info ? unsigned(info->port) : port, MHD_get_version(), threads);
    std::fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "serve")
        return serve(argc, argv);
    if (cmd == "operator") {
        std::printf("stoa_op_floor\n");
        return 0;
    }
    std::fprintf(stderr, "usage: mhd_floor serve --listen ADDR:PORT [--threads N] | operator add ...\n");
    return 2;
}
