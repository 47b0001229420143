#include "sync/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstring>
#include <mutex>
#include <thread>

#include <sys/socket.h>

namespace stoa::sync {

namespace {

constexpr std::size_t kErrorBodyKeep = 4096;

void globalInit()
{
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
        ++i;
    return s.substr(i);
}

} // namespace

std::string Response::header(const std::string &lowerName) const
{
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
}

const char *TransferError::kindName(Kind k)
{
    switch (k) {
    case Dns: return "dns";
    case Connect: return "connect";
    case Tls: return "tls";
    case Timeout: return "timeout";
    case TooSlow: return "too_slow";
    case Reset: return "reset";
    case Truncated: return "truncated";
    case TooLarge: return "too_large";
    case Aborted: return "aborted";
    case NotFound: return "not_found";
    case Other: return "other";
    }
    return "other";
}

// One easy handle and everything its callbacks write to.
struct HttpClient::Transfer {
    CURL *easy = nullptr;
    curl_slist *headerList = nullptr;
    const Request *request = nullptr;
    const std::atomic<bool> *abort = nullptr; // the client's abort flag
    int receiveBuffer = 0; // HttpOptions::receiveBufferBytes, set on the socket in onSocket
    const std::function<void()> *activity = nullptr; // HttpOptions::onActivity, may be empty
    Response response;
    bool tooLarge = false;
    bool sinkAborted = false;
    bool tooSlow = false;
    char errorBuffer[CURL_ERROR_SIZE] = {};
    // Pacing (maxRecvBytesPerSecond): body bytes since the first one arrived.
    std::int64_t maxRate = 0;
    std::chrono::steady_clock::time_point paceStart;
    std::uint64_t pacedBytes = 0;

    // libcurl's own CURLOPT_MAX_RECV_SPEED_LARGE averages over seconds and,
    // in the 7.88 Debian 12 ships, lets a transfer of a few MB through at
    // full speed. So the cap is kept here: after each chunk, wait until the
    // bytes so far are within the rate. The wait blocks this thread's other
    // transfers too, which only lowers the total further.
    void pace(std::size_t len)
    {
        if (maxRate <= 0)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (pacedBytes == 0)
            paceStart = now;
        pacedBytes += len;
        const auto due = paceStart + std::chrono::microseconds(
                                         static_cast<std::int64_t>(double(pacedBytes) * 1e6 / double(maxRate)));
        // In slices, so abort() is noticed while waiting.
        while (due > std::chrono::steady_clock::now() && !abort->load())
            std::this_thread::sleep_until(std::min(due, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }

    ~Transfer()
    {
        if (easy)
            curl_easy_cleanup(easy);
        curl_slist_free_all(headerList);
    }

    static size_t onHeader(char *data, size_t size, size_t n, void *self)
    {
        auto *t = static_cast<Transfer *>(self);
        const std::string line = trim(std::string(data, size * n));
        if (line.rfind("HTTP/", 0) == 0) {
            t->response.headers.clear(); // a new response (redirect, 100-continue)
        } else if (auto colon = line.find(':'); colon != std::string::npos) {
            t->response.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
        }
        return size * n;
    }

    static size_t onBody(char *data, size_t size, size_t n, void *self)
    {
        auto *t = static_cast<Transfer *>(self);
        const size_t len = size * n;
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 0)
            status = 200; // file://
        t->response.status = status;
        t->response.bodyBytes += len;
        t->pace(len);
        if (t->abort->load()) {
            t->sinkAborted = true;
            return 0;
        }
        const bool ok = status >= 200 && status < 300;
        if (!ok) {
            // An error page: keep its start for the log, never pass it on.
            if (t->response.body.size() < kErrorBodyKeep)
                t->response.body.append(data, std::min(len, kErrorBodyKeep - t->response.body.size()));
            return len;
        }
        if (t->response.bodyBytes > t->request->maxBytes) {
            t->tooLarge = true;
            return 0; // aborts with CURLE_WRITE_ERROR
        }
        if (t->request->sink) {
            if (!t->request->sink(status, std::as_bytes(std::span(data, len)))) {
                t->sinkAborted = true;
                return 0;
            }
        } else {
            t->response.body.append(data, len);
        }
        return len;
    }

    // Before connect(): the receive buffer (and so the window the server may
    // fill) must be set before the handshake to take effect.
    static int onSocket(void *self, curl_socket_t fd, curlsocktype purpose)
    {
        auto *t = static_cast<Transfer *>(self);
        if (purpose == CURLSOCKTYPE_IPCXN && t->receiveBuffer > 0)
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &t->receiveBuffer, sizeof t->receiveBuffer);
        return CURL_SOCKOPT_OK;
    }

    // Called about once a second even when nothing arrives: how abort()
    // reaches a transfer waiting on a silent server.
    static int onProgress(void *self, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
    {
        auto *t = static_cast<Transfer *>(self);
        if (*t->activity)
            (*t->activity)();
        if (!t->abort->load())
            return 0;
        t->sinkAborted = true;
        return 1; // aborts with CURLE_ABORTED_BY_CALLBACK
    }
};

HttpClient::HttpClient(HttpOptions options) : m_options(std::move(options))
{
    globalInit();
    CURLSH *share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    m_share = share;
}

HttpClient::~HttpClient() { curl_share_cleanup(static_cast<CURLSH *>(m_share)); }

std::unique_ptr<HttpClient::Transfer> HttpClient::prepare(const Request &r)
{
    auto t = std::make_unique<Transfer>();
    t->request = &r;
    t->abort = &m_abort;
    t->activity = &m_options.onActivity;
    t->easy = curl_easy_init();
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Transfer::onProgress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, t.get());
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_SHARE, static_cast<CURLSH *>(m_share));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, m_options.userAgent.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, m_options.connectTimeoutS);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, m_options.lowSpeedLimit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, m_options.lowSpeedTimeS);
    if (r.totalTimeoutS > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT, r.totalTimeoutS);
    t->maxRate = m_options.maxRecvBytesPerSecond; // paced in onBody, see Transfer::pace
    t->receiveBuffer = m_options.receiveBufferBytes;
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, &Transfer::onSocket);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, t.get());
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!m_options.caFile.empty()) {
        // An extra CA: CAINFO alone would replace the system's; with CAPATH
        // pointing at the system's hashed directory, OpenSSL trusts both.
        curl_easy_setopt(e, CURLOPT_CAINFO, m_options.caFile.c_str());
        curl_easy_setopt(e, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); // any the server offers; sizes are checked after decoding
    // 16 KiB (the default) means a write callback, a hash update and a write(2)
    // per 16 KiB received; larger reads cut that overhead on fast links.
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errorBuffer);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    if (r.rangeFrom > 0)
        curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, curl_off_t(r.rangeFrom));

    auto add = [&](const std::string &h) { t->headerList = curl_slist_append(t->headerList, h.c_str()); };
    if (!m_options.bearerToken.empty())
        add("Authorization: Bearer " + m_options.bearerToken);
    if (!r.ifNoneMatch.empty())
        add("If-None-Match: " + r.ifNoneMatch);
    if (!r.ifModifiedSince.empty())
        add("If-Modified-Since: " + r.ifModifiedSince);
    if (!r.contentType.empty())
        add("Content-Type: " + r.contentType);
    if (r.method == "POST" || r.method == "PUT") {
        add("Expect:"); // no 100-continue round trip
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(r.body.size()));
        if (r.method == "PUT")
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headerList);
    return t;
}

TransferResult HttpClient::finish(Transfer &t, int code)
{
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0)
        t.response.status = status;
    else if (code == CURLE_OK)
        t.response.status = 200; // file://
    const std::string detail = t.errorBuffer[0] ? t.errorBuffer : curl_easy_strerror(CURLcode(code));
    auto err = [&](TransferError::Kind k, std::string what) {
        return std::unexpected(TransferError{k, what + " (" + t.request->url + ")"});
    };
    if (t.tooLarge)
        return err(TransferError::TooLarge, "body larger than the " + std::to_string(t.request->maxBytes) +
                                                " bytes expected");
    if (t.sinkAborted)
        return err(TransferError::Aborted, "transfer stopped by the receiver");
    switch (code) {
    case CURLE_OK:
        return t.response;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return err(TransferError::Dns, "name lookup failed: " + detail);
    case CURLE_COULDNT_CONNECT:
        return err(TransferError::Connect, "cannot connect: " + detail);
    case CURLE_OPERATION_TIMEDOUT: {
        // A low-speed abort is reported as a timeout too; tell them apart.
        const bool slow = t.response.bodyBytes > 0 || std::strstr(t.errorBuffer, "slower than");
        return err(slow ? TransferError::TooSlow : TransferError::Timeout, detail);
    }
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return err(TransferError::Tls, "TLS failure: " + detail);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return err(TransferError::Reset, "connection broken: " + detail);
    case CURLE_PARTIAL_FILE:
        return err(TransferError::Truncated, "body cut short: " + detail);
    case CURLE_FILE_COULDNT_READ_FILE:
        return err(TransferError::NotFound, "no such file: " + detail);
    case CURLE_RANGE_ERROR:
    case CURLE_BAD_DOWNLOAD_RESUME:
        return err(TransferError::Other, "resume refused: " + detail);
    default:
        return err(TransferError::Other, detail);
    }
}

TransferResult HttpClient::perform(const Request &request)
{
    auto t = prepare(request);
    const CURLcode code = curl_easy_perform(t->easy);
    return finish(*t, code);
}

void HttpClient::performAll(const std::vector<Request> &requests, int parallel,
                            const std::function<void(std::size_t, TransferResult)> &done)
{
    CURLM *multi = curl_multi_init();
    std::map<CURL *, std::pair<std::size_t, std::unique_ptr<Transfer>>> active;
    std::size_t next = 0;
    auto launch = [&] {
        while (next < requests.size() && int(active.size()) < std::max(1, parallel)) {
            auto t = prepare(requests[next]);
            CURL *e = t->easy;
            curl_multi_add_handle(multi, e);
            active.emplace(e, std::make_pair(next, std::move(t)));
            ++next;
        }
    };
    launch();
    while (!active.empty()) {
        int running = 0;
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg *msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            auto it = active.find(msg->easy_handle);
            const int code = msg->data.result;
            curl_multi_remove_handle(multi, msg->easy_handle);
            auto [index, transfer] = std::move(it->second);
            active.erase(it);
            done(index, finish(*transfer, code));
        }
        launch();
        if (!active.empty())
            curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    curl_multi_cleanup(multi);
}

} // namespace stoa::sync
