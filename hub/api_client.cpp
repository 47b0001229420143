#include "hub/api_client.h"

#include <curl/curl.h>

#include <memory>

namespace stoa::hub {

std::expected<ApiAnswer, std::string> callApi(const ApiTarget &target, const std::string &method, const std::string &path,
                                              const std::string &body, const std::string &contentType)
{
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl)
        return std::unexpected(std::string("cannot start libcurl"));
    std::string base = target.hub;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    const std::string url = base + path;
    ApiAnswer answer;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "stoa-hub/" STOA_VERSION);
    if (!target.caFile.empty())
        curl_easy_setopt(curl.get(), CURLOPT_CAINFO, target.caFile.c_str());
    if (!body.empty() || method == "PUT" || method == "POST") {
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_slist *headers = nullptr;
    const std::string auth = "Authorization: Bearer " + target.token;
    const std::string type = "Content-Type: " + contentType;
    headers = curl_slist_append(headers, auth.c_str());
    headers = curl_slist_append(headers, type.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headerList(headers, &curl_slist_free_all);
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, +[](char *p, size_t s, size_t n, void *u) {
        static_cast<std::string *>(u)->append(p, s * n);
        return s * n;
    });
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &answer.body);
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK)
        return std::unexpected(std::string(error[0] ? error : curl_easy_strerror(rc)) + " (" + url + ")");
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &answer.status);
    return answer;
}

} // namespace stoa::hub
