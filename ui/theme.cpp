// SPDX-License-Identifier: Apache-2.0
#include "ui/theme.h"

#include <QGuiApplication>
#include <QPalette>

namespace bindery::ui::theme {

namespace {

/// Hue (degrees) and saturation of each status role; the lightness follows the palette.
struct Hue
{
    int hue;
    int saturation;
};

Hue hueOf(Role role)
{
    switch (role) {
    case Role::Ok: return {135, 150};
    case Role::Error: return {0, 190};
    case Role::Warning: return {35, 200};
    case Role::Input: return {140, 130};
    case Role::Pending: return {265, 120};
    case Role::Output:
    case Role::Muted: break;
    }
    return {210, 150};
}

QColor blend(const QColor &a, const QColor &b, double t)
{
    return QColor::fromRgbF(float(a.redF() * (1 - t) + b.redF() * t),
                            float(a.greenF() * (1 - t) + b.greenF() * t),
                            float(a.blueF() * (1 - t) + b.blueF() * t));
}

} // namespace

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness()
           < palette.color(QPalette::WindowText).lightness();
}

QColor colour(Role role, const QPalette &palette)
{
    const QColor text = palette.color(QPalette::Text);
    const QColor base = palette.color(QPalette::Base);
    switch (role) {
    case Role::Muted: return blend(text, base, 0.45);
    case Role::Output: return palette.color(QPalette::Link);
    default: break;
    }
    const Hue h = hueOf(role);
    // Dark themes need light colours, light themes dark ones: aim for the text's side of the
    // base so the contrast follows the theme's own.
    const int lightness = isDark(palette) ? 170 : 85;
    return QColor::fromHsl(h.hue, h.saturation, lightness);
}

QColor colour(Role role)
{
    return colour(role, QGuiApplication::palette());
}

QString css(Role role)
{
    return colour(role).name();
}

QColor tint(Role role, const QPalette &palette)
{
    return blend(palette.color(QPalette::Base), colour(role, palette), 0.18);
}

QString span(Role role, const QString &text)
{
    return QStringLiteral("<span style='color:%1'>%2</span>").arg(css(role), text.toHtmlEscaped());
}

} // namespace bindery::ui::theme
