#ifndef BDCOORD_CLI_TEXT_TABLE_H_
#define BDCOORD_CLI_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace bdcoord::cli {

// Left-aligned columns two spaces apart, widths from the content; the first row is the header.
std::string RenderColumns(const std::vector<std::vector<std::string>>& rows);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_TEXT_TABLE_H_
