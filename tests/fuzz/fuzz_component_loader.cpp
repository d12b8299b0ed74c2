// SPDX-License-Identifier: Apache-2.0
// Fuzzes the component loader as binderyd meets a resources file (issue 14): one file's text,
// any number of YAML documents, through ComponentLoader::parseText (what loadPaths() does per
// file), the duplicate check and each component's schema check against a registry of a few
// bindings (the steps of checkComponentText, the console editor's check). Besides crashes and
// sanitizer reports it checks that no exception gets out, that every diagnostic has this file and a
// line of it, that messages stay short, and that the loader's budgets hold: a component name of at
// most 253 characters, values of at most 1 MiB however many aliases the YAML expands.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <QString>

#include "core/binding_registry.h"
#include "core/component_loader.h"

void bindery_register_cron(bindery::core::BindingRegistry &registry);
void bindery_register_http(bindery::core::BindingRegistry &registry);
void bindery_register_localstorage(bindery::core::BindingRegistry &registry);
void bindery_register_loopback(bindery::core::BindingRegistry &registry);

using namespace bindery::core;

namespace {

const QString kFile = QStringLiteral("components/fuzz.yaml");
constexpr qsizetype kMaxNameChars = 253;          // component_loader.cpp
constexpr qsizetype kMaxValueChars = 1024 * 1024; // component_loader.cpp
constexpr qsizetype kMaxMessageChars = 4096;

[[noreturn]] void failWith(const char *what, const QString &detail)
{
    std::fprintf(stderr, "fuzz_component_loader: %s: %s\n", what,
                 detail.toUtf8().left(2000).constData());
    std::abort();
}

const BindingRegistry &registry()
{
    static const BindingRegistry r = [] {
        BindingRegistry r;
        bindery_register_cron(r);
        bindery_register_http(r);
        bindery_register_localstorage(r);
        bindery_register_loopback(r);
        return r;
    }();
    return r;
}

void checkDiagnostics(const Diagnostics &diagnostics, int lines)
{
    for (const Diagnostic &d : diagnostics) {
        const QString shown = d.toString();
        if (d.location.file != kFile)
            failWith("a diagnostic without the file", shown);
        if (d.location.line < 1 || d.location.line > lines)
            failWith("a diagnostic without a line of the file", shown);
        if (!shown.startsWith(kFile + u':' + QString::number(d.location.line) + u':'))
            failWith("a diagnostic not shown as file:line:", shown);
        if (d.message.isEmpty())
            failWith("a diagnostic without a message", shown);
        if (shown.size() > kMaxMessageChars)
            failWith("an overlong diagnostic", shown);
    }
}

void checkBudgets(const LoadResult &result)
{
    for (const ComponentSpec &c : result.components) {
        if (c.name.isEmpty() || c.name.size() > kMaxNameChars)
            failWith("a component name out of bounds", c.name);
        for (const MetadataItem &item : c.items) {
            if (item.rawValue.size() > kMaxValueChars || item.name.size() > kMaxValueChars)
                failWith("a metadata value over the budget", item.name);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray text(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    // The last line a diagnostic may name: one past the end covers "unexpected end of input".
    const int lines = static_cast<int>(text.count('\n')) + 2;
    try {
        LoadResult result = ComponentLoader::parseText(text, kFile);
        checkDiagnostics(result.diagnostics, lines);
        checkBudgets(result);
        ComponentLoader::checkDuplicates(result);
        checkDiagnostics(result.diagnostics, lines);
        // What checkComponentText adds to the loader's diagnostics (the YAML is parsed once:
        // an input that spends the node budget is slow under the sanitizers).
        checkDiagnostics(checkComponents(result.components, registry()), lines);
    } catch (const std::exception &e) {
        failWith("an exception got out", QString::fromUtf8(e.what()));
    } catch (...) {
        failWith("an exception got out", QStringLiteral("(not a std::exception)"));
    }
    return 0;
}
