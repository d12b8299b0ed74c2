// SPDX-License-Identifier: Apache-2.0
// Kafka input benchmark pieces shared by bench_kafka_input and bench/vs-daprd: topic creation,
// pre-filling a topic with records that carry their partition and sequence number, and the app
// an input binding delivers them to (answers at once or after a fixed latency, checks order per
// partition, counts redeliveries).
#pragma once

#include <librdkafka/rdkafka.h>

#include <sys/timerfd.h>

#include <algorithm>
#include <deque>
#include <mutex>

#include "bench_common.h"

namespace bench {

/// Creates `topic` with `partitions` partitions (replication 1); false on any error.
inline bool createTopic(const std::string &brokers, const std::string &topic, int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    bool ok = false;
    if (rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000)) {
        ok = !rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return ok;
}

/// Produces `records` records `{"p":<partition>,"i":<sequence>,...}` round-robin over the
/// partitions and waits until all are acknowledged.
inline bool prefill(const std::string &brokers, const std::string &topic, int records,
                    int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "50", err, sizeof err);
    // Retries on a busy broker must not reorder a partition's records (the app checks order).
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    char value[160];
    for (int i = 0; i < records; ++i) {
        const int p = i % partitions;
        const int len
            = snprintf(value, sizeof value,
                       R"({"p":%d,"i":%d,"pad":"bindery kafka input benchmark record"})", p, i);
        const std::string key = "k" + std::to_string(i);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
                                 RD_KAFKA_V_VALUE(value, static_cast<size_t>(len)),
                                 RD_KAFKA_V_KEY(key.data(), key.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)
               == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    const bool ok = rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_destroy(rk);
    return ok;
}

/// The trivial app: answers 200 (after `latencyUs`), checks order per partition from the body.
class App
{
public:
    explicit App(int partitions)
        : m_last(static_cast<size_t>(partitions), -1)
    {
    }
    int start(int latencyUs)
    {
        m_latencyUs = latencyUs;
        const int port = listenLoopback(&m_listen);
        m_thread = std::thread([this] { run(); });
        return port;
    }
    ~App()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
        close(m_listen);
    }
    void reset(int latencyUs)
    {
        std::lock_guard l(m_mutex);
        std::fill(m_last.begin(), m_last.end(), -1);
        m_events = 0;
        m_violations = 0;
        m_duplicates = 0;
        m_latencyUs = latencyUs;
        m_first = m_lastAt = Clock::time_point{};
        m_turnaround.clear();
        m_lateness.clear();
        m_service.clear();
    }
    /// Where a delivery cycle's time goes beyond the app's own latency: how late the app's
    /// answers leave (timer wake-up), and how long binderyd takes from an answer to the next
    /// request on the same connection (reading the answer, acking, taking the next record).
    struct CycleParts
    {
        std::vector<double> turnaround, lateness, service;
    };
    CycleParts cycleParts()
    {
        std::lock_guard l(m_mutex);
        return {m_turnaround, m_lateness, m_service};
    }
    long events()
    {
        std::lock_guard l(m_mutex);
        return m_events;
    }
    long violations()
    {
        std::lock_guard l(m_mutex);
        return m_violations;
    }
    long duplicates()
    {
        std::lock_guard l(m_mutex);
        return m_duplicates;
    }
    double seconds()
    {
        std::lock_guard l(m_mutex);
        return std::chrono::duration<double>(m_lastAt - m_first).count();
    }

private:
    struct Pending
    {
        int fd;
        Clock::time_point due;
        Clock::time_point arrived;
    };
    void run()
    {
        int ep = epoll_create1(0);
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.fd = m_listen;
        epoll_ctl(ep, EPOLL_CTL_ADD, m_listen, &e);
        // Answers due later wait on a timerfd (microsecond precision, no spinning).
        const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        epoll_event te{};
        te.events = EPOLLIN;
        te.data.fd = tfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);
        bool armed = false;
        // This VM wakes a sleeping thread 40-60 us after its timer expires. An app that is meant
        // to answer after exactly latencyUs arms its timer early by the wake-up lateness it has
        // seen (a running median) and spins the few microseconds that may remain, so its
        // service time is latencyUs, not latencyUs plus a wake-up.
        double wakeEstimateUs = 40;
        Clock::time_point armedFor{};
        auto arm = [&](Clock::time_point due) {
            armedFor = due - std::chrono::microseconds(static_cast<long>(wakeEstimateUs));
            const auto ns
                = std::chrono::duration_cast<std::chrono::nanoseconds>(armedFor.time_since_epoch())
                      .count();
            itimerspec its{};
            its.it_value.tv_sec = ns / 1000000000;
            its.it_value.tv_nsec = ns % 1000000000;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
            armed = true;
        };
        std::map<int, std::string> bufs;
        std::map<int, Clock::time_point> answered; // fd -> when its last answer was written
        std::deque<Pending> pending;               // due times are monotonic (fixed latency)
        static const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        epoll_event evs[64];
        char tmp[65536];
        while (!m_stop) {
            if (!pending.empty() && !armed)
                arm(pending.front().due);
            const int n = epoll_wait(ep, evs, 64, 50);
            for (int i = 0; i < n; ++i) {
                const int fd = evs[i].data.fd;
                if (fd == tfd) {
                    uint64_t expirations;
                    if (read(tfd, &expirations, sizeof expirations) < 0) {
                    }
                    const double late
                        = std::chrono::duration<double, std::micro>(Clock::now() - armedFor)
                              .count();
                    // Tracks the median lateness (a mean would chase the rare very late wake).
                    wakeEstimateUs = std::clamp(
                        wakeEstimateUs + (late > wakeEstimateUs ? 1.0 : -1.0), 0.0, 100.0);
                    armed = false;
                    continue;
                }
                if (fd == m_listen) {
                    const int c = accept(m_listen, nullptr, nullptr);
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event ce{};
                    ce.events = EPOLLIN;
                    ce.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                    continue;
                }
                const ssize_t got = read(fd, tmp, sizeof tmp);
                if (got <= 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                    close(fd);
                    bufs.erase(fd);
                    continue;
                }
                std::string &b = bufs[fd];
                b.append(tmp, static_cast<size_t>(got));
                for (;;) {
                    size_t bodyStart = 0;
                    const size_t length = messageLength(b, &bodyStart);
                    if (length == 0)
                        break;
                    const std::string body = b.substr(bodyStart, length - bodyStart);
                    const bool isPost = b.compare(0, 5, "POST ") == 0;
                    b.erase(0, length);
                    if (isPost) {
                        record(body);
                        if (auto it = answered.find(fd); it != answered.end()) {
                            const double us = std::chrono::duration<double, std::micro>(
                                                  Clock::now() - it->second)
                                                  .count();
                            answered.erase(it);
                            std::lock_guard l(m_mutex);
                            if (m_turnaround.size() < 1000000)
                                m_turnaround.push_back(us);
                        }
                    }
                    if (m_latencyUs > 0) {
                        const auto now = Clock::now();
                        pending.push_back({fd, now + std::chrono::microseconds(m_latencyUs), now});
                    } else if (write(fd, kOk, sizeof kOk - 1) < 0) {
                    }
                }
            }
            // Answers due within the wake-up estimate are answered on time by spinning.
            const auto horizon
                = Clock::now() + std::chrono::microseconds(static_cast<long>(wakeEstimateUs));
            while (!pending.empty() && pending.front().due <= horizon) {
                while (Clock::now() < pending.front().due) {
                }
                const auto written = Clock::now(); // the answer leaves now (write() includes the
                                                   // loopback delivery)
                if (write(pending.front().fd, kOk, sizeof kOk - 1) < 0) {
                }
                answered[pending.front().fd] = written;
                {
                    std::lock_guard l(m_mutex);
                    if (m_lateness.size() < 1000000) {
                        m_lateness.push_back(
                            std::chrono::duration<double, std::micro>(written - pending.front().due)
                                .count());
                        m_service.push_back(std::chrono::duration<double, std::micro>(
                                                written - pending.front().arrived)
                                                .count());
                    }
                }
                pending.pop_front();
            }
            if (!pending.empty() && !armed)
                arm(pending.front().due);
        }
        close(tfd);
        close(ep);
    }
    void record(const std::string &body)
    {
        int p = -1, i = -1;
        if (sscanf(body.c_str(), R"({"p":%d,"i":%d)", &p, &i) != 2)
            return; // floor probe
        std::lock_guard l(m_mutex);
        const auto now = Clock::now();
        if (m_events == 0)
            m_first = now;
        m_lastAt = now;
        if (p < 0 || static_cast<size_t>(p) >= m_last.size())
            return;
        if (i == m_last[static_cast<size_t>(p)])
            ++m_duplicates;
        else if (i < m_last[static_cast<size_t>(p)])
            ++m_violations;
        else {
            m_last[static_cast<size_t>(p)] = i;
            ++m_events;
        }
    }

    int m_listen = -1;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_latencyUs{0};
    std::mutex m_mutex;
    std::vector<int> m_last;
    long m_events = 0;
    long m_violations = 0;
    long m_duplicates = 0;
    Clock::time_point m_first, m_lastAt;
    std::vector<double> m_turnaround, m_lateness, m_service;
};

/// A bindings.kafka input component named `name` reading `topic` from the oldest offset with
/// consumer group `group`: the same file for binderyd and daprd.
inline std::string kafkaInputComponent(const std::string &name, const std::string &brokers,
                                       const std::string &topic, const std::string &group)
{
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
           + "\nspec:\n  type: bindings.kafka\n  version: v1\n  metadata:\n"
             "  - name: brokers\n    value: \""
           + brokers + "\"\n  - name: topics\n    value: \"" + topic
           + "\"\n  - name: consumerGroup\n    value: \"" + group
           + "\"\n  - name: initialOffset\n    value: \"oldest\"\n"
             "  - name: authType\n    value: \"none\"\n"
             "  - name: direction\n    value: \"input\"\n";
}

} // namespace bench
