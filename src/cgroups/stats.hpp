// Parsing shared by the v1 and v2 stats readers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hull::cgroups {

// A cpuset list, "0-2,4", as [0, 1, 2, 4].
std::vector<uint64_t> parse_id_list(std::string_view text);

// "key value" lines (memory.stat) in their order; other lines are skipped.
std::vector<std::pair<std::string, uint64_t>> parse_flat_keyed(std::string_view text);

}  // namespace hull::cgroups
