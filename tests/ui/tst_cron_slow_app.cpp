// SPDX-License-Identifier: Apache-2.0
// The slow-app experiment of issue 9's "Done when", in the console (offscreen): an `@every 1s`
// cron answered by the console's "be the app" rule "delay 5 s" gets one delivery per tick, each
// started about a second after the previous one and several in flight at once; when the rule
// goes back to 200 the ticks go on one a second, with no burst of late ones (issue 9.4).
#include <algorithm>
#include <map>

#include <QDateTime>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/runtime.h"
#include "ui/app_server.h"
#include "ui/main_window.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/app_rules_widget.h"
#include "ui/widgets/traffic_widget.h"
#include "console_test_env.h"

using namespace bindery;

class TstCronSlowApp : public QObject
{
    Q_OBJECT

    struct Delivery
    {
        qint64 startedMs = 0;
        qint64 latencyMs = -1; ///< -1 while no answer was recorded
        int status = 0;
    };

    core::BindingRegistry m_registry;
    QTemporaryDir m_workspace;
    std::unique_ptr<ui::MainWindow> m_window;

    /// The tick deliveries in the console's traffic table, one per tick (by event key).
    std::map<QString, Delivery> deliveries() const
    {
        std::map<QString, Delivery> out;
        ui::EventTableModel *m = m_window->traffic()->model();
        for (int r = 0; r < m->rowCount(); ++r) {
            const core::TrafficRecord rec = m->record(r);
            if (rec.kind != core::TrafficRecord::Kind::Input || rec.binding != u"tick")
                continue;
            Delivery &d = out[rec.eventKey];
            d.startedMs = rec.startedUs / 1000;
            if (rec.status != 0) {
                d.latencyMs = rec.latencyUs / 1000;
                d.status = rec.status;
            }
        }
        return out;
    }

private Q_SLOTS:
    void initTestCase()
    {
        core::registerBuiltinBindings(m_registry);
        QFile cron(m_workspace.filePath(QStringLiteral("cron.yaml")));
        QVERIFY(cron.open(QIODevice::WriteOnly));
        cron.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: tick\n"
                   "spec:\n  type: bindings.cron\n  version: v1\n  metadata:\n"
                   "  - name: schedule\n    value: \"@every 1s\"\n");
        cron.close();
        m_window = std::make_unique<ui::MainWindow>(m_registry);
        ui::HostSettings hs;
        hs.apiPort = 0;
        hs.builtinAppPort = 0;
        hs.deliveryTimeoutMs = 15000; // longer than the rule's delay
        m_window->applySettings(hs, 1000000);
        m_window->show();
        m_window->openWorkspace(m_workspace.path());
        QTRY_COMPARE_WITH_TIMEOUT(m_window->host().state(), core::RuntimeState::Running, 15000);
    }

    void cleanupTestCase() { m_window.reset(); }

    void slowAppGetsOneDeliveryPerTickInFlightAtOnceAndNoBurstAfter()
    {
        // The app answers every tick after 5 s.
        m_window->appRules()->setRule(QStringLiteral("tick"),
                                      ui::AppRule{ui::AppRule::Mode::Delay, 200, 5000, {}});
        const qint64 slowFrom = QDateTime::currentMSecsSinceEpoch() + 300;
        QTest::qWait(8000);
        const qint64 slowUntil = QDateTime::currentMSecsSinceEpoch();
        // Back to 200 at once.
        m_window->appRules()->setRule(QStringLiteral("tick"), ui::AppRule{});
        QTest::qWait(7000); // every slow delivery has been answered by now
        const qint64 end = QDateTime::currentMSecsSinceEpoch();

        const std::map<QString, Delivery> all = deliveries();
        QList<Delivery> slow;
        QList<Delivery> after;
        QList<qint64> starts;
        for (const auto &[key, d] : all) {
            if (d.startedMs >= slowFrom && d.startedMs < slowUntil)
                slow << d;
            else if (d.startedMs >= slowUntil + 300 && d.startedMs < end - 500)
                after << d;
            if (d.startedMs >= slowFrom && d.startedMs < end - 500)
                starts << d.startedMs;
        }
        // One delivery per tick while slow (7-8 ticks in ~7.7 s), each answered after ~5 s.
        QVERIFY2(slow.size() >= 6 && slow.size() <= 9, qPrintable(QString::number(slow.size())));
        for (const Delivery &d : std::as_const(slow)) {
            QCOMPARE(d.status, 200);
            QVERIFY2(d.latencyMs >= 4500, qPrintable(QString::number(d.latencyMs)));
        }
        // In flight concurrently: at the busiest moment at least 4 were waiting for the app.
        int most = 0;
        for (const Delivery &probe : std::as_const(slow)) {
            int overlapping = 0;
            for (const Delivery &d : std::as_const(slow))
                overlapping += d.startedMs <= probe.startedMs
                               && probe.startedMs < d.startedMs + d.latencyMs;
            most = std::max(most, overlapping);
        }
        QVERIFY2(most >= 4, qPrintable(QString::number(most)));
        // After the rule went back to 200: quick answers, still one per tick.
        QVERIFY2(after.size() >= 4 && after.size() <= 8, qPrintable(QString::number(after.size())));
        for (const Delivery &d : std::as_const(after)) {
            QCOMPARE(d.status, 200);
            QVERIFY2(d.latencyMs < 1000, qPrintable(QString::number(d.latencyMs)));
        }
        // No burst anywhere: every tick started 0.6-1.4 s after the one before.
        std::sort(starts.begin(), starts.end());
        for (qsizetype i = 1; i < starts.size(); ++i)
            QVERIFY2(starts[i] - starts[i - 1] >= 600 && starts[i] - starts[i - 1] <= 1400,
                     qPrintable(QStringLiteral("ticks %1 and %2 started %3 ms apart")
                                    .arg(i - 1)
                                    .arg(i)
                                    .arg(starts[i] - starts[i - 1])));
    }
};

BINDERY_UI_TEST_MAIN(TstCronSlowApp)
#include "tst_cron_slow_app.moc"
