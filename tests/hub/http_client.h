// tests/hub/http_client.h — a small blocking HTTP client for the hub's
// tests: libcurl over loopback, one easy handle per client (keep-alive).
#pragma once

#include <curl/curl.h>

#include <map>
#include <string>
#include <vector>

namespace stoa::hub::test {

struct HttpResult {
    long status = 0;          // 0: no answer (connection failed or cut)
    std::string body;
    std::map<std::string, std::string> headers; // lowercased names
    std::string error;        // curl's message when status == 0
    std::string header(const std::string &name) const
    {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class HttpClient {
public:
    explicit HttpClient(std::string base) : base_(std::move(base)), curl_(curl_easy_init()) {}
    ~HttpClient() { curl_easy_cleanup(curl_); }
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    void setToken(std::string token) { token_ = std::move(token); }
    void setCaFile(std::string path) { caFile_ = std::move(path); }

    HttpResult get(const std::string &path, const std::vector<std::string> &headers = {})
    {
        return request("GET", path, {}, headers);
    }
    HttpResult post(const std::string &path, const std::string &body, const std::string &type = "application/json")
    {
        return request("POST", path, body, {"Content-Type: " + type});
    }
    HttpResult put(const std::string &path, const std::string &body, const std::string &type = "image/jpeg")
    {
        return request("PUT", path, body, {"Content-Type: " + type});
    }

    HttpResult request(const std::string &method, const std::string &path, const std::string &body,
                       std::vector<std::string> headers)
    {
        HttpResult out;
        curl_easy_reset(curl_);
        const std::string url = base_ + path;
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        if (method == "HEAD")
            curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
        if (!body.empty() || method == "POST" || method == "PUT") {
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        }
        if (!token_.empty())
            headers.push_back("Authorization: Bearer " + token_);
        // Small bodies go at once; big ones (> 1 MiB) wait for "100
        // Continue" as curl does by default, so an early answer (413) is
        // read before the body would be sent into a closed connection.
        if (body.size() <= 1024 * 1024)
            headers.push_back("Expect:");
        curl_slist *list = nullptr;
        for (const auto &h : headers)
            list = curl_slist_append(list, h.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
        if (!caFile_.empty())
            curl_easy_setopt(curl_, CURLOPT_CAINFO, caFile_.c_str());
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, +[](char *p, size_t s, size_t n, void *u) {
            static_cast<std::string *>(u)->append(p, s * n);
            return s * n;
        });
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &out.body);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, +[](char *p, size_t s, size_t n, void *u) {
            std::string line(p, s * n);
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string name = line.substr(0, colon);
                for (char &c : name)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                std::string value = line.substr(colon + 1);
                while (!value.empty() && (value.front() == ' '))
                    value.erase(0, 1);
                while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
                    value.pop_back();
                (*static_cast<std::map<std::string, std::string> *>(u))[name] = value;
            }
            return s * n;
        });
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &out.headers);
        const CURLcode rc = curl_easy_perform(curl_);
        curl_slist_free_all(list);
        if (rc != CURLE_OK) {
            out.error = curl_easy_strerror(rc);
            return out;
        }
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &out.status);
        return out;
    }

private:
    std::string base_;
    std::string token_;
    std::string caFile_;
    CURL *curl_;
};

} // namespace stoa::hub::test
