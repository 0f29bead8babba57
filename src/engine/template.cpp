#include "engine/template.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "common/strings.hpp"

namespace hull::engine {
namespace {

bool blank(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// The template as a tree: text, actions, and range/if blocks with an {{else}} part.
struct Node {
  enum class Kind { text, action, range, if_ } kind = Kind::text;
  std::string text;               // the text, or the action's / block's pipeline
  std::vector<std::string> vars;  // {{range $k, $v := ...}}
  std::vector<Node> body, alt;
};

// Words of a pipeline: a "string" or `raw string` keeps a leading '"' to mark it a
// literal; '|' is a word of its own.
Result<std::vector<std::string>> words_of(std::string_view s, std::string_view tmpl) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (blank(c)) {
      ++i;
    } else if (c == '"' || c == '`') {
      std::string w(1, '"');
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (c == '"' && s[j] == '\\' && j + 1 < s.size()) {
          char e = s[++j];
          w += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          w += s[j];
        }
      }
      if (j >= s.size()) return failf("--format {:?}: unterminated string", tmpl);
      out.push_back(std::move(w));
      i = j + 1;
    } else if (c == '|') {
      out.emplace_back("|");
      ++i;
    } else if (c == '(' || c == ')') {
      return failf("--format {:?}: parentheses are not supported", tmpl);
    } else {
      size_t j = i;
      while (j < s.size() && !blank(s[j]) && s[j] != '|' && s[j] != '"' && s[j] != '(') ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

// Nested range/if blocks, bounded: the parser and the evaluator recurse once per level.
constexpr int kMaxNesting = 100;
// printf's widths, bounded: %99999999999s would ask for that many bytes.
constexpr size_t kMaxWidth = 4096;

struct Parser {
  std::string_view tmpl;
  size_t pos = 0;
  int depth = 0;

  static void add_text(std::vector<Node>& out, std::string_view text) {
    if (!text.empty()) out.push_back(Node{Node::Kind::text, std::string(text), {}, {}, {}});
  }

  // Parses nodes up to {{end}}, {{else}} or the end of the template: which one ended it.
  Result<std::string> parse(std::vector<Node>& out) {
    while (pos < tmpl.size()) {
      size_t open = tmpl.find("{{", pos);
      if (open == std::string_view::npos) {
        add_text(out, tmpl.substr(pos));
        pos = tmpl.size();
        break;
      }
      std::string_view text = tmpl.substr(pos, open - pos);
      size_t close = tmpl.find("}}", open + 2);
      if (close == std::string_view::npos) return failf("--format {:?}: unclosed {{{{", tmpl);
      std::string_view inner = tmpl.substr(open + 2, close - open - 2);
      pos = close + 2;
      // Go's trim markers: "{{- " and " -}}", the blank is required.
      if (inner.size() >= 2 && inner[0] == '-' && blank(inner[1])) {
        inner.remove_prefix(1);
        while (!text.empty() && blank(text.back())) text.remove_suffix(1);
      }
      if (inner.size() >= 2 && inner.back() == '-' && blank(inner[inner.size() - 2])) {
        inner.remove_suffix(1);
        while (pos < tmpl.size() && blank(tmpl[pos])) ++pos;
      }
      add_text(out, text);
      inner = trim(inner);
      if (inner.starts_with("/*")) continue;
      if (inner == "end" || inner == "else") return std::string(inner);
      std::string_view kw = inner.substr(0, inner.find_first_of(" \t\n"));
      std::string_view rest = trim(inner.substr(kw.size()));
      if (kw == "range" || kw == "if") {
        Node n;
        n.kind = kw == "range" ? Node::Kind::range : Node::Kind::if_;
        if (auto decl = rest.find(":="); decl != std::string_view::npos) {
          if (n.kind != Node::Kind::range)
            return failf("--format {:?}: variables are only supported in range", tmpl);
          for (auto v : split(rest.substr(0, decl), ','))
            if (auto name = trim(v); !name.empty()) n.vars.emplace_back(name);
          if (n.vars.empty() || n.vars.size() > 2) return failf("--format {:?}: bad range", tmpl);
          rest = trim(rest.substr(decl + 2));
        }
        if (rest.empty()) return failf("--format {:?}: {} needs a value", tmpl, kw);
        n.text = std::string(rest);
        if (++depth > kMaxNesting)
          return failf("--format {:?}: blocks nested deeper than {}", tmpl, kMaxNesting);
        auto end = HULL_TRY(parse(n.body));
        if (end == "else") end = HULL_TRY(parse(n.alt));
        --depth;
        if (end != "end") return failf("--format {:?}: {} without {{{{end}}}}", tmpl, kw);
        out.push_back(std::move(n));
        continue;
      }
      if (kw == "with" || kw == "define" || kw == "template" || kw == "block" || kw == "break" ||
          kw == "continue" || inner.find(":=") != std::string_view::npos)
        return failf("--format {:?}: {:?} is not supported", tmpl, inner);
      if (inner.empty()) return failf("--format {:?}: empty action", tmpl);
      out.push_back(Node{Node::Kind::action, std::string(inner), {}, {}, {}});
    }
    return std::string();
  }
};

// What Go's fmt prints for a value (%v).
void print_value(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::string:
      out += v.get_ref<const std::string&>();
      break;
    case Json::value_t::null:
      out += "<nil>";
      break;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ' ';
        first = false;
        print_value(e, out);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += "map[";
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        print_value(e, out);
      }
      out += ']';
      break;
    }
    default:
      out += v.dump();
  }
}

std::string text_of(const Json& v) {
  std::string s;
  print_value(v, s);
  return s;
}

// Go's truth: false, 0, null and empty strings, lists and maps are false.
bool truth(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v != 0;
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

struct Eval {
  std::string_view tmpl;
  const Json& root;
  std::vector<std::pair<std::string, Json>> vars;

  Result<Json> path(Json v, std::string_view fields) {
    for (auto part : split(fields, '.')) {
      if (part.empty()) continue;
      if (!v.is_object() || !v.contains(std::string(part)))
        return failf("--format {:?}: no field {:?}", tmpl, part);
      v = Json(v[std::string(part)]);
    }
    return v;
  }

  Result<Json> operand(std::string_view w, const Json& dot) {
    if (w.starts_with('"')) return Json(std::string(w.substr(1)));
    if (w.starts_with('.')) return path(dot, w);
    if (w.starts_with('$')) {
      size_t dot_at = w.find('.');
      std::string_view name = w.substr(0, dot_at);
      std::string_view rest = dot_at == std::string_view::npos ? "" : w.substr(dot_at);
      if (name == "$") return path(root, rest);
      for (auto it = vars.rbegin(); it != vars.rend(); ++it)
        if (it->first == name) return path(it->second, rest);
      return failf("--format {:?}: undefined variable {}", tmpl, name);
    }
    if (w == "true" || w == "false") return Json(w == "true");
    if (w == "nil") return Json(nullptr);
    if (auto n = parse_int<int64_t>(w)) return Json(*n);
    return failf("--format {:?}: unknown function {:?}", tmpl, w);
  }

  Result<Json> index(Json v, const std::vector<Json>& keys) {
    for (const auto& k : keys) {
      if (v.is_object() && k.is_string()) {
        auto it = v.find(k.get<std::string>());
        v = it == v.end() ? Json("") : Json(*it);  // a missing label is "" (Go's zero value)
      } else if (v.is_array() && k.is_number_integer() && k.get<int64_t>() >= 0 &&
                 static_cast<size_t>(k.get<int64_t>()) < v.size()) {
        v = Json(v[static_cast<size_t>(k.get<int64_t>())]);
      } else {
        return failf("--format {:?}: cannot index {} with {}", tmpl, text_of(v), k.dump());
      }
    }
    return v;
  }

  // Go's Sprintf for what templates use: %s %v %d %q with '-' and a width, and %%.
  Result<std::string> printf(std::string_view f, const std::vector<Json>& args) {
    std::string out;
    size_t next = 1;
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] != '%') {
        out += f[i];
        continue;
      }
      bool left = false;
      size_t width = 0;
      while (++i < f.size() && f[i] == '-') left = true;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i])))
        width = std::min(width * 10 + static_cast<size_t>(f[i++] - '0'), kMaxWidth + 1);
      if (width > kMaxWidth) return failf("--format {:?}: printf: width above {}", tmpl, kMaxWidth);
      if (i >= f.size()) return failf("--format {:?}: printf: bad verb", tmpl);
      if (f[i] == '%') {
        out += '%';
        continue;
      }
      if (next >= args.size()) return failf("--format {:?}: printf: missing argument", tmpl);
      const Json& a = args[next++];
      std::string v;
      switch (f[i]) {
        case 's':
        case 'v':
        case 'd':
          v = text_of(a);
          break;
        case 'q':
          v = Json(text_of(a)).dump();
          break;
        default:
          return failf("--format {:?}: printf: verb %{} is not supported", tmpl, f[i]);
      }
      size_t n = 0;
      for (unsigned char ch : v) n += (ch & 0xC0) != 0x80;
      std::string pad(width > n ? width - n : 0, ' ');
      out += left ? v + pad : pad + v;
    }
    return out;
  }

  Result<Json> call(std::string_view fn, const std::vector<Json>& args) {
    auto want = [&](size_t n) -> Status {
      if (args.size() != n)
        return failf("--format {:?}: {} takes {} argument{}", tmpl, fn, n, n == 1 ? "" : "s");
      return {};
    };
    if (fn == "json") {
      HULL_CHECK(want(1));
      return Json(args[0].dump());
    }
    if (fn == "index") {
      if (args.empty()) return failf("--format {:?}: index needs a value", tmpl);
      return index(args[0], std::vector<Json>(args.begin() + 1, args.end()));
    }
    if (fn == "len") {
      HULL_CHECK(want(1));
      if (args[0].is_string()) return Json(args[0].get_ref<const std::string&>().size());
      if (args[0].is_array() || args[0].is_object()) return Json(args[0].size());
      return failf("--format {:?}: len of {}", tmpl, text_of(args[0]));
    }
    if (fn == "join") {
      HULL_CHECK(want(2));
      std::string out, sep = text_of(args[1]);
      bool first = true;
      if (args[0].is_array())
        for (const auto& e : args[0]) {
          if (!first) out += sep;
          first = false;
          out += text_of(e);
        }
      return Json(out);
    }
    if (fn == "split") {
      HULL_CHECK(want(2));
      std::string s = text_of(args[0]), sep = text_of(args[1]);
      if (sep.empty()) return failf("--format {:?}: split needs a separator", tmpl);
      Json out = Json::array();
      for (size_t at = 0;;) {
        size_t next = s.find(sep, at);
        out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
        if (next == std::string::npos) break;
        at = next + sep.size();
      }
      return out;
    }
    if (fn == "upper" || fn == "lower" || fn == "title") {
      HULL_CHECK(want(1));
      std::string s = text_of(args[0]);
      bool start = true;
      for (auto& c : s) {
        auto u = static_cast<unsigned char>(c);
        if (fn == "upper" || (fn == "title" && start))
          c = static_cast<char>(std::toupper(u));
        else if (fn == "lower")
          c = static_cast<char>(std::tolower(u));
        start = blank(c);
      }
      return Json(s);
    }
    if (fn == "print" || fn == "println") {
      // Go's Sprint puts a space between operands when neither is a string; Sprintln always.
      std::string out;
      for (size_t i = 0; i < args.size(); ++i) {
        if (i > 0 && (fn == "println" || (!args[i - 1].is_string() && !args[i].is_string())))
          out += ' ';
        out += text_of(args[i]);
      }
      if (fn == "println") out += '\n';
      return Json(out);
    }
    if (fn == "printf") {
      if (args.empty() || !args[0].is_string())
        return failf("--format {:?}: printf needs a format string", tmpl);
      return Json(HULL_TRY(printf(args[0].get<std::string>(), args)));
    }
    if (fn == "eq" || fn == "ne") {
      if (args.size() < 2) return failf("--format {:?}: {} takes two values", tmpl, fn);
      bool eq = false;
      for (size_t i = 1; i < args.size(); ++i) eq = eq || args[0] == args[i];
      return Json(fn == "eq" ? eq : !eq);
    }
    if (fn == "not") {
      HULL_CHECK(want(1));
      return Json(!truth(args[0]));
    }
    return failf("--format {:?}: unknown function {:?}", tmpl, fn);
  }

  static bool is_function(std::string_view w) {
    for (std::string_view f : {"json", "index", "len", "join", "split", "upper", "lower", "title",
                               "print", "println", "printf", "eq", "ne", "not"})
      if (w == f) return true;
    return false;
  }

  Result<Json> pipeline(std::string_view text, const Json& dot) {
    auto words = HULL_TRY(words_of(text, tmpl));
    std::optional<Json> piped;
    size_t i = 0;
    while (i <= words.size()) {
      size_t end = i;
      while (end < words.size() && words[end] != "|") ++end;
      if (end == i) return failf("--format {:?}: empty command", tmpl);
      std::vector<Json> args;
      for (size_t k = i + 1; k < end; ++k) args.push_back(HULL_TRY(operand(words[k], dot)));
      if (piped) args.push_back(std::move(*piped));
      if (is_function(words[i]))
        piped = HULL_TRY(call(words[i], args));
      else if (args.empty())
        piped = HULL_TRY(operand(words[i], dot));
      else  // a field with arguments: docker's ps methods such as .Label "key"
        piped = HULL_TRY(index(HULL_TRY(operand(words[i], dot)), args));
      i = end + 1;
    }
    return std::move(*piped);
  }

  Status run(const std::vector<Node>& nodes, const Json& dot, std::string& out) {
    for (const auto& n : nodes) {
      switch (n.kind) {
        case Node::Kind::text:
          out += n.text;
          break;
        case Node::Kind::action:
          print_value(HULL_TRY(pipeline(n.text, dot)), out);
          break;
        case Node::Kind::if_:
          HULL_CHECK(run(truth(HULL_TRY(pipeline(n.text, dot))) ? n.body : n.alt, dot, out));
          break;
        case Node::Kind::range: {
          Json v = HULL_TRY(pipeline(n.text, dot));
          if (!v.is_null() && !v.is_array() && !v.is_object())
            return failf("--format {:?}: cannot range over {}", tmpl, text_of(v));
          if (v.is_null() || v.empty()) {
            HULL_CHECK(run(n.alt, dot, out));
            break;
          }
          size_t i = 0;
          for (const auto& [k, e] : v.items()) {
            // One variable is the element; two are the key (or index) and the element.
            if (n.vars.size() == 2) vars.emplace_back(n.vars[0], v.is_array() ? Json(i) : Json(k));
            if (!n.vars.empty()) vars.emplace_back(n.vars.back(), e);
            auto r = run(n.body, e, out);
            vars.resize(vars.size() - n.vars.size());
            if (!r) return r;
            ++i;
          }
          break;
        }
      }
    }
    return {};
  }
};

}  // namespace

Result<std::string> format_template(const Json& dot, std::string_view tmpl) {
  Parser p{tmpl};
  std::vector<Node> nodes;
  auto end = HULL_TRY(p.parse(nodes));
  if (!end.empty()) return failf("--format {:?}: {{{{{}}}}} without range or if", tmpl, end);
  Eval e{tmpl, dot, {}};
  std::string out;
  HULL_CHECK(e.run(nodes, dot, out));
  return out;
}

}  // namespace hull::engine
