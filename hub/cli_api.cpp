// hub/cli_api.cpp — the subcommands for scripts over a running hub's API
// (docs/hub-api.md): devices, media put, schedule get|put|delete, command,
// call. The hub from --hub or STOA_HUB_URL, the operator token from
// --token-file or STOA_HUB_TOKEN; the answer's body on stdout for a 2xx.
#include "hub/api_client.h"
#include "hub/cli_impl.h"

#include <QFileInfo>
#include <QUrl>

#include <cstdio>

namespace stoa::hub::cli {
namespace {

std::optional<ApiTarget> apiTarget(Parsed &p, int &exitCode)
{
    ApiTarget t;
    t.hub = p.flags.count("--hub") ? p.flags["--hub"] : qEnvironmentVariable("STOA_HUB_URL").toStdString();
    t.caFile = p.flags["--ca-file"];
    if (p.flags.count("--token-file")) {
        if (!readFile(p.flags["--token-file"], t.token)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--token-file"].c_str());
            exitCode = 2;
            return std::nullopt;
        }
    } else {
        t.token = qEnvironmentVariable("STOA_HUB_TOKEN").toStdString();
    }
    while (!t.token.empty() && (t.token.back() == '\n' || t.token.back() == '\r' || t.token.back() == ' '))
        t.token.pop_back();
    if (t.hub.empty() || t.token.empty()) {
        exitCode = usageError("the hub (--hub or STOA_HUB_URL) and an operator token (--token-file or STOA_HUB_TOKEN) are needed");
        return std::nullopt;
    }
    return t;
}

// Prints the answer: the body on stdout for a 2xx (exit 0), else on stderr
// (exit 1 for a refusal, 3 when the hub or the network failed).
int report(const std::expected<ApiAnswer, std::string> &answer)
{
    if (!answer) {
        std::fprintf(stderr, "stoa-hub: %s\n", answer.error().c_str());
        return 3;
    }
    if (answer->status >= 200 && answer->status < 300) {
        std::fputs(answer->body.c_str(), stdout);
        if (!answer->body.empty() && answer->body.back() != '\n')
            std::fputc('\n', stdout);
        return 0;
    }
    std::fprintf(stderr, "stoa-hub: HTTP %ld: %s", answer->status, answer->body.c_str());
    if (answer->body.empty() || answer->body.back() != '\n')
        std::fputc('\n', stderr);
    return answer->status >= 500 ? 3 : 1;
}

std::string percentEncode(const std::string &s)
{
    return QUrl::toPercentEncoding(QString::fromStdString(s)).toStdString();
}

} // namespace

int apiCommand(const std::string &cmd, const std::vector<std::string> &args)
{
    auto p = parse(args, {"--hub", "--token-file", "--ca-file", "--group", "--tag", "--state", "--name", "--data"});
    if (!p.error.empty())
        return usageError(p.error);
    int code = 0;
    const auto target = apiTarget(p, code);
    if (!target)
        return code;
    const auto &a = p.positional;
    if (cmd == "devices") {
        if (!a.empty())
            return usageError("devices takes no argument");
        std::string query;
        for (const char *f : {"--group", "--tag", "--state"})
            if (p.flags.count(f))
                query += (query.empty() ? "?" : "&") + std::string(f + 2) + "=" + percentEncode(p.flags[f]);
        return report(callApi(*target, "GET", "/api/v1/devices" + query));
    }
    if (cmd == "media") {
        if (a.size() != 2 || a[0] != "put")
            return usageError("media put FILE [--name NAME]");
        std::string bytes;
        if (!readFile(a[1], bytes)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", a[1].c_str());
            return 2;
        }
        const std::string name = p.flags.count("--name") ? p.flags["--name"] : QFileInfo(QString::fromStdString(a[1])).fileName().toStdString();
        return report(callApi(*target, "PUT", "/api/v1/media/" + percentEncode(name), bytes, "application/octet-stream"));
    }
    if (cmd == "schedule") {
        if (a.size() < 2 || (a[0] != "get" && a[0] != "put" && a[0] != "delete") || (a[0] == "put") != (a.size() == 3))
            return usageError("schedule get|delete TARGET, or schedule put TARGET FILE");
        const std::string path = "/api/v1/schedules/" + a[1];
        if (a[0] == "get")
            return report(callApi(*target, "GET", path));
        if (a[0] == "delete")
            return report(callApi(*target, "DELETE", path));
        std::string text;
        if (!readFile(a[2], text)) {
            std::fprintf(stderr, "stoa-hub: cannot read %s\n", a[2].c_str());
            return 2;
        }
        return report(callApi(*target, "PUT", path, text, "text/plain; charset=utf-8"));
    }
    if (cmd == "command") {
        if (a.size() != 2)
            return usageError("command DEVICE TYPE");
        return report(callApi(*target, "POST", "/api/v1/devices/" + percentEncode(a[0]) + "/commands",
                              "{\"type\":\"" + a[1] + "\"}"));
    }
    // call METHOD PATH [--data FILE]
    if (a.size() != 2 || !a[1].starts_with("/"))
        return usageError("call METHOD /api/v1/PATH [--data FILE]");
    std::string body;
    if (p.flags.count("--data") && !readFile(p.flags["--data"], body)) {
        std::fprintf(stderr, "stoa-hub: cannot read %s\n", p.flags["--data"].c_str());
        return 2;
    }
    return report(callApi(*target, a[0], a[1], body));
}

} // namespace stoa::hub::cli
