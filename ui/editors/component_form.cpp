// SPDX-License-Identifier: Apache-2.0
#include "ui/editors/component_form.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QToolButton>
#include <QVBoxLayout>
#include <QFile>
#include <QFileDialog>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QPushButton>

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
    // A schema with a Google service account (privateKey and clientEmail): its JSON key file
    // fills those fields at once.
    m_keyFileButton = nullptr;
    auto has = [&](const char *name) {
        return std::any_of(fields.begin(), fields.end(), [name](const core::MetadataField *f) {
            return f->name.compare(QLatin1String(name), Qt::CaseInsensitive) == 0;
        });
    };
    if (has("privateKey") && has("clientEmail")) {
        m_keyFileButton = new QPushButton(tr("Load key file…"), this);
        m_keyFileButton->setObjectName(QStringLiteral("loadKeyFile"));
        m_keyFileButton->setToolTip(
            tr("Fill the service-account fields from a JSON key file; the private key stays masked "
               "here (consider secretKeyRef for it)."));
        connect(m_keyFileButton, &QPushButton::clicked, this, [this]() {
            const QString path = QFileDialog::getOpenFileName(this, tr("Service-account key file"),
                                                              QString(), tr("JSON (*.json)"));
            QString error;
            if (!path.isEmpty() && loadKeyFile(path, &error) < 0)
                QMessageBox::warning(this, tr("Load key file"), error);
        });
        m_layout->addRow(tr("Service account"), m_keyFileButton);
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

int ComponentForm::loadKeyFile(const QString &path, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = f.errorString();
        return -1;
    }
    QJsonParseError pe;
    const QJsonObject key = QJsonDocument::fromJson(f.readAll(), &pe).object();
    if (pe.error != QJsonParseError::NoError || key.isEmpty()) {
        if (error)
            *error = tr("%1 is not a JSON key file: %2").arg(path, pe.errorString());
        return -1;
    }
    // Google's snake_case keys name the schema's fields ("private_key_id" -> privateKeyID).
    auto norm = [](QString s) { return s.remove(u'_').remove(u'-').toLower(); };
    int filled = 0;
    for (auto it = key.begin(); it != key.end(); ++it) {
        if (!it.value().isString())
            continue;
        const QString wanted = norm(it.key());
        for (auto w = m_widgets.begin(); w != m_widgets.end(); ++w) {
            if (norm(w.key()) != wanted)
                continue;
            setWidgetValue(w.value(), it.value().toString());
            Q_EMIT fieldEdited(w.value()->objectName().mid(6), it.value().toString());
            ++filled;
        }
    }
    if (filled == 0 && error)
        *error = tr("No field of %1 matches this form.").arg(path);
    return filled == 0 ? -1 : filled;
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
