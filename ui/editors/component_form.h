// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QHash>
#include <QWidget>

#include "core/component_spec.h"

class QFormLayout;
class QLabel;
class QPushButton;

namespace bindery::core {
struct BindingMetadata;
}

namespace bindery::ui {

/**
 * @brief A form generated from a binding's metadata schema: required fields first, descriptions
 * as tooltips, a picker for allowedValues and bools, sensitive fields masked with an offer to use
 * a secretKeyRef. UI thread.
 *
 * setSpec() shows a parsed buffer without emitting; user edits emit fieldEdited() /
 * secretRefRequested() for the owner to apply to the YAML text surgically.
 */
class ComponentForm final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ComponentForm)

public:
    explicit ComponentForm(QWidget *parent = nullptr);

    /// Rebuilds the fields for `meta` (null = unknown type) and shows `spec`'s values.
    void setSchema(const core::BindingMetadata *meta);
    void setSpec(const core::ComponentSpec &spec);
    /// Fills the fields a service-account JSON key file names (Google's `private_key_id` fills
    /// `privateKeyID`, ...), as if typed; the number filled, or -1 (and *error).
    int loadKeyFile(const QString &path, QString *error = nullptr);
    /// The "Load key file…" button of a schema with a `serviceAccountKey` group, or nullptr.
    QPushButton *keyFileButton() const { return m_keyFileButton; }
    /// The editor widget for a field (tests), or null.
    QWidget *fieldWidget(const QString &name) const { return m_widgets.value(name.toLower()); }

Q_SIGNALS:
    /// The user changed a field; an empty value means "remove the item".
    void fieldEdited(const QString &name, const QString &value);
    void secretRefRequested(const QString &name);

private:
    void setWidgetValue(QWidget *w, const QString &value);

    QFormLayout *m_layout = nullptr;
    QLabel *m_header = nullptr;
    QString m_type;
    QHash<QString, QWidget *> m_widgets; ///< by lower-cased field name
    bool m_updating = false;
    bool m_built = false;
    QPushButton *m_keyFileButton = nullptr;
};

} // namespace bindery::ui
