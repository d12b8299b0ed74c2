// SPDX-License-Identifier: Apache-2.0
#include "ui/models/traffic_filter.h"

#include <algorithm>

#include <QHash>

#include "core/traffic.h"

namespace bindery::ui {

namespace {

bool containsCaseInsensitive(QByteArrayView hay, const QByteArray &needleLower)
{
    if (needleLower.isEmpty())
        return true;
    auto it = std::search(hay.begin(), hay.end(), needleLower.begin(), needleLower.end(),
                          [](char a, char b) {
                              const char la = (a >= 'A' && a <= 'Z') ? char(a + 32) : a;
                              return la == b;
                          });
    return it != hay.end();
}

bool traceparentsContain(QByteArrayView packed, const QByteArray &needleLower)
{
    char text[kTraceparentTextSize];
    for (qsizetype at = 0; at + kPackedTraceparentSize <= packed.size();
         at += kPackedTraceparentSize) {
        unpackTraceparent(packed.data() + at, text);
        if (containsCaseInsensitive(QByteArrayView(text, kTraceparentTextSize), needleLower))
            return true;
    }
    return false;
}

int hexDigit(char16_t c)
{
    if (c >= u'0' && c <= u'9')
        return c - u'0';
    if (c >= u'a' && c <= u'f')
        return c - u'a' + 10;
    return -1; // upper case too: only the canonical form packs (it must come back the same)
}

enum class Field {
    Text,
    Binding,
    Type,
    Direction,
    Op,
    Route,
    Status,
    LatencyAbove,
    LatencyBelow,
    Trace
};

struct Token
{
    enum Kind { Word, Open, Close, Not, End } kind = End;
    QString text;
    bool quoted = false; ///< the whole word was quoted: always free text
    int pos = 0;
};

} // namespace

struct TrafficFilter::Node
{
    enum Kind { And, Or, Not, Term } kind = Term;
    std::vector<std::shared_ptr<const Node>> children;
    Field field = Field::Text;
    QStringList values;              ///< lower-cased (binding, type, op, route) or as given
    QByteArray needle;               ///< free text, lower-cased UTF-8
    QString text;                    ///< free text as typed
    QList<QPair<int, int>> statuses; ///< status: ranges
    int okWanted = -1;               ///< status:ok (1) / status:error (0)
    bool pendingWanted = false;      ///< status:pending
    QList<int> kinds;                ///< direction:
    qint64 latencyUs = 0;
    QList<quint64> traces;

    bool eval(const FilterSubject &row) const
    {
        switch (kind) {
        case And:
            for (const auto &c : children) {
                if (!c->eval(row))
                    return false;
            }
            return true;
        case Or:
            for (const auto &c : children) {
                if (c->eval(row))
                    return true;
            }
            return false;
        case Not: return !children.front()->eval(row);
        case Term: return evalTerm(row);
        }
        return false;
    }

    static bool anyContains(const QStringList &wanted, const QString *s)
    {
        if (!s)
            return false;
        for (const QString &w : wanted) {
            if (s->contains(w, Qt::CaseInsensitive))
                return true;
        }
        return false;
    }

    bool evalTerm(const FilterSubject &row) const
    {
        switch (field) {
        case Field::Text: {
            return containsCaseInsensitive(row.packed, needle)
                   || traceparentsContain(row.traceparents, needle)
                   || (row.binding && row.binding->contains(text, Qt::CaseInsensitive))
                   || (row.operation && row.operation->contains(text, Qt::CaseInsensitive))
                   || (row.bindingType && row.bindingType->contains(text, Qt::CaseInsensitive))
                   || (row.route && row.route->contains(text, Qt::CaseInsensitive))
                   || QString::number(row.status) == text;
        }
        case Field::Binding: return anyContains(values, row.binding);
        case Field::Type: return anyContains(values, row.bindingType);
        case Field::Route: return anyContains(values, row.route);
        case Field::Op: return row.operation && values.contains(row.operation->toLower());
        case Field::Direction: return kinds.contains(row.kind);
        case Field::Status: {
            if (pendingWanted && row.pending)
                return true;
            if (row.pending)
                return false;
            if (okWanted >= 0 && int(row.ok) == okWanted)
                return true;
            for (const auto &[lo, hi] : statuses) {
                if (row.status >= lo && row.status <= hi)
                    return true;
            }
            return false;
        }
        case Field::LatencyAbove: return !row.pending && row.latencyUs > latencyUs;
        case Field::LatencyBelow: return !row.pending && row.latencyUs < latencyUs;
        case Field::Trace: return row.traceHash && traces.contains(row.traceHash);
        }
        return false;
    }
};

namespace {

using NodePtr = std::shared_ptr<TrafficFilter::Node>;

class Parser
{
public:
    explicit Parser(const QString &text)
        : m_text(text)
    {
        tokenize();
    }

    NodePtr parse(QString *error)
    {
        if (m_tokens.size() == 1) // only End
            return nullptr;
        NodePtr n = parseOr();
        if (m_error.isEmpty() && peek().kind != Token::End)
            fail(peek().kind == Token::Close ? QStringLiteral("unbalanced ')'")
                                             : QStringLiteral("unexpected '%1'").arg(peek().text));
        *error = m_error;
        return m_error.isEmpty() ? n : nullptr;
    }

private:
    void tokenize()
    {
        int i = 0;
        const int n = int(m_text.size());
        while (i < n) {
            const QChar c = m_text.at(i);
            if (c.isSpace()) {
                ++i;
                continue;
            }
            if (c == u'(' || c == u')') {
                m_tokens.push_back({c == u'(' ? Token::Open : Token::Close, QString(c), false, i});
                ++i;
                continue;
            }
            if (c == u'!' && (i + 1 >= n || m_text.at(i + 1) != u'=')) {
                m_tokens.push_back({Token::Not, QStringLiteral("!"), false, i});
                ++i;
                continue;
            }
            Token t{Token::Word, {}, false, i};
            bool sawQuote = false;
            bool onlyQuoted = true;
            while (i < n) {
                const QChar d = m_text.at(i);
                if (d.isSpace() || d == u'(' || d == u')')
                    break;
                if (d == u'"') {
                    sawQuote = true;
                    ++i;
                    while (i < n && m_text.at(i) != u'"') {
                        if (m_text.at(i) == u'\\' && i + 1 < n)
                            ++i;
                        t.text += m_text.at(i);
                        ++i;
                    }
                    if (i >= n)
                        m_error = QStringLiteral("unterminated quote");
                    ++i;
                    continue;
                }
                onlyQuoted = false;
                t.text += d;
                ++i;
            }
            // A word that starts with a quote is text, whatever follows ("a:b" or "k":).
            t.quoted = (sawQuote && onlyQuoted) || m_text.at(t.pos) == u'"';
            m_tokens.push_back(t);
        }
        m_tokens.push_back({Token::End, {}, false, int(n)});
    }

    const Token &peek() const { return m_tokens[m_pos]; }
    Token take() { return m_tokens[m_pos < m_tokens.size() - 1 ? m_pos++ : m_pos]; }
    bool isKeyword(const Token &t, const char *a, const char *b) const
    {
        return t.kind == Token::Word && !t.quoted
               && (t.text.compare(QLatin1String(a), Qt::CaseInsensitive) == 0
                   || t.text == QLatin1String(b));
    }
    void fail(const QString &why)
    {
        if (m_error.isEmpty())
            m_error = why;
    }

    NodePtr combine(TrafficFilter::Node::Kind kind, std::vector<NodePtr> parts)
    {
        if (parts.size() == 1)
            return parts.front();
        auto n = std::make_shared<TrafficFilter::Node>();
        n->kind = kind;
        for (NodePtr &p : parts)
            n->children.push_back(std::move(p));
        return n;
    }

    NodePtr parseOr()
    {
        std::vector<NodePtr> parts{parseAnd()};
        while (m_error.isEmpty() && isKeyword(peek(), "or", "||")) {
            take();
            parts.push_back(parseAnd());
        }
        return combine(TrafficFilter::Node::Or, std::move(parts));
    }

    NodePtr parseAnd()
    {
        std::vector<NodePtr> parts{parseUnary()};
        while (m_error.isEmpty()) {
            const Token &t = peek();
            if (isKeyword(t, "and", "&&")) {
                take();
                parts.push_back(parseUnary());
                continue;
            }
            if (t.kind == Token::End || t.kind == Token::Close || isKeyword(t, "or", "||"))
                break;
            parts.push_back(parseUnary()); // adjacent terms: an implied "and"
        }
        return combine(TrafficFilter::Node::And, std::move(parts));
    }

    NodePtr parseUnary()
    {
        const Token t = take();
        if (t.kind == Token::Not || isKeyword(t, "not", "!")) {
            auto n = std::make_shared<TrafficFilter::Node>();
            n->kind = TrafficFilter::Node::Not;
            n->children.push_back(parseUnary());
            return n;
        }
        if (t.kind == Token::Open) {
            NodePtr inner = parseOr();
            if (take().kind != Token::Close)
                fail(QStringLiteral("missing ')'"));
            return inner;
        }
        if (t.kind != Token::Word) {
            fail(t.kind == Token::End ? QStringLiteral("the expression ends too early")
                                      : QStringLiteral("unexpected '%1'").arg(t.text));
            return std::make_shared<TrafficFilter::Node>();
        }
        return term(t);
    }

    bool parseMs(const QString &v, qint64 *out)
    {
        QString t = v.trimmed().toLower();
        double factor = 1000.0; // ms -> µs
        if (t.endsWith(QStringLiteral("ms"))) {
            t.chop(2);
        } else if (t.endsWith(QStringLiteral("us")) || t.endsWith(QStringLiteral("µs"))) {
            t.chop(2);
            factor = 1.0;
        } else if (t.endsWith(u's')) {
            t.chop(1);
            factor = 1e6;
        }
        bool ok = false;
        const double d = t.toDouble(&ok);
        if (!ok) {
            fail(QStringLiteral("latency: '%1' is not a number of ms").arg(v));
            return false;
        }
        *out = qint64(d * factor);
        return true;
    }

    NodePtr term(const Token &t)
    {
        auto n = std::make_shared<TrafficFilter::Node>();
        n->kind = TrafficFilter::Node::Term;
        const QString w = t.text;
        const QString lower = w.toLower();
        if (!t.quoted
            && (lower.startsWith(QStringLiteral("latency>"))
                || lower.startsWith(QStringLiteral("latency<")))) {
            const bool above = lower.at(7) == u'>';
            QString v = w.mid(8);
            if (v.startsWith(u'='))
                v = v.mid(1);
            n->field = above ? Field::LatencyAbove : Field::LatencyBelow;
            parseMs(v, &n->latencyUs);
            return n;
        }
        const qsizetype colon = t.quoted ? -1 : w.indexOf(u':');
        bool fieldLike = colon > 0;
        for (qsizetype i = 0; fieldLike && i < colon; ++i)
            fieldLike = w.at(i).isLetter() || w.at(i) == u'.' || w.at(i) == u'_';
        if (!fieldLike) {
            n->field = Field::Text;
            n->needle = w.toLower().toUtf8();
            n->text = w;
            return n;
        }
        const QString field = lower.left(colon);
        const QString value = w.mid(colon + 1);
        const QStringList values = value.split(u',', Qt::SkipEmptyParts);
        if (values.isEmpty()) {
            fail(QStringLiteral("%1: needs a value").arg(field));
            return n;
        }
        static const QHash<QString, Field> fields{{QStringLiteral("binding"), Field::Binding},
                                                  {QStringLiteral("type"), Field::Type},
                                                  {QStringLiteral("direction"), Field::Direction},
                                                  {QStringLiteral("dir"), Field::Direction},
                                                  {QStringLiteral("op"), Field::Op},
                                                  {QStringLiteral("operation"), Field::Op},
                                                  {QStringLiteral("route"), Field::Route},
                                                  {QStringLiteral("status"), Field::Status},
                                                  {QStringLiteral("trace"), Field::Trace}};
        const auto it = fields.constFind(field);
        if (it == fields.constEnd()) {
            fail(QStringLiteral("unknown field '%1' (fields: %2; quote text that has a colon)")
                     .arg(field, TrafficFilter::fieldNames().join(QStringLiteral(" "))));
            return n;
        }
        n->field = it.value();
        switch (n->field) {
        case Field::Binding:
        case Field::Type:
        case Field::Route: n->values = values; break;
        case Field::Op:
            for (const QString &v : values)
                n->values << v.toLower();
            break;
        case Field::Direction:
            for (const QString &d : values) {
                const QString v = d.toLower();
                if (v == QStringLiteral("out") || v == QStringLiteral("output"))
                    n->kinds << int(core::TrafficRecord::Kind::Output);
                else if (v == QStringLiteral("in") || v == QStringLiteral("input"))
                    n->kinds << int(core::TrafficRecord::Kind::Input);
                else if (v == QStringLiteral("probe"))
                    n->kinds << int(core::TrafficRecord::Kind::Probe);
                else
                    fail(QStringLiteral("direction: expected in, out or probe, not '%1'").arg(d));
            }
            break;
        case Field::Status:
            for (const QString &sv : values) {
                const QString s = sv.toLower();
                if (s == QStringLiteral("ok")) {
                    n->okWanted = 1;
                } else if (s == QStringLiteral("error") || s == QStringLiteral("failed")
                           || s == QStringLiteral("fail")) {
                    n->okWanted = 0;
                } else if (s == QStringLiteral("pending")) {
                    n->pendingWanted = true;
                } else if (s.size() == 3 && s.endsWith(QStringLiteral("xx")) && s.at(0).isDigit()) {
                    const int h = s.at(0).digitValue() * 100;
                    n->statuses.append({h, h + 99});
                } else {
                    bool ok = false;
                    const int code = s.toInt(&ok);
                    if (ok)
                        n->statuses.append({code, code});
                    else
                        fail(QStringLiteral(
                                 "status: expected a code, 5xx, ok, error or pending, not '%1'")
                                 .arg(sv));
                }
            }
            break;
        case Field::Trace:
            for (const QString &v : values) {
                const QString id = v.contains(u'-') ? traceIdOf(v) : v.toLower();
                const quint64 h = TrafficFilter::traceHash(id);
                if (!h)
                    fail(QStringLiteral("trace: '%1' is not a trace id (32 hex digits)").arg(v));
                n->traces << h;
            }
            break;
        default: break;
        }
        return n;
    }

    QString m_text;
    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    QString m_error;
};

} // namespace

TrafficFilter::TrafficFilter() = default;
TrafficFilter::~TrafficFilter() = default;
TrafficFilter::TrafficFilter(const TrafficFilter &other) = default;
TrafficFilter &TrafficFilter::operator=(const TrafficFilter &other) = default;

TrafficFilter TrafficFilter::parse(const QString &expression)
{
    TrafficFilter f;
    f.m_expression = expression;
    Parser p(expression);
    QString error;
    NodePtr root = p.parse(&error);
    if (!error.isEmpty()) {
        f.error = error;
        return f;
    }
    f.m_root = std::move(root);
    return f;
}

bool TrafficFilter::matches(const FilterSubject &row) const
{
    return !m_root || m_root->eval(row);
}

QStringList TrafficFilter::fieldNames()
{
    return {QStringLiteral("binding:"), QStringLiteral("type:"),    QStringLiteral("direction:"),
            QStringLiteral("op:"),      QStringLiteral("route:"),   QStringLiteral("status:"),
            QStringLiteral("latency>"), QStringLiteral("latency<"), QStringLiteral("trace:")};
}

quint64 TrafficFilter::traceHash(QStringView traceId)
{
    if (traceId.size() != 32)
        return 0;
    quint64 hi = 0, lo = 0;
    for (int i = 0; i < 32; ++i) {
        const int d = QChar(traceId.at(i)).toLower().unicode();
        int v = -1;
        if (d >= '0' && d <= '9')
            v = d - '0';
        else if (d >= 'a' && d <= 'f')
            v = d - 'a' + 10;
        if (v < 0)
            return 0;
        (i < 16 ? hi : lo) = ((i < 16 ? hi : lo) << 4) | quint64(v);
    }
    if (!hi && !lo) // the all-zero id is invalid (W3C Trace Context §3.2.2.3)
        return 0;
    const quint64 h = hi ^ (lo * 0x9e3779b97f4a7c15ull);
    return h ? h : 1;
}

QString TrafficFilter::quote(const QString &value)
{
    bool plain = !value.isEmpty();
    for (const QChar c : value)
        plain = plain && !c.isSpace() && c != u'"' && c != u'(' && c != u')' && c != u',';
    if (plain)
        return value;
    QString q = value;
    q.replace(u'\\', QStringLiteral("\\\\")).replace(u'"', QStringLiteral("\\\""));
    return u'"' + q + u'"';
}

bool packTraceparent(QStringView value, char *out)
{
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2
    if (value.size() != kTraceparentTextSize || value[2] != u'-' || value[35] != u'-'
        || value[52] != u'-')
        return false;
    qsizetype o = 0;
    for (qsizetype i = 0; i < kTraceparentTextSize; i += 2) {
        if (i == 2 || i == 35 || i == 52)
            ++i; // skip the dash
        const int hi = hexDigit(value[i].unicode());
        const int lo = hexDigit(value[i + 1].unicode());
        if (hi < 0 || lo < 0)
            return false;
        out[o++] = char((hi << 4) | lo);
    }
    return o == kPackedTraceparentSize;
}

void unpackTraceparent(const char *in, char *out)
{
    static constexpr char kHex[] = "0123456789abcdef";
    qsizetype o = 0;
    for (qsizetype i = 0; i < kPackedTraceparentSize; ++i) {
        if (i == 1 || i == 17 || i == 25)
            out[o++] = '-';
        const quint8 b = quint8(in[i]);
        out[o++] = kHex[b >> 4];
        out[o++] = kHex[b & 0xf];
    }
}

QString traceIdOf(const QString &traceparent)
{
    // version "-" trace-id "-" parent-id "-" flags (W3C Trace Context §3.2)
    const QStringView v = QStringView(traceparent).trimmed();
    if (v.size() < 55 || v.at(2) != u'-' || v.at(35) != u'-')
        return {};
    const QStringView id = v.mid(3, 32);
    if (!TrafficFilter::traceHash(id))
        return {};
    return id.toString().toLower();
}

} // namespace bindery::ui
