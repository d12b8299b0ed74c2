// SPDX-License-Identifier: Apache-2.0
#include "ui/editors/component_form.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QToolButton>
#include <QVBoxLayout>

#include "core/binding_metadata.h"

namespace bindery::ui {

ComponentForm::ComponentForm(QWidget *parent)
    : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    m_header = new QLabel(this);
    m_header->setWordWrap(true);
    outer->addWidget(m_header);
    m_layout = new QFormLayout;
    m_layout->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    outer->addLayout(m_layout);
    outer->addStretch(1);
}

void ComponentForm::setSchema(const core::BindingMetadata *meta)
{
    const QString type = meta ? meta->type : QString();
    if (m_built && type == m_type)
        return;
    m_built = true;
    m_type = type;
    while (m_layout->rowCount() > 0)
        m_layout->removeRow(0);
    m_widgets.clear();
    if (!meta) {
        m_header->setText(tr("Set <code>spec.type</code> to a binding type to get a form."));
        return;
    }
    m_header->setText(QStringLiteral("<b>%1</b> (<code>%2</code>): %3")
                          .arg(meta->title.toHtmlEscaped(), meta->type.toHtmlEscaped(),
                               meta->description.toHtmlEscaped()));
    QList<const core::MetadataField *> fields;
    for (const core::MetadataField &f : meta->fields) {
        if (f.required && !f.deprecated)
            fields << &f;
    }
    for (const core::MetadataField &f : meta->fields) {
        if (!f.required && !f.deprecated)
            fields << &f;
    }
    for (const core::MetadataField *f : fields) {
        const QString name = f->name;
        QString tip = f->description;
        if (!f->defaultValue.isEmpty())
            tip += QStringLiteral("\nDefault: ") + f->defaultValue;
        if (!f->example.isEmpty())
            tip += QStringLiteral("\nExample: ") + f->example;
        tip += QStringLiteral("\nType: ") + f->type;
        if (!f->input || !f->output)
            tip += f->input ? QStringLiteral("\nInput direction only")
                            : QStringLiteral("\nOutput direction only");
        QWidget *editor = nullptr;
        if (!f->allowedValues.isEmpty() || f->type == QStringLiteral("bool")) {
            auto *combo = new QComboBox(this);
            combo->setEditable(true);
            combo->addItem(QString());
            combo->addItems(f->allowedValues.isEmpty()
                                ? QStringList{QStringLiteral("true"), QStringLiteral("false")}
                                : f->allowedValues);
            combo->setPlaceholderText(f->defaultValue);
            connect(combo, &QComboBox::currentTextChanged, this, [this, name](const QString &v) {
                if (!m_updating)
                    Q_EMIT fieldEdited(name, v);
            });
            editor = combo;
        } else {
            auto *line = new QLineEdit(this);
            line->setPlaceholderText(!f->defaultValue.isEmpty() ? f->defaultValue : f->example);
            line->setClearButtonEnabled(true);
            if (f->sensitive)
                line->setEchoMode(QLineEdit::PasswordEchoOnEdit);
            connect(line, &QLineEdit::textEdited, this, [this, name](const QString &v) {
                if (!m_updating)
                    Q_EMIT fieldEdited(name, v);
            });
            editor = line;
        }
        editor->setToolTip(tip);
        editor->setObjectName(QStringLiteral("field_") + name);
        QWidget *field = editor;
        if (f->sensitive) {
            auto *row = new QWidget(this);
            auto *h = new QHBoxLayout(row);
            h->setContentsMargins(0, 0, 0, 0);
            h->addWidget(editor, 1);
            auto *secret = new QToolButton(row);
            secret->setText(tr("Use secretKeyRef"));
            secret->setToolTip(tr("Sensitive: read it from the component's secret store instead of "
                                  "writing it here."));
            connect(secret, &QToolButton::clicked, this,
                    [this, name]() { Q_EMIT secretRefRequested(name); });
            h->addWidget(secret);
            field = row;
        }
        auto *label
            = new QLabel((f->required ? QStringLiteral("<b>%1</b> *") : QStringLiteral("%1"))
                             .arg(name.toHtmlEscaped()),
                         this);
        label->setToolTip(tip);
        m_layout->addRow(label, field);
        m_widgets.insert(name.toLower(), editor);
    }
}

void ComponentForm::setWidgetValue(QWidget *w, const QString &value)
{
    if (auto *line = qobject_cast<QLineEdit *>(w)) {
        if (line->text() != value)
            line->setText(value);
    } else if (auto *combo = qobject_cast<QComboBox *>(w)) {
        if (combo->currentText() != value)
            combo->setCurrentText(value);
    }
}

void ComponentForm::setSpec(const core::ComponentSpec &spec)
{
    m_updating = true;
    for (auto it = m_widgets.begin(); it != m_widgets.end(); ++it) {
        const core::MetadataItem *item = spec.item(it.key());
        QString value;
        if (item) {
            if (!item->secretName.isEmpty())
                value = QString();
            else
                value = item->rawValue;
        }
        setWidgetValue(it.value(), value);
        if (auto *line = qobject_cast<QLineEdit *>(it.value())) {
            if (item && !item->secretName.isEmpty())
                line->setPlaceholderText(
                    QStringLiteral("secretKeyRef %1/%2").arg(item->secretName, item->secretKey));
        }
    }
    m_updating = false;
}

} // namespace bindery::ui
