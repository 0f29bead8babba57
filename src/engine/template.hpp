// docker's --format templates: the part of Go's text/template that `docker ps` and
// `docker inspect` users write, over the JSON hull shows (ps's row, inspect's object).
#pragma once

#include <string>
#include <string_view>

#include "common/json.hpp"

namespace hull::engine {

// Actions: `.A.B` (a field of dot), `$` (the whole input), `$x.A` (a range variable),
// "string" and number literals; functions json, index, len, join, split, upper, lower,
// title, print, println, printf (%s %v %d %q, width), eq, ne, not; pipelines (`.Names | upper`);
// {{range [$k, $v :=] X}}..[{{else}}..]{{end}}, {{if X}}..[{{else}}..]{{end}}; `{{-` and
// `-}}` trim the blanks beside them; {{/* comments */}}. A field given arguments is indexed
// by them, as docker's ps methods are called (`{{.Label "app"}}`). Values print as Go
// prints them: a list as [a b], an object as map[k:v], null as <nil>. A field that is not
// there is an error naming it.
Result<std::string> format_template(const Json& dot, std::string_view tmpl);

}  // namespace hull::engine
