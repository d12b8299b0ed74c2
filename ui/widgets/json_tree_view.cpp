// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/json_tree_view.h"

#include <QApplication>
#include <QClipboard>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>

namespace bindery::ui {

namespace {
constexpr int PathPartRole = Qt::UserRole + 1;
constexpr int ValueRole = Qt::UserRole + 2;

QString typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Object: return QStringLiteral("object");
    case QJsonValue::Array: return QStringLiteral("array");
    case QJsonValue::String: return QStringLiteral("string");
    case QJsonValue::Double: return QStringLiteral("number");
    case QJsonValue::Bool: return QStringLiteral("bool");
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Undefined: break;
    }
    return {};
}

bool isIdentifier(const QString &key)
{
    if (key.isEmpty() || key.at(0).isDigit())
        return false;
    for (const QChar c : key) {
        if (!c.isLetterOrNumber() && c != u'_')
            return false;
    }
    return true;
}
} // namespace

JsonTreeView::JsonTreeView(QWidget *parent)
    : QTreeWidget(parent)
{
    setColumnCount(3);
    setHeaderLabels({tr("Key"), tr("Value"), tr("Type")});
    setUniformRowHeights(true);
    setAlternatingRowColors(true);
    header()->setStretchLastSection(false);
    header()->setSectionResizeMode(1, QHeaderView::Stretch);
    setContextMenuPolicy(Qt::CustomContextMenu);
    connect(this, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        if (!itemAt(pos))
            return;
        setCurrentItem(itemAt(pos));
        QMenu menu(this);
        menu.addAction(tr("Copy path"), this, &JsonTreeView::copyPath);
        menu.addAction(tr("Copy value"), this, &JsonTreeView::copyValue);
        menu.addSeparator();
        menu.addAction(tr("Expand all"), this, &QTreeView::expandAll);
        menu.addAction(tr("Collapse all"), this, &QTreeView::collapseAll);
        menu.exec(viewport()->mapToGlobal(pos));
    });
}

bool JsonTreeView::setJson(const QByteArray &bytes)
{
    clear();
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError || doc.isNull()) {
        auto *note = new QTreeWidgetItem(this);
        note->setText(0, bytes.isEmpty() ? tr("(empty)") : tr("(not JSON)"));
        note->setFlags(Qt::ItemIsEnabled);
        return false;
    }
    const QJsonValue root = doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array());
    add(nullptr, QStringLiteral("$"), QStringLiteral("$"), root);
    expandToDepth(1);
    resizeColumnToContents(0);
    return true;
}

void JsonTreeView::add(QTreeWidgetItem *parent, const QString &key, const QString &pathPart,
                       const QJsonValue &value)
{
    auto *item = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(this);
    item->setText(0, key);
    item->setText(2, typeName(value));
    item->setData(0, PathPartRole, pathPart);
    if (value.isObject()) {
        const QJsonObject o = value.toObject();
        item->setText(1, tr("{%n key(s)}", nullptr, int(o.size())));
        item->setData(0, ValueRole, QJsonDocument(o).toJson(QJsonDocument::Compact));
        for (auto it = o.begin(); it != o.end(); ++it) {
            const QString part = isIdentifier(it.key()) ? u'.' + it.key()
                                                        : QStringLiteral("[\"%1\"]").arg(it.key());
            add(item, it.key(), part, it.value());
        }
    } else if (value.isArray()) {
        const QJsonArray a = value.toArray();
        item->setText(1, tr("[%n item(s)]", nullptr, int(a.size())));
        item->setData(0, ValueRole, QJsonDocument(a).toJson(QJsonDocument::Compact));
        for (qsizetype i = 0; i < a.size(); ++i)
            add(item, QString::number(i), QStringLiteral("[%1]").arg(i), a.at(i));
    } else {
        QString shown;
        if (value.isString())
            shown = u'"' + value.toString() + u'"';
        else if (value.isBool())
            shown = value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
        else if (value.isNull())
            shown = QStringLiteral("null");
        else
            shown = QString::number(value.toDouble(), 'g', 17);
        item->setText(1, shown);
        item->setToolTip(1, shown);
        item->setData(0, ValueRole, value.isString() ? value.toString() : shown);
    }
}

QString JsonTreeView::pathOf(const QTreeWidgetItem *item)
{
    QStringList parts;
    for (const QTreeWidgetItem *i = item; i; i = i->parent())
        parts.prepend(i->data(0, PathPartRole).toString());
    return parts.join(QString());
}

QTreeWidgetItem *JsonTreeView::findPath(const QString &path) const
{
    QTreeWidgetItemIterator it(const_cast<JsonTreeView *>(this));
    for (; *it; ++it) {
        if (pathOf(*it) == path)
            return *it;
    }
    return nullptr;
}

void JsonTreeView::copyPath()
{
    if (currentItem())
        QApplication::clipboard()->setText(pathOf(currentItem()));
}

void JsonTreeView::copyValue()
{
    if (currentItem())
        QApplication::clipboard()->setText(currentItem()->data(0, ValueRole).toString());
}

} // namespace bindery::ui
