// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <QString>

#include "core/result.h"
#include "core/traffic.h"

namespace bindery::core {

/**
 * @brief Writes a TrafficStream as JSON Lines to a file (binderyd --traffic-log).
 *
 * Owns one writer std::jthread that sleeps until the stream's notifier wakes it, then drains
 * and writes in batches; producers never wait on the disk. Stop by destroying it (drains first).
 */
class TrafficLogWriter final
{
public:
    TrafficLogWriter(TrafficStream &stream, QString path);
    ~TrafficLogWriter();
    TrafficLogWriter(const TrafficLogWriter &) = delete;
    TrafficLogWriter &operator=(const TrafficLogWriter &) = delete;

    /// Opens the file (append) and starts the writer thread.
    [[nodiscard]] Result<> start();
    quint64 written() const { return m_written.load(); }

private:
    void run(std::stop_token stop);

    TrafficStream &m_stream;
    QString m_path;
    std::FILE *m_file = nullptr;
    std::mutex m_mutex;
    std::condition_variable_any m_cv;
    bool m_pending = false;
    std::atomic<quint64> m_written{0};
    std::jthread m_thread;
};

} // namespace bindery::core
