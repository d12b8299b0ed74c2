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

namespace {
QPalette greys(int window, int base, int alternate, int text, int button, int mid)
{
    auto grey = [](int l) { return QColor::fromHsl(215, 12, l); };
    QPalette p;
    for (const QPalette::ColorGroup g :
         {QPalette::Active, QPalette::Inactive, QPalette::Disabled}) {
        const bool off = g == QPalette::Disabled;
        p.setColor(g, QPalette::Window, grey(window));
        p.setColor(g, QPalette::WindowText, grey(off ? mid : text));
        p.setColor(g, QPalette::Base, grey(base));
        p.setColor(g, QPalette::AlternateBase, grey(alternate));
        p.setColor(g, QPalette::Text, grey(off ? mid : text));
        p.setColor(g, QPalette::Button, grey(button));
        p.setColor(g, QPalette::ButtonText, grey(off ? mid : text));
        p.setColor(g, QPalette::PlaceholderText, grey(mid));
        p.setColor(g, QPalette::Mid, grey(mid));
        p.setColor(g, QPalette::Dark, grey(std::min(window, base) / 2));
        p.setColor(g, QPalette::Light, grey(std::min(255, button + 30)));
        p.setColor(g, QPalette::ToolTipBase, grey(base));
        p.setColor(g, QPalette::ToolTipText, grey(text));
        p.setColor(g, QPalette::Highlight, QColor::fromHsl(212, 160, window < 128 ? 90 : 150));
        p.setColor(g, QPalette::HighlightedText, grey(window < 128 ? 245 : 255));
        p.setColor(g, QPalette::Link, QColor::fromHsl(212, 200, window < 128 ? 175 : 90));
        p.setColor(g, QPalette::BrightText, grey(255));
    }
    return p;
}
} // namespace

QPalette darkPalette()
{
    return greys(45, 32, 40, 225, 55, 120);
}

QPalette lightPalette()
{
    return greys(238, 255, 246, 25, 232, 150);
}

QString span(Role role, const QString &text)
{
    return QStringLiteral("<span style='color:%1'>%2</span>").arg(css(role), text.toHtmlEscaped());
}

} // namespace bindery::ui::theme
