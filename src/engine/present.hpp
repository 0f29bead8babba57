// How containers are shown: ps's STATUS and CREATED columns, inspect's JSON (docker's
// field names, so scripts written for `docker inspect` find what they look for).
#pragma once

#include <map>
#include <string>

#include "common/json.hpp"
#include "engine/record.hpp"
#include "engine/template.hpp"

namespace hull::engine {

class Engine;

// "5 seconds", "About a minute", "3 hours": docker's units.
std::string human_duration(int64_t ns);
// "Up 5 seconds", "Up 2 minutes (Paused)", "Exited (0) 3 seconds ago", "Created",
// "Restarting (1) 1 second ago".
std::string status_text(const Container& c, int64_t now);
std::string ports_text(const ContainerConfig& c);
// ps PORTS: a live container's ports as attached (`-p 80` shows the port picked).
std::string ports_text(const Container& c);
std::string command_text(const ContainerConfig& c);
Json inspect_json(const Engine& e, const Container& c);
// docker's `--format "table ..."` output, through Go's tabwriter as docker sets it up: the
// cells of a line are separated by tabs, each column as wide as its widest cell plus 3
// blanks (10 at least); a line's last cell is not aligned.
std::string tabulate(std::string_view lines);
// A list row's Labels, as docker joins them: "k1=v1,k2=v2".
std::string labels_text(const std::map<std::string, std::string>& labels);
// A list row's CreatedAt as Go's time.String() prints a UTC time, from unix seconds:
// "2026-12-03 16:25:40 +0000 UTC".
std::string go_time_text(int64_t secs);

// docker's --format for a list (ps, images): a Go template run on each row; "table
// TEMPLATE" (or "" with default_table) also runs it on `header`, whose fields hold the
// column names, and aligns the columns with tabulate. "\t" and "\n" as typed in a shell
// are a tab and a new line. "json" is each row as a line of JSON.
Result<std::string> format_rows(std::string_view format, std::string_view default_table,
                                const std::vector<Json>& rows, const Json& header);

// docker's inspect output: the objects as one JSON array (indented 4), or with a --format
// template each object through it, a line each.
Result<std::string> inspect_output(const std::vector<Json>& objects, std::string_view format);

}  // namespace hull::engine
