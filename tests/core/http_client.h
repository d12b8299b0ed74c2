// SPDX-License-Identifier: Apache-2.0
// A blocking QNetworkAccessManager helper for tests: sends one request and spins the event loop
// (so an in-process Runtime and test servers keep running) until the answer or a timeout.
#pragma once

#include <QEventLoop>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

#include "header_lookup.h"

namespace bindery::tests {

struct HttpAnswer
{
    int status = 0; ///< 0 = transport error or timeout
    QByteArray body;
    QList<QNetworkReply::RawHeaderPair> headers;
    QString error;
    bool timedOut = false;

    /// Case-insensitive, as HTTP header names are.
    QByteArray header(const QByteArray &name) const
    {
        return findHeader(headers, name).value_or(QByteArray());
    }
    bool hasHeader(const QByteArray &name) const { return findHeader(headers, name).has_value(); }
};

inline HttpAnswer httpRequest(QNetworkAccessManager &nam, const QByteArray &method, const QUrl &url,
                              const QByteArray &body = {},
                              const QList<QPair<QByteArray, QByteArray>> &headers = {},
                              int timeoutMs = 10000)
{
    QNetworkRequest req(url);
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    for (const auto &[k, v] : headers)
        req.setRawHeader(k, v);
    if (!body.isEmpty() && !req.hasRawHeader("Content-Type"))
        req.setRawHeader("Content-Type", "application/json");
    QNetworkReply *reply = body.isEmpty() && method != "POST" && method != "PUT"
                               ? nam.sendCustomRequest(req, method)
                               : nam.sendCustomRequest(req, method, body);
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    if (!reply->isFinished())
        loop.exec();
    HttpAnswer a;
    if (!reply->isFinished()) {
        a.timedOut = true;
        a.error = QStringLiteral("timed out");
        reply->abort();
    }
    a.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    a.body = reply->readAll();
    a.headers = reply->rawHeaderPairs();
    if (a.error.isEmpty() && reply->error() != QNetworkReply::NoError && a.status == 0)
        a.error = reply->errorString();
    reply->deleteLater();
    return a;
}

} // namespace bindery::tests
