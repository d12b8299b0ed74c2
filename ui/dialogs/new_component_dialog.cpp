// SPDX-License-Identifier: Apache-2.0
#include "ui/dialogs/new_component_dialog.h"

#include <QDialogButtonBox>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

#include "core/binding_registry.h"
#include "ui/yaml_edit.h"

namespace bindery::ui {

QString NewComponentDialog::componentYaml(const core::BindingMetadata &meta, const QString &name)
{
    QString y;
    y += QStringLiteral("# %1: %2\n").arg(meta.title, meta.description);
    y += QStringLiteral("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: "
                        "%1\nspec:\n  type: %2\n  version: %3\n")
             .arg(yamledit::formatScalar(name), meta.type,
                  meta.version.isEmpty() ? QStringLiteral("v1") : meta.version);
    QStringList items;
    for (const core::MetadataField &f : meta.fields) {
        if (!f.required || f.builtin || f.deprecated)
            continue;
        QString value = !f.example.isEmpty() ? f.example : f.defaultValue;
        if (f.sensitive)
            items << QStringLiteral(
                         "  - name: %1\n    secretKeyRef:\n      name: %2\n      key: %2\n")
                         .arg(f.name, yamledit::formatScalar(name + u'-' + f.name.toLower()));
        else
            items << QStringLiteral("  - name: %1\n    value: %2\n")
                         .arg(f.name, yamledit::formatScalar(value));
    }
    if (items.isEmpty())
        y += QStringLiteral("  metadata: []\n");
    else
        y += QStringLiteral("  metadata:\n") + items.join(QString());
    return y;
}

NewComponentDialog::NewComponentDialog(const core::BindingRegistry &registry, const QString &folder,
                                       QWidget *parent)
    : QDialog(parent)
    , m_registry(registry)
    , m_folder(folder)
{
    setWindowTitle(tr("New component"));
    resize(860, 520);
    auto *layout = new QVBoxLayout(this);
    auto *row = new QHBoxLayout;
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("catalog"));
    for (const core::BindingDescriptor *d : registry.all()) {
        const core::BindingMetadata &m = d->metadata;
        QString dirs = m.input && m.output ? tr("input, output")
                       : m.input           ? tr("input")
                                           : tr("output");
        auto *item = new QListWidgetItem(
            QStringLiteral("%1  —  %2 (%3)").arg(m.title, m.type, dirs), m_list);
        item->setData(Qt::UserRole, d->type);
        item->setToolTip(m.description);
    }
    m_list->setCurrentRow(0);
    row->addWidget(m_list, 2);
    m_preview = new QPlainTextEdit(this);
    m_preview->setReadOnly(true);
    m_preview->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    row->addWidget(m_preview, 3);
    layout->addLayout(row, 1);
    auto *form = new QFormLayout;
    m_name = new QLineEdit(this);
    m_name->setPlaceholderText(tr("component name, e.g. orders"));
    form->addRow(tr("Name"), m_name);
    layout->addLayout(form);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Create"));
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &NewComponentDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_list, &QListWidget::currentRowChanged, this, &NewComponentDialog::updatePreview);
    connect(m_name, &QLineEdit::textChanged, this, &NewComponentDialog::updatePreview);
    updatePreview();
}

void NewComponentDialog::updatePreview()
{
    QListWidgetItem *item = m_list->currentItem();
    if (!item)
        return;
    const core::BindingDescriptor *d = m_registry.find(item->data(Qt::UserRole).toString());
    if (!d)
        return;
    const QString name = m_name->text().trimmed().isEmpty()
                             ? QStringLiteral("my-") + d->metadata.name.section(u'.', -1)
                             : m_name->text().trimmed();
    m_preview->setPlainText(componentYaml(d->metadata, name));
}

void NewComponentDialog::accept()
{
    QListWidgetItem *item = m_list->currentItem();
    if (!item)
        return;
    const core::BindingDescriptor *d = m_registry.find(item->data(Qt::UserRole).toString());
    QString name = m_name->text().trimmed();
    if (name.isEmpty())
        name = QStringLiteral("my-") + d->metadata.name.section(u'.', -1);
    static const QRegularExpression valid(QStringLiteral("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"));
    if (!valid.match(name).hasMatch()) {
        QMessageBox::warning(
            this, tr("New component"),
            tr("'%1' is not a valid component name: use lower-case letters, digits, '-' and '.'.")
                .arg(name));
        return;
    }
    m_path = m_folder + u'/' + name + QStringLiteral(".yaml");
    if (QFileInfo::exists(m_path)) {
        QMessageBox::warning(this, tr("New component"), tr("%1 already exists.").arg(m_path));
        return;
    }
    QFile f(m_path);
    if (!f.open(QIODevice::WriteOnly)) {
        QMessageBox::warning(this, tr("New component"),
                             tr("Cannot write %1: %2").arg(m_path, f.errorString()));
        return;
    }
    f.write(componentYaml(d->metadata, name).toUtf8());
    f.close();
    QDialog::accept();
}

} // namespace bindery::ui
