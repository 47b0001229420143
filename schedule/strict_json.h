// schedule/strict_json.h — JSON object parsing with the project's strictness.
//
// Job: QJsonDocument keeps one of two duplicate keys silently; a signed
// document must mean one thing to every reader, so duplicate keys (compared
// after unescaping) in any object make the text invalid here.
// Invariant: a returned object came from text that is valid JSON, whose top
// level is an object, and in which no object repeats a key.
#pragma once

#include <QByteArrayView>
#include <QJsonObject>
#include <QString>

#include <expected>

namespace stoa::schedule {

// Error text is operator-readable ("duplicate key \"version\"").
std::expected<QJsonObject, QString> parseStrictJsonObject(QByteArrayView json);

} // namespace stoa::schedule
