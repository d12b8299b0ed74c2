// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QColor>
#include <QPalette>
#include <QString>

class QPalette;

namespace bindery::ui {

/**
 * @brief The console's few semantic colours, derived from the current palette so they read on the
 * system's light and dark themes alike. No colour is written anywhere else in the console: text
 * uses the palette, and these roles are for status and direction only. UI thread.
 */
namespace theme {

enum class Role {
    Ok,      ///< a 2xx, a loaded component
    Error,   ///< a failure
    Warning, ///< a 4xx, a warning
    Muted,   ///< stopped, probes, secondary text
    Output,  ///< output requests
    Input,   ///< input deliveries
    Pending, ///< waiting for an answer
};

/// The colour of `role` for `palette` (the application's palette when omitted).
QColor colour(Role role);
QColor colour(Role role, const QPalette &palette);
/// The colour as "#rrggbb" for rich text.
QString css(Role role);
/// A background that tints the palette's Base with `role` (e.g. a filter field's error state).
QColor tint(Role role, const QPalette &palette);
/// Whether the palette is a dark one (light text on a dark window).
bool isDark(const QPalette &palette);
/// A dark palette (for `bindery --palette dark` where the desktop offers none), built from
/// lightness steps of a neutral grey and the status hues.
QPalette darkPalette();
/// A light palette likewise (`--palette light`).
QPalette lightPalette();
/// `text` wrapped in a span of the role's colour (HTML-escaped).
QString span(Role role, const QString &text);

} // namespace theme
} // namespace bindery::ui
