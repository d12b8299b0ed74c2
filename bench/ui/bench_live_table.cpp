// SPDX-License-Identifier: Apache-2.0
// Live traffic table under load: a producer thread pushes synthetic records into the runtime's
// TrafficStream at a fixed rate (default 20,000/s for 60 s) while the real TrafficWidget (pump,
// bounded model, table with auto-scroll, chart) runs offscreen. Prints the longest event-loop
// stall, the UI thread's CPU share and the memory held at 1,000,000 rows, each with the floor
// measured in the same run (idle loop stall; model-only append cost; empty-process RSS).
//
//   bench_live_table [seconds=60] [rate=20000] [maxRows=1000000]
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <QApplication>
#include <QEventLoop>
#include <QElapsedTimer>
#include <QFile>
#include <QTableView>
#include <QTabWidget>
#include <QTimer>

#include "core/traffic.h"
#include "ui/models/event_pump.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/stats_panel.h"
#include "ui/widgets/traffic_widget.h"

using namespace bindery;

namespace {

double threadCpuSeconds()
{
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
           + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double rssMiB()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
    }
    return 0;
}

core::TrafficRecord synthetic(quint64 n)
{
    core::TrafficRecord r;
    r.id = n;
    r.kind = core::TrafficRecord::Kind::Input;
    r.startedUs = core::nowUs();
    r.latencyUs = 250 + qint64(n % 700);
    r.binding = QStringLiteral("orders");
    r.bindingType = QStringLiteral("bindings.kafka");
    r.operation = QStringLiteral("deliver");
    r.route = QStringLiteral("/orders");
    // Every delivery carries W3C trace context (four deliveries per trace), so the correlation
    // index is built for every row, as binderyd's traceparent makes it in real use.
    r.metadata = {{QStringLiteral("topic"), QStringLiteral("orders")},
                  {QStringLiteral("partition"), QString::number(n % 6)},
                  {QStringLiteral("offset"), QString::number(n)},
                  {QStringLiteral("traceparent"), QStringLiteral("00-%1-%2-01")
                                                      .arg(n / 4 + 1, 32, 16, QLatin1Char('0'))
                                                      .arg(n + 1, 16, 16, QLatin1Char('0'))}};
    r.payload = QByteArray("{\"orderId\":") + QByteArray::number(n)
                + QByteArray(",\"sku\":\"A-1042\",\"qty\":3,\"price\":19.99,\"note\":\"x\"}");
    r.status = (n % 97 == 0) ? 500 : 200;
    r.ok = r.status == 200;
    r.responseBody = r.ok ? QByteArray() : QByteArray("boom");
    r.eventKey = QStringLiteral("orders/%1@%2").arg(n % 6).arg(n);
    r.outcome = r.ok ? QStringLiteral("acked") : QStringLiteral("retry");
    return r;
}

/// Longest gap between 1 ms timer ticks beyond the interval, over `ms` of wall time.
struct StallProbe
{
    QElapsedTimer clock;
    qint64 last = 0;
    qint64 worst = 0;
    QTimer timer;
    void start()
    {
        clock.start();
        last = 0;
        worst = 0;
        timer.setTimerType(Qt::PreciseTimer);
        timer.setInterval(1);
        QObject::connect(&timer, &QTimer::timeout, [this]() {
            const qint64 now = clock.nsecsElapsed() / 1000;
            if (last)
                worst = std::max(worst, now - last - 1000);
            last = now;
        });
        timer.start();
    }
};

/// Runs the event loop (blocking in the dispatcher when idle, as the real app does) for `ms`.
void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const int seconds = argc > 1 ? atoi(argv[1]) : 60;
    const int rate = argc > 2 ? atoi(argv[2]) : 20000;
    const int maxRows = argc > 3 ? atoi(argv[3]) : 1000000;
    const double baseRss = rssMiB();

    // Floor 1: model-only append cost per record (no view), 200k records in batches of 700.
    double modelUsPerRecord = 0;
    {
        ui::EventTableModel model;
        std::vector<std::vector<core::TrafficRecord>> batches;
        for (int b = 0; b < 286; ++b) {
            std::vector<core::TrafficRecord> batch;
            for (int i = 0; i < 700; ++i)
                batch.push_back(synthetic(quint64(b * 700 + i)));
            batches.push_back(std::move(batch));
        }
        const double c0 = threadCpuSeconds();
        for (auto &batch : batches)
            model.appendBatch(std::move(batch));
        modelUsPerRecord = (threadCpuSeconds() - c0) * 1e6 / (286.0 * 700.0);
    }

    core::TrafficStream stream(800000); // two records (start, answer) per delivery
    ui::TrafficWidget widget(stream);
    widget.model()->setMaxRows(size_t(maxRows));
    widget.resize(1400, 900);
    widget.show();
    const QByteArray variant = qgetenv("BENCH_VARIANT"); // diagnostics: nochart | noview
    if (variant == "nochart")
        widget.chartPanel()->hide();
    if (variant == "noview")
        widget.view()->hide();
    // Statistics on screen (refreshed every second from the incrementally kept figures).
    if (variant != "chart") {
        for (QWidget *w = widget.statsPanel(); w; w = w->parentWidget()) {
            if (auto *tabs = qobject_cast<QTabWidget *>(w)) {
                tabs->setCurrentWidget(widget.statsPanel());
                break;
            }
        }
    }
    spin(500);

    // Floor 2: the idle event loop's longest stall (same widget, no load), 3 s.
    StallProbe idle;
    idle.start();
    spin(3000);
    idle.timer.stop();
    const double idleStallMs = double(idle.worst) / 1000.0;
    const double rssBeforeLoad = rssMiB();

    // Load: the producer paces itself on a 5 ms grid.
    std::atomic<bool> stop{false};
    std::atomic<quint64> produced{0};
    std::thread producer([&]() {
        using clock = std::chrono::steady_clock;
        const auto start = clock::now();
        quint64 n = 0;
        while (!stop.load()) {
            const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
            if (elapsed >= seconds)
                break;
            const quint64 due = quint64(elapsed * rate);
            while (n < due) {
                // As the console's runtime does: a pending start record, then the answer.
                core::TrafficRecord done = synthetic(++n);
                core::TrafficRecord started = done;
                started.pending = true;
                started.status = 0;
                started.ok = false;
                stream.push(std::move(started));
                stream.push(std::move(done));
            }
            produced.store(n);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });

    StallProbe load;
    load.start();
    const double cpu0 = threadCpuSeconds();
    QElapsedTimer wall;
    wall.start();
    double rssAtMax = 0;
    qint64 reachedMaxAtMs = -1;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, [&]() {
        if (reachedMaxAtMs < 0 && widget.model()->totalRows() >= size_t(maxRows)) {
            reachedMaxAtMs = wall.elapsed();
            rssAtMax = rssMiB();
        }
    });
    sampler.start(250);
    spin(seconds * 1000 + 200);
    stop.store(true);
    producer.join();
    spin(300);
    const double cpu = threadCpuSeconds() - cpu0;
    const double wallS = double(wall.elapsed()) / 1000.0;
    load.timer.stop();
    if (rssAtMax == 0)
        rssAtMax = rssMiB();
    const double stallMs = double(load.worst) / 1000.0;
    const quint64 seen = widget.model()->totalSeen();
    const double uiUsPerRecord = cpu * 1e6 / double(std::max<quint64>(seen, 1));
    const double modelMiB = double(widget.model()->approximateBytes()) / 1048576.0;

    std::printf("bench_live_table: %d s at %d deliveries/s (a pending start record and its answer "
                "each, traceparent on every one, statistics shown) into the live TrafficWidget "
                "(offscreen), bound %d rows\n",
                seconds, rate, maxRows);
    std::printf(
        "  produced %llu, shown %llu, dropped by the tap %llu, insert batches %llu (%.1f Hz)\n",
        (unsigned long long)produced.load(), (unsigned long long)seen,
        (unsigned long long)widget.pump()->dropped(), (unsigned long long)widget.pump()->batches(),
        double(widget.pump()->batches()) / wallS);
    std::printf(
        "  longest event-loop stall: %.1f ms (target < 50 ms); idle floor %.1f ms; ratio %.1fx\n",
        stallMs, idleStallMs, stallMs / std::max(idleStallMs, 0.1));
    std::printf("  UI thread CPU: %.1f%% of one core (%.2f s over %.1f s); %.2f us/record vs "
                "model-only floor %.2f us/record (%.1fx)\n",
                100.0 * cpu / wallS, cpu, wallS, uiUsPerRecord, modelUsPerRecord,
                uiUsPerRecord / std::max(modelUsPerRecord, 0.001));
    std::printf("  memory at %zu rows: RSS %.0f MiB (process before load %.0f MiB, bare "
                "QApplication %.0f MiB); "
                "model %.0f MiB = %.0f B/row; target <= 300 MiB: %s%s\n",
                widget.model()->totalRows(), rssAtMax, rssBeforeLoad, baseRss, modelMiB,
                modelMiB * 1048576.0 / double(std::max<size_t>(widget.model()->totalRows(), 1)),
                rssAtMax <= 300 ? "ok" : "OVER",
                reachedMaxAtMs < 0 ? " (bound not reached: run longer or lower maxRows)" : "");
    return 0;
}
