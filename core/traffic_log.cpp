// SPDX-License-Identifier: Apache-2.0
#include "core/traffic_log.h"

#include <cerrno>
#include <cstring>

namespace bindery::core {

TrafficLogWriter::TrafficLogWriter(TrafficStream &stream, QString path)
    : m_stream(stream)
    , m_path(std::move(path))
{
}

TrafficLogWriter::~TrafficLogWriter()
{
    m_stream.setNotifier({});
    if (m_thread.joinable()) {
        m_thread.request_stop();
        m_cv.notify_all();
        m_thread.join();
    }
    if (m_file)
        std::fclose(m_file);
}

Result<> TrafficLogWriter::start()
{
    m_file = std::fopen(m_path.toLocal8Bit().constData(), "a");
    if (!m_file)
        return fail(ErrorCode::Io, QStringLiteral("--traffic-log %1: %2")
                                       .arg(m_path, QString::fromLocal8Bit(std::strerror(errno))));
    m_stream.setNotifier([this]() {
        {
            std::lock_guard lock(m_mutex);
            m_pending = true;
        }
        m_cv.notify_one();
    });
    m_thread = std::jthread([this](std::stop_token stop) { run(stop); });
    return {};
}

void TrafficLogWriter::run(std::stop_token stop)
{
    while (true) {
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, stop, std::chrono::milliseconds(200), [this] { return m_pending; });
            m_pending = false;
        }
        // Drain until empty: the notifier only fires on empty -> non-empty.
        while (true) {
            std::vector<TrafficRecord> batch = m_stream.drain(4096);
            if (batch.empty())
                break;
            for (const TrafficRecord &r : batch) {
                const QByteArray line = trafficRecordToJson(r);
                std::fwrite(line.constData(), 1, static_cast<size_t>(line.size()), m_file);
                std::fputc('\n', m_file);
            }
            m_written.fetch_add(batch.size());
        }
        std::fflush(m_file);
        if (stop.stop_requested())
            break;
    }
}

} // namespace bindery::core
