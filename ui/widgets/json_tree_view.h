// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QTreeWidget>

class QJsonValue;

namespace bindery::ui {

/**
 * @brief A JSON document as a tree (Postman's and Firefox's JSON viewer): keys, values and types,
 * every level collapsible, and a context menu to copy a node's path (`$.items[2].name`) or value.
 * UI thread.
 */
class JsonTreeView final : public QTreeWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JsonTreeView)

public:
    explicit JsonTreeView(QWidget *parent = nullptr);

    /// Shows `bytes` as a tree; false (and an empty tree with a note) when it is not JSON.
    bool setJson(const QByteArray &bytes);
    /// The JSONPath-style path of an item ("$" for the root).
    static QString pathOf(const QTreeWidgetItem *item);
    /// The item at `path` ("$.a[0]"), or nullptr.
    QTreeWidgetItem *findPath(const QString &path) const;
    /// Copies the path (or value) of the current item to the clipboard.
    void copyPath();
    void copyValue();

private:
    void add(QTreeWidgetItem *parent, const QString &key, const QString &pathPart,
             const QJsonValue &value);
};

} // namespace bindery::ui
