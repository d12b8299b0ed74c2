// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QPointer>
#include <QHash>
#include <QWidget>

#include "core/traffic.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListView;
class QNetworkAccessManager;
class QNetworkReply;
class QPlainTextEdit;
class QPushButton;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableWidget;
class QTabWidget;
class QsciScintilla;

namespace bindery::ui {

class FindBar;
class JsonTreeView;
class RuntimeHost;

/** @brief A request as the composer holds it; saved requests and history entries use it. */
struct ComposerRequest
{
    QString name; ///< saved requests only
    QString binding;
    QString operation;
    QList<QPair<QString, QString>> metadata;
    QString payload;                       ///< editor text (JSON, raw text or base64)
    QString mode = QStringLiteral("json"); ///< json | raw | base64

    QJsonObject toJson() const;
    static ComposerRequest fromJson(const QJsonObject &o);
    /// A captured output request as a composer request (replay); its trace context is dropped.
    static ComposerRequest fromRecord(const core::TrafficRecord &record);
    /// The body POSTed to /v1.0/bindings/<binding>; false + *error if the payload is invalid.
    bool body(QByteArray *out, QString *error) const;
};

/**
 * @brief The output request composer: binding/operation pickers, a metadata table with the
 * binding's request-metadata hints, a QScintilla JSON payload editor that validates as you type,
 * Send (Ctrl+Enter) through the runtime's real HTTP API, the response pane, copy as curl, a
 * persistent searchable history (JSONL under AppDataLocation) and saved requests
 * (one JSON file per request under `<workspace>/.bindery/requests/`). UI thread.
 */
class ComposerWidget final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComposerWidget)

public:
    ComposerWidget(RuntimeHost &host, QWidget *parent = nullptr);
    ~ComposerWidget() override;

    void setWorkspace(const QString &folder);
    /// Refreshes the binding picker from the runtime's output-capable components.
    void refreshBindings();
    void setRequest(const ComposerRequest &request);
    ComposerRequest request() const;
    QString curlCommand() const;

    /// Payload validation as shown under the editor ("" when valid).
    QString payloadError() const { return m_payloadError; }
    int lastStatus() const { return m_lastStatus; }
    QByteArray lastBody() const { return m_lastBody; }
    QString historyPath() const { return m_historyPath; }
    QStandardItemModel *historyModel() const { return m_history; }
    QStandardItemModel *savedModel() const { return m_saved; }
    QWidget *historyPanel() const { return m_historyPanel; }
    QTableWidget *metadataTable() const { return m_metadata; }
    QsciScintilla *payloadEditor() const { return m_payload; }
    QComboBox *bindingPicker() const { return m_binding; }
    QTabWidget *bodyTabs() const { return m_bodyTabs; }
    QLabel *bodyPreview() const { return m_bodyPreview; }
    JsonTreeView *bodyTree() const { return m_bodyTree; }
    QLabel *responseStatus() const { return m_responseStatus; }
    QTableWidget *responseHeaders() const { return m_responseHeaders; }
    /// What the last body is: "json", "text", "image/png", "binary", "empty".
    QString bodyKind() const { return m_bodyKind; }
    /// The `traceparent` the last send carried ("" when its metadata had its own).
    QByteArray lastTraceparent() const { return m_lastTraceparent; }
    /// Shows a body as if it had been answered (history entries use it too).
    void showResponseBody(const QByteArray &body)
    {
        m_lastBody = body;
        showBody();
    }

public Q_SLOTS:
    void send();
    void copyAsCurl();
    void prettyPrint();
    void loadPayloadFromFile();
    bool saveRequest(const QString &name = {});

Q_SIGNALS:
    /// After every answered (or failed) send.
    void responseReceived(int status, qint64 elapsedMs);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void onBindingChanged();
    void onOperationChanged();
    void validatePayload();
    void onReply(QNetworkReply *reply);
    void showBody();
    void appendHistory(const ComposerRequest &request, int status, qint64 ms,
                       const QList<QPair<QString, QString>> &headers, const QByteArray &body);
    void loadHistory();
    void loadSaved();
    void addMetadataRow(const QString &key, const QString &value, const QString &hint = {});

    RuntimeHost &m_host;
    QString m_workspace;
    QNetworkAccessManager *m_nam = nullptr;
    QComboBox *m_binding = nullptr;
    QComboBox *m_operation = nullptr;
    QComboBox *m_mode = nullptr;
    QTableWidget *m_metadata = nullptr;
    QLabel *m_hints = nullptr;
    QsciScintilla *m_payload = nullptr;
    QLabel *m_payloadStatus = nullptr;
    QPushButton *m_send = nullptr;
    QLabel *m_responseStatus = nullptr;
    QTableWidget *m_responseHeaders = nullptr;
    QTabWidget *m_bodyTabs = nullptr;
    QPlainTextEdit *m_bodyPretty = nullptr;
    QPlainTextEdit *m_bodyRaw = nullptr;
    QPlainTextEdit *m_bodyHex = nullptr;
    JsonTreeView *m_bodyTree = nullptr;
    QLabel *m_bodyPreview = nullptr;
    FindBar *m_prettyFind = nullptr;
    FindBar *m_rawFind = nullptr;
    QString m_bodyKind;
    QPointer<QWidget> m_historyPanel; ///< reparented into a dock by the window
    QStandardItemModel *m_history = nullptr;
    QSortFilterProxyModel *m_historyFilter = nullptr;
    QStandardItemModel *m_saved = nullptr;
    QString m_historyPath;
    QString m_payloadError;
    QPointer<QNetworkReply> m_inFlight;
    QElapsedTimer m_timer;
    ComposerRequest m_sentRequest;
    int m_lastStatus = 0;
    QByteArray m_lastBody;
    QHash<QString, ComposerRequest> m_perBinding; ///< what each binding had, while another shows
    QString m_shownBinding;
    bool m_restoring = false;
    QByteArray m_lastTraceparent;
};

} // namespace bindery::ui
